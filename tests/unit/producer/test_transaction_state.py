"""The transactional producer's state machine: every transition, every call in every state.

The expected tables are written out here independently of the module's, in the order of
Kafka's ``TransactionManager.State.isTransitionValid``, so a change to the module's table
shows up as a failing case.
"""

from __future__ import annotations

import itertools

import pytest

from producer.errors import TransactionStateError
from producer.protocol.error_codes import error_class
from producer.transaction_state import (
    ALLOWED_IN,
    FATAL_ERROR_CODES,
    TransactionState,
    TransactionStateMachine,
)

S = TransactionState
KAFKA_TRANSITIONS = {  # (from, to) pairs Kafka's client accepts, FATAL_ERROR aside
    (S.READY, S.UNINITIALIZED),
    (S.ABORTABLE_ERROR, S.UNINITIALIZED),
    (S.UNINITIALIZED, S.INITIALIZING),
    (S.ABORTING_TRANSACTION, S.INITIALIZING),
    (S.INITIALIZING, S.READY),
    (S.COMMITTING_TRANSACTION, S.READY),
    (S.ABORTING_TRANSACTION, S.READY),
    (S.READY, S.IN_TRANSACTION),
    (S.IN_TRANSACTION, S.COMMITTING_TRANSACTION),
    (S.IN_TRANSACTION, S.ABORTING_TRANSACTION),
    (S.ABORTABLE_ERROR, S.ABORTING_TRANSACTION),
    (S.IN_TRANSACTION, S.ABORTABLE_ERROR),
    (S.COMMITTING_TRANSACTION, S.ABORTABLE_ERROR),
    (S.ABORTABLE_ERROR, S.ABORTABLE_ERROR),
    (S.INITIALIZING, S.ABORTABLE_ERROR),
}
ERROR_STATES = (S.ABORTABLE_ERROR, S.FATAL_ERROR)
CALLS_ALLOWED = {
    "init_transactions": {S.UNINITIALIZED},
    "begin_transaction": {S.READY},
    "send": {S.IN_TRANSACTION},
    "send_offsets_to_transaction": {S.IN_TRANSACTION},
    "commit_transaction": {S.IN_TRANSACTION},
    "abort_transaction": {S.IN_TRANSACTION, S.ABORTABLE_ERROR},
}
CAUSE = RuntimeError("the cause")


def _in(state: TransactionState) -> TransactionStateMachine:
    """A machine forced into ``state`` (the tests' shortcut past the requests)."""
    machine = TransactionStateMachine("orders-tx")
    machine._state = state
    if state in ERROR_STATES:
        machine._error = CAUSE
    return machine


@pytest.mark.parametrize(
    ("source", "target"),
    list(itertools.product(TransactionState, TransactionState)),
    ids=lambda s: s.name,
)
def test_each_transition_is_valid_exactly_as_in_kafka(
    source: TransactionState, target: TransactionState
) -> None:
    machine = _in(source)
    error = RuntimeError("new") if target in ERROR_STATES else None
    valid = (source, target) in KAFKA_TRANSITIONS or (
        target is S.FATAL_ERROR  # from anywhere, and fatal stays fatal
    )
    if valid:
        machine.transition_to(target, error)
        assert machine.state is target
    else:
        with pytest.raises(TransactionStateError, match="orders-tx") as failure:
            machine.transition_to(target, error)
        assert machine.state is source, "a refused transition must not move"
        assert target.value in str(failure.value)


@pytest.mark.parametrize(
    ("call", "state"),
    list(itertools.product(CALLS_ALLOWED, TransactionState)),
    ids=lambda v: v.name if isinstance(v, TransactionState) else v,
)
def test_each_call_is_accepted_only_where_kafka_accepts_it(
    call: str, state: TransactionState
) -> None:
    machine = _in(state)
    if state in CALLS_ALLOWED[call]:
        machine.check(call)
        return
    with pytest.raises(TransactionStateError) as failure:
        machine.check(call)
    message = str(failure.value)
    assert f"{call}() on transactional id 'orders-tx'" in message
    if state is S.FATAL_ERROR:
        assert "must be closed" in message and "the cause" in message
        assert failure.value.__cause__ is CAUSE
    elif state is S.ABORTABLE_ERROR:
        assert "can only be aborted" in message and "the cause" in message
    else:
        assert repr(state.value) in message


def test_the_modules_call_table_is_kafkas() -> None:
    assert {call: set(states) for call, states in ALLOWED_IN.items()} == CALLS_ALLOWED


def test_a_whole_transaction_then_an_abortable_error_then_an_abort() -> None:
    machine = TransactionStateMachine("orders-tx")
    for state in (S.INITIALIZING, S.READY, S.IN_TRANSACTION, S.COMMITTING_TRANSACTION):
        machine.transition_to(state)
    machine.transition_to(S.READY)
    machine.check("begin_transaction")
    machine.transition_to(S.IN_TRANSACTION)
    failure = RuntimeError("TOPIC_AUTHORIZATION_FAILED on orders-0")
    machine.transition_to(S.ABORTABLE_ERROR, failure)
    assert machine.error is failure
    machine.check("abort_transaction")
    machine.transition_to(S.ABORTING_TRANSACTION)
    assert machine.error is failure, "the reason stays until the abort completes"
    machine.transition_to(S.READY)
    assert machine.error is None
    assert repr(machine) == "TransactionStateMachine('orders-tx', ready)"


def test_the_first_fatal_error_is_kept_and_nothing_leaves_the_fatal_state() -> None:
    machine = _in(S.IN_TRANSACTION)
    fenced = error_class(90)("a newer producer took over transactional id 'orders-tx'")
    machine.transition_to(S.FATAL_ERROR, fenced)
    machine.transition_to(S.FATAL_ERROR, RuntimeError("later"))
    assert machine.error is fenced
    with pytest.raises(TransactionStateError, match="no way out of the fatal error state"):
        machine.transition_to(S.READY)


@pytest.mark.parametrize("target", ERROR_STATES, ids=lambda s: s.name)
def test_an_error_state_needs_its_cause(target: TransactionState) -> None:
    with pytest.raises(ValueError, match="needs the error"):
        _in(S.IN_TRANSACTION).transition_to(target)


def test_fatal_codes_are_kafkas_fenced_epoch_and_authorization_errors() -> None:
    names = {error_class(code).__name__ for code in FATAL_ERROR_CODES}
    assert names == {
        "ProducerFencedError",
        "InvalidProducerEpochError",
        "TransactionalIdAuthorizationFailedError",
    }
