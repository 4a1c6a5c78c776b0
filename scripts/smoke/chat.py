"""A chat room with two clients, and the notification socket, through the gateway's WebSocket proxy."""

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from scripts.smoke.runner import Steps, Target, expect


async def flow(target: Target, steps: Steps) -> None:
    room = f"smoke-{target.run_id}"
    async with steps("a room with two clients: each message reaches both"):
        url = f"{target.ws_url}/chat/ws/chat/{room}"
        async with connect(url) as alice, connect(url) as bob:
            for sender, text in ((alice, "hello from alice"), (bob, "hello from bob")):
                await sender.send(text)
                for member in (alice, bob):
                    assert await _text(member) == f"Room {room}: {text}"
    async with steps("notification socket refused without a token"):
        assert await _handshake_status(f"{target.ws_url}/chat/ws/notifications") == 401
    inbox_url = f"{target.ws_url}/chat/ws/notifications?token={target.token}"
    async with steps("notification socket: ping, and a pushed notification arrives"), connect(inbox_url) as inbox:
        await inbox.send("ping")
        assert await _text(inbox) == "pong"  # the socket is registered by now
        message = f"smoke {target.run_id}"
        pushed = await target.http.post(
            "/chat/api/notifications", json={"user_id": target.user, "message": message}, headers=target.bearer()
        )
        expect(pushed, 202)
        assert pushed.json()["reached"] >= 1, pushed.json()
        assert await _text(inbox) == message


async def _text(socket: ClientConnection) -> str:
    message = await socket.recv()
    assert isinstance(message, str), f"a binary frame: {message!r}"
    return message


async def _handshake_status(url: str) -> int:
    """The HTTP status refusing a WebSocket handshake: the denial response chat sends (401 for a
    missing token), relayed as it is by the gateway."""
    try:
        async with connect(url):
            pass
    except InvalidStatus as refused:
        return refused.response.status_code
    raise AssertionError(f"the handshake to {url} was accepted")
