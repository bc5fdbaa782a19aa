"""Producer id, epoch and per-partition sequence numbers for the idempotent producer.

After the idempotent half of Kafka's ``TransactionManager``. The broker keeps, per
producer id and partition, the sequence numbers of the last five batches it wrote; a
batch carrying a sequence it already has is acknowledged again instead of being written
twice, and a batch whose sequence is not the next one is refused with
OUT_OF_ORDER_SEQUENCE_NUMBER. That is what makes retries safe: a batch keeps the
sequence it was first sent with, and retries of one partition go out in sequence order,
one at a time, after everything in flight before them has come back (the accumulator
enforces that order; this class keeps the numbers).

When the sequence chain breaks (a sequenced batch failed for good or expired, or the
broker forgot the producer id), the producer asks for a new producer id once nothing is
in flight ("epoch bump" in Kafka terms) and starts every partition again at sequence 0.

Runs on the sender thread only; no locking.
"""

from __future__ import annotations

import enum
from typing import Any

from producer.batch import ProducerBatch, TopicPartition

__all__ = ["IdempotenceManager", "ProducerIdState"]

_MAX_SEQUENCE = 2**31 - 1


class ProducerIdState(enum.Enum):
    NEEDS_ID = "needs_id"
    REQUESTING = "requesting"
    READY = "ready"


class IdempotenceManager:
    """Hands out sequence numbers and knows when a new producer id is needed (sender thread)."""

    def __init__(self, transactional: bool = False) -> None:
        self.transactional = transactional
        """Stamp batches with the transactional bit (the transaction manager owns the id)."""
        self.producer_id = -1
        self.producer_epoch = -1
        self.state = ProducerIdState.NEEDS_ID
        self.reset_pending = False
        self._next_sequence: dict[TopicPartition, int] = {}
        self._last_acked_sequence: dict[TopicPartition, int] = {}

    @property
    def has_producer_id(self) -> bool:
        return self.state is ProducerIdState.READY and not self.reset_pending

    @staticmethod
    def init_producer_id_body(version: int) -> dict[str, Any]:
        """An idempotent (non-transactional) InitProducerId request body."""
        return {
            "transactional_id": None,
            "transaction_timeout_ms": 2_147_483_647,
            "producer_id": -1,
            "producer_epoch": -1,
        }

    def set_producer_id(self, producer_id: int, producer_epoch: int) -> None:
        """A new id from InitProducerId: every partition starts again at sequence 0."""
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.state = ProducerIdState.READY
        self.reset_pending = False
        self._next_sequence.clear()
        self._last_acked_sequence.clear()

    def request_reset(self) -> None:
        """The sequence chain broke: get a new producer id once nothing is in flight."""
        self.reset_pending = True

    def begin_reset(self) -> None:
        """Nothing is in flight any more: the next step is a new InitProducerId."""
        self.state = ProducerIdState.NEEDS_ID

    def stamp(self, batch: ProducerBatch) -> None:
        """Give a batch about to be sent its producer id, epoch and base sequence.

        A batch that already has a sequence from this producer id keeps it (a retry); one
        stamped under an older id is renumbered, since the new id starts from 0.
        """
        if (
            batch.has_sequence
            and batch.producer_id == self.producer_id
            and batch.producer_epoch == self.producer_epoch
        ):
            return
        tp = batch.topic_partition
        sequence = self._next_sequence.get(tp, 0)
        batch.set_producer_state(
            self.producer_id, self.producer_epoch, sequence, self.transactional
        )
        self._next_sequence[tp] = (sequence + batch.record_count) & _MAX_SEQUENCE

    def stamp_split(self, batch: ProducerBatch, parts: list[tuple[int, ProducerBatch]]) -> None:
        """The parts of a split batch take over its sequence range, each from the sequence
        of its first record: the broker wrote none of it, so the chain stays whole."""
        for start, part in parts:
            part.set_producer_state(
                batch.producer_id,
                batch.producer_epoch,
                (batch.base_sequence + start) & _MAX_SEQUENCE,
                batch.is_transactional,
            )

    def is_next_in_line(self, batch: ProducerBatch) -> bool:
        """True if every batch before ``batch`` on its partition is acknowledged."""
        last = self._last_acked_sequence.get(batch.topic_partition, -1)
        return batch.base_sequence == ((last + 1) & _MAX_SEQUENCE)

    def on_acked(self, batch: ProducerBatch) -> None:
        if batch.producer_id != self.producer_id or not batch.has_sequence:
            return
        last = (batch.base_sequence + batch.record_count - 1) & _MAX_SEQUENCE
        tp = batch.topic_partition
        previous = self._last_acked_sequence.get(tp, -1)
        if previous < 0 or last > previous or previous - last > _MAX_SEQUENCE // 2:
            self._last_acked_sequence[tp] = last
