"""Rooms, asynchronously: several clients at once, with httpx-ws in the test's event loop.

The pattern in its smallest form (one client per connection, a deadline on every receive, no
test kit): examples/websocket_chat/ at the repository root.
"""

import asyncio
from contextlib import AsyncExitStack

import pytest

from fastapi_testkit import LifespanClient, eventually
from fastapi_testkit.websocket import WebSocketConnector, WebSocketSession

from .helpers import rooms

pytestmark = pytest.mark.websocket


async def test_every_member_receives_every_message_in_order(ws: WebSocketConnector) -> None:
    async with AsyncExitStack() as stack:
        members = [await stack.enter_async_context(ws.connect("/ws/chat/lobby")) for _ in range(4)]
        # Senders take turns. Each message is received by every member, the sender included,
        # before the next is sent: messages from different connections sent at the same time
        # have no order between them (see the next test).
        for i in range(12):
            await members[i % 4].send_text(f"message {i}")
            for member in members:
                assert await member.receive_text() == f"Room lobby: message {i}"
        # And nothing more: no duplicates trailing behind.
        for member in members:
            with pytest.raises(TimeoutError):
                await member.receive_text(timeout=0.1)


async def test_concurrent_senders_are_seen_in_the_same_order_by_everyone(ws: WebSocketConnector) -> None:
    async with AsyncExitStack() as stack:
        members = [await stack.enter_async_context(ws.connect("/ws/chat/lobby")) for _ in range(3)]

        async def send_five(index: int, member: WebSocketSession) -> None:
            for n in range(5):
                await member.send_text(f"{index}.{n}")

        await asyncio.gather(*(send_five(i, m) for i, m in enumerate(members)))
        received = [[await member.receive_text() for _ in range(15)] for member in members]

    # Whatever order the server saw them in, everyone sees the same one.
    assert received[0] == received[1] == received[2]
    assert sorted(received[0]) == sorted(f"Room lobby: {i}.{n}" for i in range(3) for n in range(5))
    for i in range(3):  # each sender's own messages keep their order
        assert [text for text in received[0] if text.startswith(f"Room lobby: {i}.")] == [
            f"Room lobby: {i}.{n}" for n in range(5)
        ]


async def test_another_room_receives_nothing(ws: WebSocketConnector) -> None:
    async with ws.connect("/ws/chat/red") as red, ws.connect("/ws/chat/blue") as blue:
        await red.send_text("for red only")
        assert await red.receive_text() == "Room red: for red only"
        # Then a message blue must get: if red's had leaked to blue, it would come first.
        await blue.send_text("for blue")
        assert await blue.receive_text() == "Room blue: for blue"
        with pytest.raises(TimeoutError):
            await blue.receive_text(timeout=0.2)


async def test_concurrent_handshakes_each_reach_their_own_room(ws: WebSocketConnector) -> None:
    """Concurrent handshakes on one httpx-ws client reach the wrong path (9 of 10, measured).

    The kit's connector gives every connection a client of its own, so ten handshakes at once
    each land in the room they asked for. Each session lives in one task from open to close:
    httpx-ws's task group must be exited in the task that entered it.
    """
    everyone_connected = asyncio.Barrier(10)

    async def visit(i: int) -> str:
        async with ws.connect(f"/ws/chat/room-{i}") as session:
            async with asyncio.timeout(5):
                await everyone_connected.wait()  # so the handshakes really overlapped
            await session.send_text("where am I?")
            return await session.receive_text()

    assert await asyncio.gather(*(visit(i) for i in range(10))) == [f"Room room-{i}: where am I?" for i in range(10)]


async def test_members_are_counted_and_the_room_is_gone_when_empty(
    ws: WebSocketConnector, client: LifespanClient
) -> None:
    async with ws.connect("/ws/chat/lobby"), ws.connect("/ws/chat/lobby"), ws.connect("/ws/chat/hall"):
        assert await rooms(client) == {"hall": 1, "lobby": 2}

    # The server sees the disconnects after the clients have gone: wait for it, with a deadline.
    async def empty() -> bool:
        assert await rooms(client) == {}
        return True

    await eventually(empty)


async def test_a_member_that_leaves_no_longer_receives_and_can_come_back(ws: WebSocketConnector) -> None:
    async with ws.connect("/ws/chat/lobby") as stays:
        async with ws.connect("/ws/chat/lobby") as leaves:
            await leaves.send_text("bye")
            assert await leaves.receive_text() == "Room lobby: bye"
        assert await stays.receive_text() == "Room lobby: bye"
        await stays.send_text("anyone?")
        assert await stays.receive_text() == "Room lobby: anyone?"
        async with ws.connect("/ws/chat/lobby") as back:
            await back.send_text("back again")
            assert await back.receive_text() == "Room lobby: back again"
            assert await stays.receive_text() == "Room lobby: back again"
