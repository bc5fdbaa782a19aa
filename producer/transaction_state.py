"""The transactional producer's states, the moves between them, and who may call what.

Kafka's ``TransactionManager`` keeps one state per transactional producer and checks
every move against a table; regcast keeps the same states and the same table
(:data:`VALID_TRANSITIONS`, transcribed from the Java client's
``State.isTransitionValid``), so a regcast user reasons about a transaction as a Java
or librdkafka user does::

    UNINITIALIZED --init_transactions--> INITIALIZING --producer id--> READY
    READY --begin_transaction--> IN_TRANSACTION
    IN_TRANSACTION --commit_transaction--> COMMITTING_TRANSACTION --EndTxn--> READY
    IN_TRANSACTION --abort_transaction--> ABORTING_TRANSACTION --EndTxn--> READY
    IN_TRANSACTION / COMMITTING_TRANSACTION --abortable error--> ABORTABLE_ERROR
    ABORTABLE_ERROR --abort_transaction--> ABORTING_TRANSACTION
    any --fatal error (fenced, not authorized)--> FATAL_ERROR, for good

The public calls are checked against :data:`ALLOWED_IN` before anything is sent: a call
in the wrong state raises :class:`~producer.errors.TransactionStateError` naming the
call, the state and what would make it valid. In ABORTABLE_ERROR only an abort is
accepted, and the error names the failure that put the producer there; in FATAL_ERROR
nothing is, and the error names the fatal failure (close the producer).

Sans-I/O: no sockets, no clocks, no threads. The transaction manager that sends the
requests owns one :class:`TransactionStateMachine` and holds its lock around it.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from producer.errors import TransactionStateError

__all__ = [
    "ALLOWED_IN",
    "FATAL_ERROR_CODES",
    "VALID_TRANSITIONS",
    "TransactionState",
    "TransactionStateMachine",
]


class TransactionState(Enum):
    UNINITIALIZED = "uninitialized"
    INITIALIZING = "initializing"
    READY = "ready"
    IN_TRANSACTION = "in transaction"
    COMMITTING_TRANSACTION = "committing transaction"
    ABORTING_TRANSACTION = "aborting transaction"
    ABORTABLE_ERROR = "abortable error"
    FATAL_ERROR = "fatal error"


_S = TransactionState

VALID_TRANSITIONS: Final[dict[TransactionState, frozenset[TransactionState]]] = {
    # target: the states it may be entered from (FATAL_ERROR: from every state)
    _S.UNINITIALIZED: frozenset({_S.READY, _S.ABORTABLE_ERROR}),
    _S.INITIALIZING: frozenset({_S.UNINITIALIZED, _S.ABORTING_TRANSACTION}),
    _S.READY: frozenset({_S.INITIALIZING, _S.COMMITTING_TRANSACTION, _S.ABORTING_TRANSACTION}),
    _S.IN_TRANSACTION: frozenset({_S.READY}),
    _S.COMMITTING_TRANSACTION: frozenset({_S.IN_TRANSACTION}),
    _S.ABORTING_TRANSACTION: frozenset({_S.IN_TRANSACTION, _S.ABORTABLE_ERROR}),
    _S.ABORTABLE_ERROR: frozenset(
        {_S.IN_TRANSACTION, _S.COMMITTING_TRANSACTION, _S.ABORTABLE_ERROR, _S.INITIALIZING}
    ),
    _S.FATAL_ERROR: frozenset(TransactionState),
}
"""For each state, the states from which it may be entered (Kafka's table)."""

ALLOWED_IN: Final[dict[str, frozenset[TransactionState]]] = {
    "init_transactions": frozenset({_S.UNINITIALIZED}),
    "begin_transaction": frozenset({_S.READY}),
    "send": frozenset({_S.IN_TRANSACTION}),
    "send_offsets_to_transaction": frozenset({_S.IN_TRANSACTION}),
    "commit_transaction": frozenset({_S.IN_TRANSACTION}),
    "abort_transaction": frozenset({_S.IN_TRANSACTION, _S.ABORTABLE_ERROR}),
}
"""The states in which each public call is accepted."""

_HOW_TO_GET_THERE: Final[dict[str, str]] = {
    "init_transactions": "it is called once, first",
    "begin_transaction": "call init_transactions() first, and end the open transaction",
    "send": "call begin_transaction() first",
    "send_offsets_to_transaction": "call begin_transaction() first",
    "commit_transaction": "call begin_transaction() first",
    "abort_transaction": "call begin_transaction() first",
}

FATAL_ERROR_CODES: Final = frozenset(
    {
        47,  # INVALID_PRODUCER_EPOCH: another producer with this transactional id is newer
        53,  # TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        90,  # PRODUCER_FENCED
    }
)
"""Broker errors after which the transactional producer can only be closed (as Kafka
classifies them); any other non-retriable error in a transaction is abortable."""


class TransactionStateMachine:
    """One transactional producer's state, moved only along :data:`VALID_TRANSITIONS`."""

    __slots__ = ("_error", "_state", "transactional_id")

    def __init__(self, transactional_id: str) -> None:
        self.transactional_id = transactional_id
        self._state = TransactionState.UNINITIALIZED
        self._error: BaseException | None = None

    @property
    def state(self) -> TransactionState:
        return self._state

    @property
    def error(self) -> BaseException | None:
        """The failure that put the producer in ABORTABLE_ERROR or FATAL_ERROR."""
        return self._error

    def __repr__(self) -> str:
        return f"TransactionStateMachine({self.transactional_id!r}, {self._state.value})"

    def check(self, call: str) -> None:
        """Raise :class:`TransactionStateError` unless ``call`` is accepted now."""
        allowed = ALLOWED_IN[call]
        if self._state in allowed:
            return
        where = f"transactional id {self.transactional_id!r}"
        if self._state is TransactionState.FATAL_ERROR:
            raise TransactionStateError(
                f"{call}() on {where}: the producer hit a fatal error and must be closed "
                f"({_describe(self._error)})"
            ) from self._error
        if self._state is TransactionState.ABORTABLE_ERROR:
            raise TransactionStateError(
                f"{call}() on {where}: the transaction failed and can only be aborted "
                f"(abort_transaction()): {_describe(self._error)}"
            ) from self._error
        raise TransactionStateError(
            f"{call}() on {where} in state {self._state.value!r}: {_HOW_TO_GET_THERE[call]}"
        )

    def transition_to(self, target: TransactionState, error: BaseException | None = None) -> None:
        """Move to ``target`` (with the failure, for the two error states)."""
        if self._state is TransactionState.FATAL_ERROR and target is not _S.FATAL_ERROR:
            raise TransactionStateError(
                f"transactional id {self.transactional_id!r}: no way out of the fatal "
                f"error state to {target.value!r} ({_describe(self._error)})"
            ) from self._error
        if self._state not in VALID_TRANSITIONS[target]:
            raise TransactionStateError(
                f"transactional id {self.transactional_id!r}: invalid transition from "
                f"{self._state.value!r} to {target.value!r}"
            )
        if target in (_S.ABORTABLE_ERROR, _S.FATAL_ERROR):
            if error is None:
                raise ValueError(f"moving to {target.value!r} needs the error that caused it")
            if self._state is _S.FATAL_ERROR:
                return  # the first fatal error is the one users need to see
            self._error = error
        elif target is not _S.ABORTING_TRANSACTION:
            self._error = None  # an abort keeps the reason until it completes
        self._state = target


def _describe(error: BaseException | None) -> str:
    return "no cause recorded" if error is None else f"{type(error).__name__}: {error}"
