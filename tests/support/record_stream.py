"""A stream of keyed records sent from a thread of its own, so that a test can move
leaders or cut connections while the producer is busy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from producer import Producer, RecordFuture


class RecordStream:
    """Sends ``total`` records (``value_for(i)``, keys in turn) on a thread, sleeping
    10 ms after every ``pause_every`` records to spread them over the test's faults."""

    def __init__(
        self,
        producer: Producer,
        topic: str,
        total: int,
        keys: Sequence[bytes],
        value_for: Callable[[int], bytes],
        pause_every: int,
    ) -> None:
        self.futures: list[RecordFuture] = []
        self.errors: list[BaseException] = []
        self._args = (producer, topic, total, keys, value_for, pause_every)
        self._thread = threading.Thread(target=self._run, name="stream")

    def start(self) -> RecordStream:
        self._thread.start()
        return self

    def join(self, timeout_s: float) -> None:
        """Wait for the last send() and fail the test if the stream did not end cleanly."""
        self._thread.join(timeout=timeout_s)
        assert not self._thread.is_alive() and not self.errors, self.errors

    def _run(self) -> None:
        producer, topic, total, keys, value_for, pause_every = self._args
        try:
            for i in range(total):
                self.futures.append(
                    producer.send(topic, value=value_for(i), key=keys[i % len(keys)])
                )
                if i % pause_every == pause_every - 1:
                    time.sleep(0.01)
        except BaseException as exc:
            self.errors.append(exc)
