"""CEL rules (``type: CEL`` and ``CEL_FIELD``) on cel-python, as Confluent's clients run them.

``CEL`` sees the whole record as ``message``: a CONDITION is an expression that must be
true, a TRANSFORM's value replaces the record. ``CEL_FIELD`` runs once per primitive
field (those whose tags meet the rule's tags, or all), with the variables Confluent's
``CelFieldExecutor`` binds: ``value``, ``name``, ``fullName``, ``typeName``, ``tags`` and
``message`` (the record holding the field). An expression ``guard ; expr`` runs ``expr``
only where ``guard`` is true (a condition passes, a transform leaves the value alone).

Records are converted to CEL values (maps, lists, strings, ints, doubles, bools, bytes,
timestamps) per evaluation and results back to plain Python, so fastavro and protobuf
never see celpy's types. Programs are compiled once per expression by the executor
(:attr:`CelExecutor.compiled`, a cache shared by every rule with the same text) when a
serde resolves the schema, never per record; a syntax error is a
:class:`~serdes.errors.RuleError` then, naming the rule.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Mapping
from typing import Any

import celpy
from celpy import celtypes
from celpy.evaluation import CELEvalError

from serdes.data_contracts import Rule, RuleKind
from serdes.errors import RuleError
from serdes.rules.engine import FieldContext, RuleExecutor, RuleStep, RuleTarget

__all__ = ["CelExecutor", "CelFieldExecutor", "default_executors", "from_cel", "to_cel"]

_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()


def to_cel(value: Any) -> Any:
    """A record (dicts, lists, scalars) as CEL values; Avro dates become day numbers."""
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, bool):  # before int: bool is an int
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, Mapping):
        return celtypes.MapType({celtypes.StringType(str(k)): to_cel(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return celtypes.ListType([to_cel(v) for v in value])
    if isinstance(value, bytes | bytearray):
        return celtypes.BytesType(bytes(value))
    if isinstance(value, datetime.datetime):
        return celtypes.TimestampType(value)
    if isinstance(value, datetime.timedelta):
        return celtypes.DurationType(value)
    if isinstance(value, datetime.date):
        return celtypes.IntType(value.toordinal() - _EPOCH_ORDINAL)
    if isinstance(value, uuid.UUID):
        return celtypes.StringType(str(value))
    return value  # None, Decimal, time: passed as they are


def from_cel(value: Any) -> Any:
    """A CEL result as plain Python (dict, list, str, int, float, bool, bytes)."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.BytesType):
        return bytes(value)
    if isinstance(value, celtypes.IntType | celtypes.UintType):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.TimestampType):
        return datetime.datetime.fromtimestamp(value.timestamp(), tz=datetime.UTC)
    if isinstance(value, Mapping):
        return {str(k): from_cel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_cel(v) for v in value]
    return value


class CelExecutor:
    """``type: CEL``: an expression over the whole record, bound as ``message``."""

    def __init__(self) -> None:
        self._env = celpy.Environment()
        self._lock = threading.Lock()
        #: expression text -> compiled program; read by tests to prove compile-once.
        self.compiled: dict[str, Any] = {}

    @property
    def type(self) -> str:
        return "CEL"

    def program(self, expr: str, rule: Rule, subject: str) -> Any:
        """The compiled program for ``expr`` (compiled on first use, then cached)."""
        program = self.compiled.get(expr)
        if program is not None:
            return program
        with self._lock:
            program = self.compiled.get(expr)
            if program is None:
                try:
                    program = self._env.program(self._env.compile(expr))
                except Exception as exc:  # CELParseError and friends
                    raise RuleError(
                        f"rule {rule.name!r} of subject {subject!r}: the CEL expression "
                        f"{expr!r} does not compile: {exc}",
                        rule_name=rule.name,
                        subject=subject,
                    ) from exc
                self.compiled[expr] = program
        return program

    def evaluator(self, rule: Rule, target: RuleTarget) -> Any:
        """``activation -> result`` for the rule's ``[guard;] expr``, compiled now."""
        expr = rule.expr
        if expr is None or not expr.strip():
            raise RuleError(
                f"rule {rule.name!r} of subject {target.subject!r} has no expr",
                rule_name=rule.name,
                subject=target.subject,
            )
        guard_text, sep, body = expr.partition(";")
        if not sep:
            guard_text, body = "", expr
        program = self.program(body, rule, target.subject)
        guard = self.program(guard_text, rule, target.subject) if guard_text.strip() else None
        is_condition = rule.kind is RuleKind.CONDITION

        def evaluate(activation: dict[str, Any], unchanged: Any) -> Any:
            if guard is not None and not _checked(guard.evaluate(activation)):
                return True if is_condition else unchanged
            return _checked(program.evaluate(activation))

        return evaluate

    def compile(self, rule: Rule, target: RuleTarget) -> RuleStep:
        evaluate = self.evaluator(rule, target)
        if rule.kind is RuleKind.CONDITION:

            def condition(message: Any) -> Any:
                return bool(evaluate({"message": to_cel(message)}, message))

            return condition

        def transform(message: Any) -> Any:
            result = evaluate({"message": to_cel(message)}, _UNCHANGED)
            return message if result is _UNCHANGED else from_cel(result)

        return transform


_UNCHANGED = object()


def _checked(result: Any) -> Any:
    # cel-python returns (rather than raises) some evaluation errors
    if isinstance(result, CELEvalError):
        raise result
    return result


class CelFieldExecutor:
    """``type: CEL_FIELD``: an expression per field, through the format's field walker."""

    def __init__(self, cel: CelExecutor) -> None:
        self._cel = cel

    @property
    def type(self) -> str:
        return "CEL_FIELD"

    def compile(self, rule: Rule, target: RuleTarget) -> RuleStep:
        walker = target.field_walker
        if walker is None:
            raise RuleError(
                f"rule {rule.name!r} of subject {target.subject!r}: field-level rules "
                f"(CEL_FIELD) are supported for Avro records only, not {target.schema_type}",
                rule_name=rule.name,
                subject=target.subject,
            )
        evaluate = self._cel.evaluator(rule, target)
        is_condition = rule.kind is RuleKind.CONDITION

        def on_field(field: FieldContext, value: Any) -> Any:
            activation = {
                "value": to_cel(value),
                "fullName": celtypes.StringType(field.full_name),
                "name": celtypes.StringType(field.name),
                "typeName": celtypes.StringType(field.type_name),
                "tags": celtypes.ListType([celtypes.StringType(t) for t in sorted(field.tags)]),
                "message": to_cel(field.containing_message),
            }
            result = evaluate(activation, _UNCHANGED)
            if is_condition:
                return bool(result)
            return value if result is _UNCHANGED else from_cel(result)

        def walk(message: Any) -> Any:
            result = walker(message, on_field, rule)
            return True if is_condition else result

        return walk


_DEFAULT: dict[str, RuleExecutor] | None = None


def default_executors() -> dict[str, RuleExecutor]:
    """The built-in executors by type (one shared CEL program cache for the process)."""
    global _DEFAULT
    if _DEFAULT is None:
        cel = CelExecutor()
        _DEFAULT = {"CEL": cel, "CEL_FIELD": CelFieldExecutor(cel)}
    return _DEFAULT
