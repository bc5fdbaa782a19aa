"""Selector over real loopback sockets: connect, frames both ways, failures, wakeup."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from producer.errors import BrokerConnectionError, DisconnectError, ProtocolError
from producer.network.selector import Selector
from regcast.local_broker import free_port


@pytest.fixture
def selector() -> Iterator[Selector]:
    sel = Selector()
    yield sel
    sel.close_all()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(5)
    yield sock
    sock.close()


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def poll_until(selector: Selector, condition: object, rounds: int = 200) -> None:
    for _ in range(rounds):
        selector.poll(20)
        if callable(condition) and condition():
            return
    raise AssertionError("condition not reached")


def connect(selector: Selector, listener: socket.socket, node_id: int = 1) -> socket.socket:
    selector.connect(node_id, "127.0.0.1", listener.getsockname()[1])
    peer, _ = listener.accept()
    seen: list[int] = []
    poll_until(selector, lambda: bool(seen.extend(selector.connected) or seen))
    assert seen == [node_id]
    assert selector.is_connected(node_id)
    return peer


def test_connect_send_and_receive_frames(selector: Selector, listener: socket.socket) -> None:
    peer = connect(selector, listener)
    selector.send(1, b"request-1", "r1")
    selector.send(1, b"request-2", "r2")
    sends: list[object] = []
    poll_until(selector, lambda: bool(sends.extend(selector.completed_sends) or len(sends) == 2))
    assert sends == ["r1", "r2"]
    peer.settimeout(5)
    expected = frame(b"request-1") + frame(b"request-2")
    got = b""
    while len(got) < len(expected):
        got += peer.recv(4096)
    assert got == expected

    peer.sendall(frame(b"response-1") + frame(b"response-2"))
    receives: list[tuple[int, bytes]] = []
    poll_until(
        selector,
        lambda: bool(receives.extend(selector.completed_receives) or len(receives) == 2),
    )
    assert receives == [(1, b"response-1"), (1, b"response-2")]
    peer.close()


def test_peer_close_is_reported_as_disconnect(selector: Selector, listener: socket.socket) -> None:
    peer = connect(selector, listener)
    peer.close()
    failures: list[tuple[int, Exception]] = []
    poll_until(selector, lambda: bool(failures.extend(selector.disconnected) or failures))
    assert failures[0][0] == 1
    assert isinstance(failures[0][1], DisconnectError)
    assert not selector.has_channel(1)


def test_connection_refused_is_a_broker_connection_error(selector: Selector) -> None:
    port = free_port()  # nothing listens there
    selector.connect(5, "127.0.0.1", port)
    failures: list[tuple[int, Exception]] = []
    poll_until(selector, lambda: bool(failures.extend(selector.disconnected) or failures))
    node_id, error = failures[0]
    assert node_id == 5
    assert isinstance(error, BrokerConnectionError)
    assert f"127.0.0.1:{port}" in str(error)
    assert not selector.has_channel(5)


def test_unresolvable_host_is_a_broker_connection_error(selector: Selector) -> None:
    selector.connect(2, "no-such-host.invalid", 9092)
    selector.poll(0)
    assert [n for n, _ in selector.disconnected] == [2]
    assert isinstance(selector.disconnected[0][1], BrokerConnectionError)


def test_garbage_frame_size_closes_with_protocol_error(
    selector: Selector, listener: socket.socket
) -> None:
    peer = connect(selector, listener)
    peer.sendall(b"\xff\xff\xff\xfe garbage")
    failures: list[tuple[int, Exception]] = []
    poll_until(selector, lambda: bool(failures.extend(selector.disconnected) or failures))
    assert isinstance(failures[0][1], ProtocolError)
    peer.close()


def test_close_forgets_the_node_silently(selector: Selector, listener: socket.socket) -> None:
    peer = connect(selector, listener)
    selector.send(1, b"never mind", "t")
    selector.close(1)
    selector.poll(0)
    assert selector.disconnected == []
    assert selector.completed_sends == []
    assert not selector.has_channel(1)
    peer.close()


def test_wakeup_from_another_thread_interrupts_a_long_poll(selector: Selector) -> None:
    timer = threading.Timer(0.1, selector.wakeup)
    started = time.monotonic()
    timer.start()
    selector.poll(60_000)
    elapsed = time.monotonic() - started
    timer.join()
    assert elapsed < 30  # returned because of the wakeup, not the 60 s timeout


def test_wakeup_before_poll_makes_the_next_poll_return(selector: Selector) -> None:
    for _ in range(10_000):  # more than the socketpair buffer holds: must not block or fail
        selector.wakeup()
    started = time.monotonic()
    selector.poll(60_000)
    assert time.monotonic() - started < 30


def test_large_send_completes_over_several_polls(
    selector: Selector, listener: socket.socket
) -> None:
    peer = connect(selector, listener)
    payload = b"p" * (8 * 1024 * 1024)
    selector.send(1, payload, "big")
    got = bytearray()
    peer.setblocking(False)
    sends: list[object] = []
    for _ in range(10_000):
        selector.poll(5)
        sends.extend(selector.completed_sends)
        try:
            while chunk := peer.recv(1 << 20):
                got += chunk
        except BlockingIOError:
            pass
        if sends and len(got) == len(payload) + 4:
            break
    assert sends == ["big"]
    assert bytes(got) == frame(payload)
    peer.close()
