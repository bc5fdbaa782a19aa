"""The rule engine (serdes.rules) on its own: CEL conditions, transforms, field rules,
actions, disabled and unknown rules, compile-once; and the data-contract JSON model."""

from __future__ import annotations

from typing import Any

import pytest
from fastavro import parse_schema

from serdes import (
    Metadata,
    Rule,
    RuleConditionError,
    RuleError,
    RuleKind,
    RuleMode,
    RuleSet,
    SerializationError,
)
from serdes.errors import SchemaError
from serdes.rules import RuleTarget, compile_rules
from serdes.rules.avro_fields import avro_field_walker
from serdes.rules.cel import CelExecutor, CelFieldExecutor
from serdes.rules.engine import RuleExecutor, wildcard_match

USER = parse_schema(
    {
        "type": "record",
        "name": "User",
        "namespace": "acme",
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "ssn", "type": "string", "confluent:tags": ["PII"]},
            {"name": "age", "type": "int"},
            {"name": "email", "type": ["null", "string"], "default": None},
            {
                "name": "address",
                "type": {
                    "type": "record",
                    "name": "Address",
                    "fields": [{"name": "city", "type": "string"}],
                },
            },
            {"name": "nicknames", "type": {"type": "array", "items": "string"}},
        ],
    }
)


def user(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": "Ada",
        "ssn": "123456789",
        "age": 36,
        "email": None,
        "address": {"city": "London"},
        "nicknames": ["ada"],
    }
    record.update(overrides)
    return record


def fresh_executors() -> dict[str, RuleExecutor]:
    cel = CelExecutor()
    return {"CEL": cel, "CEL_FIELD": CelFieldExecutor(cel)}


def runner(
    *rules: Rule,
    mode: RuleMode = RuleMode.WRITE,
    metadata: Metadata | None = None,
    executors: dict[str, RuleExecutor] | None = None,
    enable_at: str | None = None,
) -> Any:
    target = RuleTarget("users-value", "AVRO", metadata, avro_field_walker(USER, None, metadata))
    return compile_rules(
        RuleSet(domain_rules=rules, enable_at=enable_at),
        mode,
        target,
        executors if executors is not None else fresh_executors(),
    )


def cel(name: str, expr: str, **kw: Any) -> Rule:
    kw.setdefault("kind", RuleKind.CONDITION)
    kw.setdefault("mode", RuleMode.WRITE)
    return Rule(name=name, type="CEL", expr=expr, **kw)


# -- conditions --------------------------------------------------------------------------


def test_condition_passes_and_returns_the_record_unchanged() -> None:
    run = runner(cel("ssnLength", "size(message.ssn) == 9"))
    record = user()
    assert run(record) is record


def test_false_condition_raises_rule_condition_error_naming_rule_and_subject() -> None:
    run = runner(cel("ssnLength", "size(message.ssn) == 9"))
    with pytest.raises(RuleConditionError) as info:
        run(user(ssn="12"))
    assert info.value.rule_name == "ssnLength"
    assert info.value.subject == "users-value"
    assert "ssnLength" in str(info.value) and "size(message.ssn) == 9" in str(info.value)
    assert isinstance(info.value, RuleError) and isinstance(info.value, SerializationError)


def test_condition_doc_is_in_the_message() -> None:
    run = runner(cel("adult", "message.age >= 18", doc="users must be adults"))
    with pytest.raises(RuleConditionError, match="users must be adults"):
        run(user(age=3))


def test_erroring_condition_is_a_condition_failure() -> None:
    run = runner(cel("noSuchField", "message.missing == 1"))
    with pytest.raises(RuleConditionError, match="noSuchField") as info:
        run(user())
    assert info.value.__cause__ is not None


def test_guard_skips_the_condition() -> None:
    run = runner(cel("guarded", "message.age > 100; message.name == 'old'"))
    assert run(user()) == user()
    with pytest.raises(RuleConditionError):
        run(user(age=101))


# -- actions -----------------------------------------------------------------------------


def test_on_failure_none_lets_the_record_through() -> None:
    run = runner(cel("lenient", "message.age > 100", on_failure="NONE"))
    assert run(user()) == user()


def test_writeread_actions_split_by_mode() -> None:
    rule = cel("both", "message.age > 100", mode=RuleMode.WRITEREAD, on_failure="ERROR,NONE")
    with pytest.raises(RuleConditionError):
        runner(rule, mode=RuleMode.WRITE)(user())
    assert runner(rule, mode=RuleMode.READ)(user()) == user()


def test_on_success_error_fails_the_record() -> None:
    run = runner(cel("strict", "true", on_success="ERROR"))
    with pytest.raises(RuleError, match="onSuccess action is ERROR"):
        run(user())


def test_dlq_is_refused_when_the_rules_are_compiled() -> None:
    with pytest.raises(RuleError, match="DLQ is not supported") as info:
        runner(cel("toDlq", "true", on_failure="DLQ"))
    assert info.value.rule_name == "toDlq"


def test_unknown_action_is_refused() -> None:
    with pytest.raises(RuleError, match="unknown onFailure action 'RETRY'"):
        runner(cel("odd", "true", on_failure="RETRY"))


