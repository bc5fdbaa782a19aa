"""Data-contract rules in the serializers: a small engine and its CEL executors.

- :mod:`serdes.rules.engine`: :func:`compile_rules` turns one schema's rule set into a
  :class:`RuleRunner` for WRITE or READ (or ``None`` when no rule applies), the actions
  (ERROR, NONE) and the :class:`RuleExecutor` protocol executors implement.
- :mod:`serdes.rules.cel`: ``CEL`` (whole message) and ``CEL_FIELD`` (per field) on
  cel-python.
- :mod:`serdes.rules.avro_fields`: the walk over Avro records that field rules use.

Naming: Confluent's clients call the per-type plug-in a ``RuleExecutor`` and run rules
from a method of the serde; here the plug-in keeps that name and the per-schema,
per-mode compiled list is a :class:`RuleRunner`, because it runs rules of every type.
"""

from serdes.rules.engine import (
    FieldContext,
    RuleExecutor,
    RuleRunner,
    RuleTarget,
    compile_rules,
)

__all__ = ["FieldContext", "RuleExecutor", "RuleRunner", "RuleTarget", "compile_rules"]
