"""The limits on a room (docs/chat.md, "Limits"): slow is a matter of time, a flooder is slowed on its own.

In-process (httpx-ws, the kit's WebSocketConnector) and over a live uvicorn server with the
`websockets` client. Timings are scaled down here; the `slow` tests run on the real defaults.
"""

import asyncio
import time
from contextlib import AsyncExitStack, closing
from types import SimpleNamespace

import anyio
import pytest
from httpx_ws import WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect

from chat import throttle
from chat.app import create_app
from fastapi_testkit import LifespanClient, eventually, lifespan_client, live_server
from fastapi_testkit.websocket import WebSocketConnector, WebSocketSession

from .helpers import (
    DEFAULT_LIMITS,
    make_settings,
    open_unread_socket,
    receive,
    room_sizes,
    rooms,
    served_stack,
    stall_sends,
)

pytestmark = pytest.mark.websocket

# More members than a cap of 100 unsent messages would allow: each speaking once puts this many
# messages in every queue before any writer runs, which such a cap answers by closing the whole
# room with 1008.
BURST_MEMBERS = 120


async def room_is(client: LifespanClient, expected: dict[str, int]) -> None:
    async def check() -> bool:
        assert await rooms(client) == expected
        return True

    await eventually(check)


# 120 members' handshakes and 14,400 deliveries in one process: seconds alone, minutes on a
# machine whose cores are busy. A hang guard, not a budget (each receive has its own deadline).
@pytest.mark.timeout(180)
async def test_a_room_survives_everyone_speaking_at_once(redis_url: str | None, mongo_url: str | None) -> None:
    app = create_app(make_settings(redis_url, mongo_url, **DEFAULT_LIMITS))
    async with lifespan_client(app) as client, AsyncExitStack() as stack:
        ws = WebSocketConnector(app, state=client.state, receive_timeout=20)
        members = [await stack.enter_async_context(ws.connect("/ws/chat/lobby")) for _ in range(BURST_MEMBERS)]
        await asyncio.gather(*(member.send_text(f"from {i}") for i, member in enumerate(members)))

        async def receive_all(member: WebSocketSession) -> set[str]:
            return {await member.receive_text() for _ in members}

        received = await asyncio.gather(*(receive_all(member) for member in members))
        expected = {f"Room lobby: from {i}" for i in range(BURST_MEMBERS)}
        assert all(got == expected for got in received)
        assert await rooms(client) == {"lobby": BURST_MEMBERS}  # nobody was closed


async def test_a_sender_over_its_rate_is_slowed_down_not_closed(redis_url: str | None, mongo_url: str | None) -> None:
    """5 at once, then 50 a second: 30 messages take at least half a second, and all arrive."""
    app = create_app(make_settings(redis_url, mongo_url, send_rate=50.0, send_burst=5))
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(app, state=client.state)
        async with ws.connect("/ws/chat/lobby") as flooder, ws.connect("/ws/chat/lobby") as reader:
            started = time.monotonic()
            for i in range(30):
                await flooder.send_text(f"f{i}")
            assert [await reader.receive_text() for _ in range(30)] == [f"Room lobby: f{i}" for i in range(30)]
            elapsed = time.monotonic() - started
            assert 25 / 50 * 0.9 <= elapsed < 5, elapsed
            assert [await flooder.receive_text() for _ in range(30)] == [f"Room lobby: f{i}" for i in range(30)]
            assert await rooms(client) == {"lobby": 2}


class ShiftedClock:
    """`time.monotonic`, moved forward by `shift` seconds: the throttle's clock, made to idle."""

    def __init__(self) -> None:
        self.shift = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.shift


