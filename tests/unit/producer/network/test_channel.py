"""KafkaChannel over socketpairs: partial writes and reads are the normal case."""

from __future__ import annotations

import random
import socket
import struct
from collections.abc import Iterator

import pytest

from producer.errors import ProtocolError
from producer.network.channel import KafkaChannel


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def drain(sock: socket.socket) -> bytes:
    out = bytearray()
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return bytes(out)
        if not chunk:
            return bytes(out)
        out += chunk


def test_write_sends_size_prefixed_frames_and_reports_tokens_in_order(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    channel = KafkaChannel(1, a)
    channel.enqueue(b"first", "t1")
    channel.enqueue(b"", "t2")
    channel.enqueue(b"third!", "t3")
    completed: list[object] = []

    written = channel.write(completed)

    assert completed == ["t1", "t2", "t3"]
    assert written == 4 * 3 + 5 + 0 + 6
    assert not channel.has_pending_send
    assert drain(b) == frame(b"first") + frame(b"") + frame(b"third!")


def test_partial_writes_resume_where_the_kernel_stopped(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    channel = KafkaChannel(1, a)
    big = bytes(range(256)) * 8192  # 2 MiB: far more than the socket buffers hold
    channel.enqueue(big, "big")
    channel.enqueue(b"small", "small")
    completed: list[object] = []
    received = bytearray()

    first = channel.write(completed)
    assert 0 < first < len(big)
    assert completed == []
    assert channel.has_pending_send
    rounds = 0
    while channel.has_pending_send:
        received += drain(b)
        channel.write(completed)
        rounds += 1
    received += drain(b)

    assert rounds > 1
    assert completed == ["big", "small"]
    assert bytes(received) == frame(big) + frame(b"small")
    assert channel.pending_send_bytes == 0


def test_token_reported_only_when_the_last_byte_of_its_frame_is_written(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    channel = KafkaChannel(1, a)
    channel.enqueue(b"x" * 300_000, "t")
    completed: list[object] = []
    channel.write(completed)
    assert completed == []
    assert channel.pending_send_bytes > 0
    while channel.has_pending_send:
        drain(b)
        channel.write(completed)
    assert completed == ["t"]


def test_write_on_a_broken_connection_raises_oserror(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    b.close()
    channel = KafkaChannel(1, a)
    channel.enqueue(b"hello", "t")
    with pytest.raises(OSError):
        for _ in range(3):
            channel.write([])


def test_read_yields_whole_frames_when_fed_one_byte_at_a_time(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    channel = KafkaChannel(7, a, receive_buffer_bytes=64)
    payloads = [b"", b"a", b"hello world", bytes(200), b"z" * 63]
    stream = b"".join(frame(p) for p in payloads)
    frames: list[tuple[int, bytes]] = []
    for i in range(len(stream)):
        b.send(stream[i : i + 1])
        assert channel.read(frames)
    assert frames == [(7, p) for p in payloads]


def test_read_handles_many_frames_per_recv_and_frames_across_buffer_ends(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    rng = random.Random(1234)
    channel = KafkaChannel(3, a, receive_buffer_bytes=1024)
    payloads = [
        rng.randbytes(rng.choice([0, 1, 7, 100, 500, 1019, 1020, 1021, 5000])) for _ in range(300)
    ]
    stream = b"".join(frame(p) for p in payloads)
    frames: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(stream):
        n = rng.randint(1, 3000)
        b.sendall(stream[pos : pos + n])
        pos += n
        while channel.read(frames) and len(drain_peek(a)) > 0:
            pass
    assert [p for _, p in frames] == payloads


def drain_peek(sock: socket.socket) -> bytes:
    try:
        return sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return b""


def test_frame_larger_than_the_buffer_is_received_into_its_own_buffer(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    channel = KafkaChannel(1, a, receive_buffer_bytes=128)
    big = random.Random(5).randbytes(100_000)
    b.setblocking(True)
    stream = frame(b"before") + frame(big) + frame(b"after")
    frames: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(stream):
        pos += b.send(stream[pos : pos + 8192])
        channel.read(frames)
    while len(frames) < 3 and drain_peek(a):
        channel.read(frames)
    assert [p for _, p in frames] == [b"before", big, b"after"]


@pytest.mark.parametrize("size", [-1, 2**31 - 1])
def test_impossible_frame_size_is_a_protocol_error(
    pair: tuple[socket.socket, socket.socket], size: int
) -> None:
    a, b = pair
    channel = KafkaChannel(1, a, max_receive_size_bytes=1 << 20)
    b.send(struct.pack(">i", size) + b"xxxx")
    with pytest.raises(ProtocolError, match="impossible size"):
        channel.read([])


def test_read_reports_eof_after_delivering_complete_frames(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    channel = KafkaChannel(1, a)
    b.send(frame(b"last words") + b"\x00\x00")  # a whole frame, then half a size prefix
    b.close()
    frames: list[tuple[int, bytes]] = []
    open_ = channel.read(frames)
    while open_:
        open_ = channel.read(frames)
    assert frames == [(1, b"last words")]
    assert open_ is False


def test_read_without_data_keeps_the_connection_open(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, _ = pair
    channel = KafkaChannel(1, a)
    frames: list[tuple[int, bytes]] = []
    assert channel.read(frames) is True
    assert frames == []
