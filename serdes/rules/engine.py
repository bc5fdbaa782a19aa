"""Running one schema's domain rules over a record: :class:`RuleRunner` and friends.

Theory of operation
-------------------
A serializer learns a schema's rule set once, when it resolves the schema (the first
record of a subject, or of a schema id when reading). At that moment it asks
:func:`compile_rules` for a :class:`RuleRunner` for its mode (WRITE when serializing,
READ when deserializing). Everything that does not depend on the record is decided
there, once:

- which rules apply: domain rules whose mode is the serde's or WRITEREAD, not
  ``disabled``, and not switched off by the rule set's ``enableAt`` (only unset, ``ALL``
  and ``CLIENT`` run in a client); in READ mode in reverse order, as Confluent's clients
  do, so a read undoes a write's transforms symmetrically;
- a field-level TRANSFORM that an earlier (WRITE) or later (READ) rule of the same
  type, mode and tags supersedes is dropped, as in Confluent's ``FieldRuleExecutor``;
- each rule's executor, found by its ``type`` in the registry of executors (CEL and
  CEL_FIELD are built in, :mod:`serdes.rules.cel`), compiles the rule into a step: a
  plain function of the message. CEL programs are compiled there and cached by the
  executor, so no expression is parsed per record;
- the ``onSuccess`` / ``onFailure`` actions are resolved to ERROR or NONE
  (``"A,B"`` on a WRITEREAD rule means A on write, B on read). A DLQ or any other action
  is refused here with :class:`~serdes.errors.RuleError`: regcast's serializers do not
  produce to dead-letter topics.

When no rule applies :func:`compile_rules` returns ``None``, and the serde keeps its
plain per-record function: a schema without rules costs nothing per record.

Per record, :meth:`RuleRunner.__call__` runs the steps in order. A CONDITION's result
must be truthy; a TRANSFORM's result replaces the message. A false condition, or a step
that raises, is a failure: with action ERROR (the default) it raises
:class:`~serdes.errors.RuleConditionError` (conditions) or
:class:`~serdes.errors.RuleError` (transforms, unknown types), naming the rule and the
subject; with NONE the record goes on unchanged. A rule whose ``type`` no executor
claims fails the same way on each record (so ``onFailure: NONE`` lets records through),
as in Confluent's clients. Migration (UPGRADE/DOWNGRADE) and encoding rules are not run.

The runner holds no per-record state: it is safe to share between threads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from serdes.data_contracts import Metadata, Rule, RuleKind, RuleMode, RuleSet
from serdes.errors import RuleConditionError, RuleError

__all__ = [
    "FieldContext",
    "FieldTransform",
    "FieldWalker",
    "RuleExecutor",
    "RuleRunner",
    "RuleStep",
    "RuleTarget",
    "compile_rules",
    "wildcard_match",
]

#: A compiled rule: message in, result out (a truth value for a CONDITION, the new
#: message for a TRANSFORM).
RuleStep = Callable[[Any], Any]

_PRIMITIVE_TYPES = frozenset(
    {"INT", "LONG", "FLOAT", "DOUBLE", "BOOLEAN", "NULL", "STRING", "BYTES"}
)


@dataclass(frozen=True, slots=True)
class FieldContext:
    """The field a field-level rule is looking at: Confluent's CEL_FIELD variables.

    ``full_name`` is ``<record full name>.<field>``, ``type_name`` Confluent's field type
    (``STRING``, ``INT``, ``RECORD``...), ``tags`` the field's inline tags
    (``confluent:tags``) and the schema metadata's tags whose pattern matches it.
    """

    containing_message: Any
    full_name: str
    name: str
    type_name: str
    tags: frozenset[str]

    @property
    def is_primitive(self) -> bool:
        """Field rules apply to primitive values only (not records, enums, fixed...)."""
        return self.type_name in _PRIMITIVE_TYPES


#: What a field-level rule does to one field: ``(field, value) -> new value`` (for a
#: CONDITION, a truth value).
FieldTransform = Callable[[FieldContext, Any], Any]


class FieldWalker(Protocol):
    """A format's walk over a message's fields (the Avro one: :mod:`serdes.rules.avro_fields`).

    Calls ``transform`` for each primitive field whose tags meet ``rule.tags`` (all fields
    when the rule has none) and returns the message with the results in place (a copy:
    the caller's object is never changed). For a CONDITION rule it raises
    :class:`FieldConditionFailed` at the first field whose result is ``False``.
    """

    def __call__(self, message: Any, transform: FieldTransform, rule: Rule) -> Any: ...


class FieldConditionFailed(Exception):
    """Raised by a :class:`FieldWalker`: a field-level condition was false for ``field``."""

    def __init__(self, field_name: str) -> None:
        super().__init__(f"false for field {field_name}")
        self.field_name = field_name


@dataclass(frozen=True, slots=True)
class RuleTarget:
    """The schema a rule set belongs to, as executors need it.

    ``schema_type`` is ``AVRO`` or ``PROTOBUF``; ``field_walker`` is ``None`` for formats
    whose field-level rules are not supported.
    """

    subject: str
    schema_type: str
    metadata: Metadata | None = None
    field_walker: FieldWalker | None = None


class RuleExecutor(Protocol):
    """Runs rules of one ``type`` (Confluent's RuleExecutor): compiles a rule into a step.

    ``compile`` is called once per rule when a serde resolves a schema; it should do all
    the work that does not depend on the record (parse, check) and raise
    :class:`~serdes.errors.RuleError` for a rule it can never run.
    """

    @property
    def type(self) -> str: ...

    def compile(self, rule: Rule, target: RuleTarget) -> RuleStep: ...


_NONE = "NONE"
_ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class _Step:
    rule: Rule
    run: RuleStep
    is_condition: bool
    fail_silently: bool  # onFailure NONE
    error_on_success: bool  # onSuccess ERROR (Confluent's ErrorAction on success)
    error_type: type[RuleError] = field(default=RuleError)


@dataclass(frozen=True, slots=True)
class RuleRunner:
    """One schema's applicable domain rules for one mode, compiled; call it per record."""

    subject: str
    mode: RuleMode
    steps: tuple[_Step, ...]

    def __call__(self, message: Any) -> Any:
        """Run every step over ``message`` in order; return the (transformed) message."""
        for step in self.steps:
            try:
                result = step.run(message)
            except Exception as exc:
                self._failed(step, message, exc)
                continue
            if step.is_condition:
                if not result:
                    self._failed(step, message, None)
                    continue
            elif result is None:
                self._failed(step, message, None, "the transform returned null")
                continue
            else:
                message = result
            if step.error_on_success:
                raise RuleError(
                    f"{_describe(step.rule, self.subject)} succeeded and its onSuccess "
                    "action is ERROR",
                    rule_name=step.rule.name,
                    subject=self.subject,
                )
        return message

    def _failed(
        self, step: _Step, message: Any, cause: Exception | None, why: str | None = None
    ) -> None:
        if step.fail_silently:
            return
        rule = step.rule
        if isinstance(cause, RuleError) and not isinstance(cause, RuleConditionError):
            raise cause  # already names the rule (an unknown type, a configuration error)
        text = f"{_describe(rule, self.subject)} failed"
        if step.is_condition:
            text += f" ({rule.doc})" if rule.doc else (f": {rule.expr}" if rule.expr else "")
        if isinstance(cause, FieldConditionFailed):
            text += f", {cause}"
        elif cause is not None:
            # CEL errors carry the whole activation in their repr: keep the first line
            detail = str(cause.args[0]) if cause.args else str(cause)
            text += f": {type(cause).__name__}: {detail[:300]}"
        elif why is not None:
            text += f": {why}"
        error_type = RuleConditionError if step.is_condition else RuleError
        raise error_type(text, rule_name=rule.name, subject=self.subject) from cause


def _describe(rule: Rule, subject: str) -> str:
    what = f"{rule.kind.value} {rule.type}, {rule.mode.value}"
    return f"rule {rule.name!r} ({what}) of subject {subject!r}"


def _applies(rule: Rule, mode: RuleMode) -> bool:
    if rule.mode is RuleMode.WRITEREAD:
        return mode in (RuleMode.WRITE, RuleMode.READ)
    return rule.mode is mode


def _action(rule: Rule, action: str | None, mode: RuleMode, which: str, subject: str) -> str:
    """The action name for this mode, checked: ERROR or NONE (DLQ is not supported)."""
    if not action:
        return ""
    name = action
    if rule.mode is RuleMode.WRITEREAD and "," in action:
        write_action, _, read_action = action.partition(",")
        name = write_action if mode is RuleMode.WRITE else read_action
    name = name.strip().upper()
    if name in ("", _NONE, _ERROR):
        return name
    if name == "DLQ":
        raise RuleError(
            f"{_describe(rule, subject)}: {which} action DLQ is not supported by regcast's "
            "serializers (they do not produce to dead-letter topics); use ERROR or NONE",
            rule_name=rule.name,
            subject=subject,
        )
    raise RuleError(
        f"{_describe(rule, subject)}: unknown {which} action {name!r} (known: ERROR, NONE)",
        rule_name=rule.name,
        subject=subject,
    )


def _same_tag_transforms(a: Rule, b: Rule) -> bool:
    return bool(
        a.tags
        and a.kind is RuleKind.TRANSFORM
        and a.kind is b.kind
        and a.mode is b.mode
        and a.type == b.type
        and a.tags == b.tags
    )


def _unknown_type_step(rule: Rule, subject: str) -> RuleStep:
    message = (
        f"{_describe(rule, subject)}: no rule executor for type {rule.type!r} "
        "(regcast runs CEL and CEL_FIELD rules)"
    )

    def unknown(_: Any) -> Any:
        raise RuleError(message, rule_name=rule.name, subject=subject)

    return unknown


def compile_rules(
    rule_set: RuleSet | None,
    mode: RuleMode,
    target: RuleTarget,
    executors: Mapping[str, RuleExecutor] | None = None,
) -> RuleRunner | None:
    """The runner for ``rule_set``'s domain rules in ``mode``, or None when none apply.

    ``mode`` is WRITE (serializers) or READ (deserializers). ``executors`` maps an upper-
    case rule type to its executor; by default the built-in CEL and CEL_FIELD ones.
    Raises :class:`~serdes.errors.RuleError` for a rule that can never run as configured
    (a DLQ or unknown action, a CEL expression that does not parse).
    """
    if rule_set is None or not rule_set.domain_rules:
        return None
    if mode not in (RuleMode.WRITE, RuleMode.READ):
        raise ValueError(f"rules run in WRITE or READ mode here, not {mode.value}")
    if rule_set.enable_at not in (None, "ALL", "CLIENT"):
        return None
    if executors is None:
        from serdes.rules.cel import default_executors

        executors = default_executors()
    rules = list(rule_set.domain_rules)
    if mode is RuleMode.READ:
        rules.reverse()
    subject = target.subject
    steps: list[_Step] = []
    for index, rule in enumerate(rules):
        if rule.disabled or not _applies(rule, mode):
            continue
        # an earlier rule (in this mode's order) with the same tags supersedes this one
        if any(_same_tag_transforms(rule, other) for other in rules[:index]):
            continue
        on_failure = _action(rule, rule.on_failure, mode, "onFailure", subject)
        on_success = _action(rule, rule.on_success, mode, "onSuccess", subject)
        executor = None if rule.type is None else executors.get(rule.type.upper())
        if executor is None:
            run = _unknown_type_step(rule, subject)
        else:
            run = executor.compile(rule, target)
        steps.append(
            _Step(
                rule,
                run,
                rule.kind is RuleKind.CONDITION,
                fail_silently=on_failure == _NONE,
                error_on_success=on_success == _ERROR,
            )
        )
    if not steps:
        return None
    return RuleRunner(subject, mode, tuple(steps))


# -- tags --------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _wildcard_pattern(pattern: str) -> re.Pattern[str]:
    """Confluent's tag patterns: ``?`` one character and ``*`` any run within a dotted
    name segment, ``**`` any run across segments."""
    src = pattern.replace("**.*", "**")
    out: list[str] = []
    i = 0
    while i < len(src):
        c = src[i]
        i += 1
        if c == "*":
            if i < len(src) and src[i] == "*":
                out.append(".*")
                i += 1
            else:
                out.append("[^.]*")
        elif c == "?":
            out.append("[^.]")
        else:
            out.append(re.escape(c))
    return re.compile("".join(out))


def wildcard_match(text: str, pattern: str) -> bool:
    """True when the dotted name ``text`` matches the tag ``pattern`` (see above)."""
    return _wildcard_pattern(pattern).fullmatch(text) is not None


def metadata_tags(metadata: Metadata | None, full_name: str) -> Iterable[str]:
    """The tags ``metadata`` gives the field ``full_name`` (patterns may use wildcards)."""
    if metadata is None or not metadata.tags:
        return ()
    found: list[str] = []
    for pattern, tags in metadata.tags.items():
        if wildcard_match(full_name, pattern):
            found.extend(tags)
    return found