async def test_after_a_long_idle_a_sender_gets_only_its_burst_at_once(
    redis_url: str | None, mongo_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day idle saves up `send_burst` messages, not a day x `send_rate`: after 3 of 10 the
    flooder's reader waits for a token. The throttle's clock is moved a day on, and its waits
    are held until the test ends: the first one begun, the reader sends a marker, which the
    room delivers right after the 3."""
    clock, waits, released = ShiftedClock(), list[float](), anyio.Event()

    async def sleep(seconds: float) -> None:  # a wait for a token, held until the test is done
        waits.append(seconds)
        await released.wait()

    monkeypatch.setattr(throttle, "time", clock)
    monkeypatch.setattr(throttle, "anyio", SimpleNamespace(sleep=sleep))
    app = create_app(make_settings(redis_url, mongo_url, send_rate=0.01, send_burst=3))
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(app, state=client.state)
        async with ws.connect("/ws/chat/lobby") as flooder, ws.connect("/ws/chat/lobby") as reader:
            await flooder.send_text("hello")
            assert await reader.receive_text() == "Room lobby: hello"
            clock.shift = 24 * 3600.0
            for i in range(10):
                await flooder.send_text(f"f{i}")

            async def throttled() -> bool:
                return len(waits) == 1

            await eventually(throttled, message="the flooder was never made to wait")
            await reader.send_text("marker")
            received = [await reader.receive_text() for _ in range(4)]
            released.set()

    assert received == ["Room lobby: f0", "Room lobby: f1", "Room lobby: f2", "Room lobby: marker"]


async def test_a_member_that_never_reads_is_closed_within_the_send_timeout(
    redis_url: str | None, mongo_url: str | None
) -> None:
    """One message it does not take is enough: slow is a send that does not complete in time."""
    app = create_app(make_settings(redis_url, mongo_url, send_timeout=0.3))
    reading = anyio.Event()
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(stall_sends(app, reading), state=client.state)
        async with ws.connect("/ws/chat/lobby?stall") as stalled, ws.connect("/ws/chat/lobby") as sender:
            await sender.send_text("one")
            started = time.monotonic()
            assert await sender.receive_text() == "Room lobby: one"
            await room_is(client, {"lobby": 1})
            assert 0.3 <= time.monotonic() - started < 3
            with pytest.raises(WebSocketDisconnect) as closed:
                await stalled.receive_text()
            assert (closed.value.code, closed.value.reason) == (1008, "too slow: messages were not read in time")
            await sender.send_text("two")  # the room goes on
            assert await sender.receive_text() == "Room lobby: two"


async def test_unsent_bytes_past_the_cap_close_the_member_at_once(redis_url: str | None, mongo_url: str | None) -> None:
    """The memory cap does not wait for the send timeout: 3 x 4,012 bytes against a 10,000-byte cap.

    Unsent means not yet sent: the message the writer is waiting to send counts too.
    """
    app = create_app(make_settings(redis_url, mongo_url, send_timeout=60, queue_bytes=10_000))
    reading = anyio.Event()
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(stall_sends(app, reading), state=client.state)
        async with ws.connect("/ws/chat/lobby?stall") as stalled, ws.connect("/ws/chat/lobby") as sender:
            for i in range(3):  # the first is taken by the writer (and waits); the second fits; the third does not
                await sender.send_text(f"{i}" * 4000)
                assert await sender.receive_text() == f"Room lobby: {f'{i}' * 4000}"
            await room_is(client, {"lobby": 1})
            with pytest.raises(WebSocketDisconnect) as closed:
                await stalled.receive_text(timeout=3)
            assert closed.value.code == 1008


async def test_under_the_byte_cap_a_stalled_member_stays(redis_url: str | None, mongo_url: str | None) -> None:
    """The other side of the edge above: 2 x 4,012 bytes fit in 10,000."""
    app = create_app(make_settings(redis_url, mongo_url, send_timeout=60, queue_bytes=10_000))
    reading = anyio.Event()
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(stall_sends(app, reading), state=client.state)
        async with ws.connect("/ws/chat/lobby?stall") as stalled, ws.connect("/ws/chat/lobby") as sender:
            for i in range(2):
                await sender.send_text(f"{i}" * 4000)
                assert await sender.receive_text() == f"Room lobby: {f'{i}' * 4000}"
            assert await rooms(client) == {"lobby": 2}
            reading.set()
            assert [await stalled.receive_text() for _ in range(2)] == [
                f"Room lobby: {f'{i}' * 4000}" for i in range(2)
            ]


# --- over a live server -------------------------------------------------------------------------


async def read_on(member: ClientConnection, received: list[str]) -> None:
    async for message in member:
        assert isinstance(message, str)
        received.append(message)


@pytest.mark.slow
@pytest.mark.timeout(300)  # 300 handshakes and 90,000 deliveries over real sockets, on a busy machine too
async def test_a_room_of_300_real_clients_survives_everyone_speaking_at_once(
    redis_url: str | None, mongo_url: str | None
) -> None:
    """A room's burst, on the defaults: 300 members each send one message at the same moment."""
    members_count = 300
    app = create_app(make_settings(redis_url, mongo_url, **DEFAULT_LIMITS))
    async with live_server(app, **served_stack()) as server, AsyncExitStack() as stack:
        url = f"{server.ws_url}/ws/chat/lobby"
        members = [await stack.enter_async_context(connect(url)) for _ in range(members_count)]
        await asyncio.gather(*(member.send(f"from {i}") for i, member in enumerate(members)))

        async def receive_all(member: ClientConnection) -> set[str]:
            return {await receive(member, timeout=60) for _ in members}

        received = await asyncio.gather(*(receive_all(member) for member in members))
        assert all(got == {f"Room lobby: from {i}" for i in range(members_count)} for got in received)
        assert await room_sizes(server.url) == {"lobby": members_count}  # nobody was closed


async def test_a_flooder_is_throttled_while_a_reader_keeps_receiving(
    redis_url: str | None, mongo_url: str | None
) -> None:
    """10,000 messages as fast as the client can: a member that reads keeps receiving them, and
    never more than the burst plus the rate times the time since the flood began (a token
    bucket's bound, however slowly this machine runs), so 110 of them take at least 2 s.
    (The flooder's own sends wait once the kernel's buffers are full: tens of MB on loopback, so
    this test does not count on where that happens.)"""
    rate, burst, enough = 50.0, 10, 110
    app = create_app(make_settings(redis_url, mongo_url, send_rate=rate, send_burst=burst))
    async with live_server(app, **served_stack()) as server:
        url = f"{server.ws_url}/ws/chat/lobby"
        # close_timeout: the flooder's close frame waits behind everything it sent; do not wait for it.
        async with connect(url, close_timeout=0.2) as flooder, connect(url) as reader:
            received: list[str] = []

            async def flood() -> None:
                for i in range(10_000):
                    await flooder.send(f"{i:05d} " + "x" * 1000)

            async def reader_got_enough() -> bool:
                return len(received) >= enough

            async with asyncio.TaskGroup() as tasks:
                started = time.monotonic()
                flooding = tasks.create_task(flood())
                reading = tasks.create_task(read_on(reader, received))
                draining = tasks.create_task(read_on(flooder, []))
                await eventually(reader_got_enough, timeout=60, message="the reader stopped receiving")
                elapsed, count = time.monotonic() - started, len(received)
                assert await room_sizes(server.url) == {"lobby": 2}  # nobody was dropped
                for task in (flooding, reading, draining):
                    task.cancel()
            assert count <= burst + rate * elapsed, (count, elapsed)
            assert elapsed >= (enough - burst) / rate, (count, elapsed)
            assert received[:count] == [f"Room lobby: {i:05d} " + "x" * 1000 for i in range(count)]


async def test_a_real_client_that_stops_reading_is_dropped_in_time(
    redis_url: str | None, mongo_url: str | None
) -> None:
    await stop_reading_and_get_dropped(redis_url, mongo_url, send_timeout=0.5)


@pytest.mark.slow
async def test_a_real_client_that_stops_reading_is_dropped_on_the_defaults(
    redis_url: str | None, mongo_url: str | None
) -> None:
    # The rate is raised: one sender at 10 a second would take minutes to fill the socket buffers
    # (in a room, many senders fill them together).
    limits = DEFAULT_LIMITS | {"send_rate": 10_000.0, "send_burst": 10_000}
    await stop_reading_and_get_dropped(redis_url, mongo_url, **limits)


async def stop_reading_and_get_dropped(redis_url: str | None, mongo_url: str | None, **limits: float) -> None:
    """Real backpressure: once the socket buffers are full, a send to the reader waits, and after
    `send_timeout` the member is dropped; the sender meanwhile receives every message at once."""
    settings = make_settings(redis_url, mongo_url, **limits)
    async with live_server(create_app(settings), **served_stack()) as server:
        with closing(await open_unread_socket(server.port, "/ws/chat/lobby")):
            async with connect(f"{server.ws_url}/ws/chat/lobby") as sender:
                # A few MB fill the buffers on loopback (under the byte cap, so time decides).
                for i in range(1000):
                    await sender.send(f"{i:05d} " + "x" * 4000)
                    assert (await receive(sender)).startswith(f"Room lobby: {i:05d} ")
                filled = time.monotonic()

                async def dropped() -> bool:
                    assert await room_sizes(server.url) == {"lobby": 1}
                    return True

                await eventually(dropped, timeout=settings.send_timeout + 5)
                assert time.monotonic() - filled < settings.send_timeout + 2
                await sender.send("after the drop")
                assert await receive(sender) == "Room lobby: after the drop"


def text_frame_header(length: int, mask: bytes) -> bytes:
    """A client's text frame header announcing `length` bytes (RFC 6455: FIN, opcode 1, masked)."""
    return bytes([0x81, 0x80 | 127]) + length.to_bytes(8, "big") + mask


async def test_uvicorn_refuses_a_frame_past_ws_max_size_before_reading_it(
    redis_url: str | None, mongo_url: str | None
) -> None:
    """With `ws_max_size` (CHAT_WS_MAX_BYTES, serving.py), a frame announcing 10 MiB is closed with
    1009 at its header. uvicorn's default (16 MiB) would read all of it first, and only then would
    the app refuse it for being over 4096 bytes."""
    settings = make_settings(redis_url, mongo_url)
    async with live_server(create_app(settings), **served_stack()) as server:
        async with connect(f"{server.ws_url}/ws/chat/lobby") as member:  # the largest message passes
            await member.send("x" * settings.max_message_bytes)
            assert await receive(member) == f"Room lobby: {'x' * settings.max_message_bytes}"
        loop = asyncio.get_running_loop()
        with closing(await open_unread_socket(server.port, "/ws/chat/lobby")) as sock:
            await loop.sock_sendall(sock, text_frame_header(10 * 1024 * 1024, b"abcd") + b"\0" * 8192)
            async with asyncio.timeout(3):
                answer = await loop.sock_recv(sock, 64)
        assert answer[0] == 0x88, answer  # a close frame
        assert int.from_bytes(answer[2:4], "big") == 1009, answer
        assert await room_sizes(server.url) == {}