# -- transforms --------------------------------------------------------------------------


def test_cel_transform_replaces_the_message() -> None:
    rule = Rule(
        name="upper",
        kind=RuleKind.TRANSFORM,
        mode=RuleMode.WRITE,
        type="CEL",
        expr="{'name': message.name + '!', 'ssn': message.ssn, 'age': message.age + 1,"
        " 'email': message.email, 'address': message.address, 'nicknames': message.nicknames}",
    )
    record = user()
    out = runner(rule)(record)
    assert out == user(name="Ada!", age=37)
    assert type(out["name"]) is str and type(out["age"]) is int
    assert record == user()  # the caller's record is not changed


def test_transforms_run_in_order_on_write_and_reversed_on_read() -> None:
    def step(name: str, suffix: str) -> Rule:
        return Rule(
            name=name,
            kind=RuleKind.TRANSFORM,
            mode=RuleMode.WRITEREAD,
            type="CEL_FIELD",
            expr=f"name == 'name' ; value + '{suffix}'",
        )

    rules = (step("first", "1"), step("second", "2"))
    assert runner(*rules, mode=RuleMode.WRITE)(user())["name"] == "Ada12"
    assert runner(*rules, mode=RuleMode.READ)(user())["name"] == "Ada21"


def test_erroring_transform_raises_rule_error_not_condition_error() -> None:
    rule = Rule(
        name="bad", kind=RuleKind.TRANSFORM, mode=RuleMode.WRITE, type="CEL", expr="message.nope"
    )
    with pytest.raises(RuleError, match="'bad'") as info:
        runner(rule)(user())
    assert not isinstance(info.value, RuleConditionError)


# -- field rules -------------------------------------------------------------------------


def test_field_transform_by_inline_tag() -> None:
    rule = Rule(
        name="mask",
        kind=RuleKind.TRANSFORM,
        mode=RuleMode.WRITE,
        type="CEL_FIELD",
        tags=("PII",),
        expr="'XXX'",
    )
    record = user()
    out = runner(rule)(record)
    assert out == user(ssn="XXX")
    assert record["ssn"] == "123456789"


def test_field_transform_by_metadata_tag_with_wildcard() -> None:
    metadata = Metadata(tags={"acme.Address.*": ("GEO",)})
    rule = Rule(
        name="city",
        kind=RuleKind.TRANSFORM,
        mode=RuleMode.WRITE,
        type="CEL_FIELD",
        tags=("GEO",),
        expr="value + ' (UK)'",
    )
    out = runner(rule, metadata=metadata)(user())
    assert out["address"] == {"city": "London (UK)"}
    assert out["ssn"] == "123456789"


def test_field_variables_match_confluent_names() -> None:
    rule = Rule(
        name="vars",
        kind=RuleKind.TRANSFORM,
        mode=RuleMode.WRITE,
        type="CEL_FIELD",
        expr="typeName == 'STRING' && fullName == 'acme.User.name' && 'PII' in tags == false"
        " && message.age == 36 ? value + '+' : value",
    )
    out = runner(rule)(user())
    assert out["name"] == "Ada+" and out["ssn"] == "123456789"


def test_field_transform_reaches_arrays_and_union_branches() -> None:
    rule = Rule(
        name="up",
        kind=RuleKind.TRANSFORM,
        mode=RuleMode.WRITE,
        type="CEL_FIELD",
        expr="typeName == 'STRING' ; value + '.'",
    )
    out = runner(rule)(user(email="a@b"))
    assert out["nicknames"] == ["ada."] and out["email"] == "a@b." and out["ssn"] == "123456789."


def test_field_condition_names_the_field() -> None:
    rule = Rule(
        name="ssnDigits",
        kind=RuleKind.CONDITION,
        mode=RuleMode.WRITE,
        type="CEL_FIELD",
        tags=("PII",),
        expr="value.matches('^[0-9]{9}$')",
    )
    run = runner(rule)
    assert run(user()) == user()
    with pytest.raises(RuleConditionError, match=r"ssnDigits.*acme\.User\.ssn"):
        run(user(ssn="12345678x"))


def test_field_rule_without_a_walker_is_refused() -> None:
    rule = Rule(
        name="f", kind=RuleKind.CONDITION, mode=RuleMode.WRITE, type="CEL_FIELD", expr="true"
    )
    with pytest.raises(RuleError, match="supported for Avro records only"):
        compile_rules(
            RuleSet(domain_rules=(rule,)),
            RuleMode.WRITE,
            RuleTarget("s", "PROTOBUF"),
            fresh_executors(),
        )


def test_later_transform_with_same_tags_is_superseded_on_write() -> None:
    def mask(name: str, to: str) -> Rule:
        return Rule(
            name=name,
            kind=RuleKind.TRANSFORM,
            mode=RuleMode.WRITE,
            type="CEL_FIELD",
            tags=("PII",),
            expr=f"'{to}'",
        )

    assert runner(mask("a", "A"), mask("b", "B"))(user())["ssn"] == "A"


# -- selection: modes, disabled, unknown types -------------------------------------------


