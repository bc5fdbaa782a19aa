"""The CLI's side of the producer: build one, count what it delivers, wait for it to finish.

``regcast produce`` and ``regcast demo`` send through :class:`producer.Producer` with a
serdes serializer plugged in as its ``value_serializer``: the serializer runs inside
``send()`` on the caller's thread, the producer batches, and delivery callbacks run on
its sender thread. :class:`DeliveryStats` is the one object both threads touch (one
lock), so the final summary counts every record exactly once: delivered or failed.

Each ``send()`` passes :meth:`DeliveryStats.record` as its ``on_delivery`` callback: one
bound method for every record (no closure or future callback per record), told the
serialized value size by the record's metadata. The caller reads the size of what it
just sent from the returned future's ``value_size``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DeliveryStats",
    "broker_reachable",
    "open_producer",
]


@dataclass
class DeliveryStats:
    """Counts shared by the sending thread and the producer's callback thread.

    ``rejected`` records never reached the producer (bad JSON, a value that does not fit
    the schema); ``failed`` ones did and were not delivered (broker errors, timeouts).
    """

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    rejected: int = 0
    bytes_delivered: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # message -> count
    started_s: float = field(default_factory=time.monotonic)
    finished_s: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _note(self, text: str) -> None:
        self.errors[text] = self.errors.get(text, 0) + 1

    def record(self, error: BaseException | None, metadata: Any) -> None:
        """``send(..., on_delivery=stats.record)``: one record's outcome (producer's thread)."""
        with self._lock:
            if error is None:
                self.delivered += 1
                self.bytes_delivered += max(metadata.serialized_value_size, 0)
            else:
                self.failed += 1
                self._note(f"{type(error).__name__}: {error}")

    def fail(self, error: BaseException) -> None:
        """``send()`` itself failed (e.g. metadata timeout): sent, and not delivered."""
        with self._lock:
            self.sent += 1
            self.failed += 1
            self._note(f"{type(error).__name__}: {error}")

    def reject(self, reason: str) -> None:
        """A record that could not be built from its input; never sent."""
        with self._lock:
            self.rejected += 1
            self._note(reason)

    @property
    def completed(self) -> int:
        """Sent records whose outcome is known; equals ``sent`` once all have completed."""
        with self._lock:
            return self.delivered + self.failed

    def finish(self) -> None:
        self.finished_s = time.monotonic()

    @property
    def elapsed_s(self) -> float:
        end = self.finished_s if self.finished_s is not None else time.monotonic()
        return max(end - self.started_s, 1e-9)

    @property
    def records_per_s(self) -> float:
        return self.delivered / self.elapsed_s

    @property
    def bytes_per_s(self) -> float:
        return self.bytes_delivered / self.elapsed_s


def broker_reachable(bootstrap: str, timeout_s: float = 3.0) -> str | None:
    """None if some bootstrap address accepts TCP; else why none did (fail fast).

    A TCP connect and close, no byte sent: the same check for every security protocol
    (TLS and SASL problems are the producer's to report, with their typed errors).
    """
    problems: list[str] = []
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        if not host or not port.isdigit():
            return f"bad bootstrap address {address!r}: expected host:port"
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
            return None
        except OSError as exc:
            problems.append(f"{address.strip()}: {exc.strerror or exc}")
    return "; ".join(problems)


def open_producer(
    bootstrap: str,
    value_serializer: Callable[[Any, Any], bytes | None],
    *,
    timeout_s: float,
    client_id: str,
    linger_ms: int = 5,
    compression: str = "none",
    security: Mapping[str, Any] | None = None,
) -> Any:
    """A :class:`producer.Producer` for the CLI; blocking calls give up after ``timeout_s``.

    ``security`` holds the producer's security keyword arguments
    (:func:`regcast.commands._kafka.kafka_security`).
    """
    from producer import Producer

    timeout_ms = int(timeout_s * 1000)
    request_timeout_ms = min(timeout_ms, 30_000)
    return Producer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        value_serializer=value_serializer,
        linger_ms=linger_ms,
        compression_type=compression,
        max_block_ms=timeout_ms,
        request_timeout_ms=request_timeout_ms,
        # Kafka requires delivery.timeout.ms >= linger.ms + request.timeout.ms.
        delivery_timeout_ms=max(timeout_ms, linger_ms + request_timeout_ms),
        **(security or {}),
    )