def test_no_applicable_rules_compiles_to_none() -> None:
    assert compile_rules(None, RuleMode.WRITE, RuleTarget("s", "AVRO")) is None
    assert runner(cel("readOnly", "false", mode=RuleMode.READ)) is None
    assert runner(cel("off", "false", disabled=True)) is None
    assert runner(cel("elsewhere", "false"), enable_at="SERVER") is None


def test_disabled_rule_of_unknown_type_is_skipped() -> None:
    rule = Rule(
        name="enc", kind=RuleKind.TRANSFORM, mode=RuleMode.WRITE, type="ENCRYPT", disabled=True
    )
    assert runner(rule, cel("ok", "true")) is not None
    assert runner(rule, cel("ok", "true"))(user()) == user()


def test_unknown_type_raises_rule_error_naming_the_type() -> None:
    rule = Rule(name="enc", kind=RuleKind.TRANSFORM, mode=RuleMode.WRITE, type="ENCRYPT")
    run = runner(rule)
    with pytest.raises(RuleError, match="no rule executor for type 'ENCRYPT'") as info:
        run(user())
    assert info.value.rule_name == "enc"
    lenient = Rule(
        name="enc", kind=RuleKind.TRANSFORM, mode=RuleMode.WRITE, type="ENCRYPT", on_failure="NONE"
    )
    assert runner(lenient)(user()) == user()


def test_cel_syntax_error_is_a_rule_error_at_compile_time() -> None:
    with pytest.raises(RuleError, match="does not compile"):
        runner(cel("broken", "1 +"))


# -- compile once ------------------------------------------------------------------------


def test_each_expression_is_compiled_once_and_cached() -> None:
    executors = fresh_executors()
    cel_executor = executors["CEL"]
    assert isinstance(cel_executor, CelExecutor)
    calls = 0
    real_compile = cel_executor._env.compile

    def counting(text: str) -> Any:
        nonlocal calls
        calls += 1
        return real_compile(text)

    cel_executor._env.compile = counting  # type: ignore[method-assign]
    rule = cel("ssnLength", "size(message.ssn) == 9")
    run = runner(rule, executors=executors)
    for _ in range(50):
        run(user())
    again = runner(rule, cel("other", "size(message.ssn) == 9"), executors=executors)
    again(user())
    assert calls == 1
    assert list(cel_executor.compiled) == ["size(message.ssn) == 9"]


# -- the JSON model ----------------------------------------------------------------------


def test_rule_set_json_round_trip_with_registry_defaults() -> None:
    body = {
        "domainRules": [
            {
                "name": "r",
                "type": "CEL",
                "expr": "true",
                "tags": ["PII"],
                "params": {"a": "b"},
                "onFailure": "NONE",
            }
        ],
        "enableAt": "ALL",
    }
    parsed = RuleSet.from_json(body)
    rule = parsed.domain_rules[0]
    assert rule.kind is RuleKind.TRANSFORM and rule.mode is RuleMode.WRITEREAD
    assert rule.tags == ("PII",) and rule.params == {"a": "b"} and not rule.disabled
    assert RuleSet.from_json(parsed.to_json()) == parsed
    assert hash(RuleSet.from_json(parsed.to_json())) == hash(parsed)
    assert parsed.to_json()["domainRules"][0] == {
        "name": "r",
        "kind": "TRANSFORM",
        "mode": "WRITEREAD",
        "type": "CEL",
        "tags": ["PII"],
        "params": {"a": "b"},
        "expr": "true",
        "onFailure": "NONE",
        "disabled": False,
    }


def test_metadata_json_round_trip_and_hash() -> None:
    metadata = Metadata.from_json(
        {"tags": {"User.ssn": ["PII"]}, "properties": {"owner": "x"}, "sensitive": ["ssn"]}
    )
    assert metadata.tags == {"User.ssn": ("PII",)}
    assert Metadata.from_json(metadata.to_json()) == metadata
    assert {metadata: 1}[
        Metadata(properties={"owner": "x"}, tags={"User.ssn": ["PII"]}, sensitive=("ssn",))
    ] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"domainRules": [{"name": "r", "kind": "MAYBE"}]},
        {"domainRules": [{"name": "r", "mode": "SOMETIMES"}]},
        {"domainRules": [{"kind": "CONDITION"}]},
        {"domainRules": "nope"},
        {"domainRules": [{"name": "r", "disabled": "yes"}]},
    ],
)
def test_malformed_rule_sets_are_schema_errors(body: dict[str, Any]) -> None:
    with pytest.raises(SchemaError):
        RuleSet.from_json(body)


def test_malformed_metadata_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="properties"):
        Metadata.from_json({"properties": {"a": 1}})


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("eve", "eve*", True),
        ("alice.bob.eve", "a*.bob.eve", True),
        ("alice.bob.eve", "a*", False),
        ("alice.bob.eve", "a**", True),
        ("alice.bob.eve", "alice.bob*", False),
        ("alice.bob.eve", "alice.bob**", True),
        ("a.b", "a?b", False),
    ],
)
def test_wildcard_match_as_confluent(text: str, pattern: str, expected: bool) -> None:
    assert wildcard_match(text, pattern) is expected
