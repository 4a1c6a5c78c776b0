"""Every HTTP operation in the OpenAPI, fuzzed in-process with the lifespan running (schemathesis):
valid and invalid inputs, no 5xx, every response as the document says. The WebSocket routes are not
in the document: hypothesis sends them any room id and any frames (below), and
tests/test_bad_input.py tries each refusal as a hostile client would."""

import re
import string
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from httpx_ws import WebSocketDisconnect
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chat.app import create_app
from chat.schemas import ROOM_ID_PATTERN
from fastapi_testkit.fuzz import fuzz_settings, openapi_schema
from fastapi_testkit.websocket import WebSocketConnector, WebSocketSession

from .helpers import bearer, token

schema = openapi_schema(create_app().openapi())


@schema.parametrize()
@fuzz_settings
def test_no_input_breaks_the_api_or_its_document(case: schemathesis.Case[Any], fuzz_app: FastAPI) -> None:
    case.call_and_validate(headers=bearer())


# --- WebSocket frames: what schemathesis cannot reach -------------------------------------------
# Any room id and any sequence of frames: every good text comes back broadcast, and the first bad
# frame gets its own close code (docs/chat.md); never 1011 (a bug), never a hang (each receive has a
# deadline). Run in-process with the kit's WebSocketConnector, sharing the `client`'s lifespan.

MAX_BYTES = 4096
Frame = tuple[str, str | bytes]
texts = st.text(max_size=40) | st.text(alphabet="xé€😀", min_size=1020, max_size=4200)  # around 4096 bytes
frames = st.tuples(st.just("text"), texts) | st.tuples(st.just("bytes"), st.binary(max_size=40))
ws_settings = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def close_for(frame: Frame, *, notifications: bool) -> int | None:
    """The close code a frame must get, or None when it must be answered."""
    kind, payload = frame
    if kind == "bytes":
        return 1003
    assert isinstance(payload, str)
    if len(payload.encode()) > MAX_BYTES:
        return 1009
    return 1008 if notifications and payload != "ping" else None


async def play(
    session: WebSocketSession, frames: list[Frame], answer: Callable[[str], str], notifications: bool
) -> None:
    for frame in frames:
        _, payload = frame
        if isinstance(payload, str):
            await session.send_text(payload)
        else:
            await session.send_bytes(payload)
        code = close_for(frame, notifications=notifications)
        if code is None:
            assert await session.receive_text() == answer(str(payload))
            continue
        with pytest.raises(WebSocketDisconnect) as closed:
            await session.receive_text()
        assert closed.value.code == code, closed.value.reason
        return


# Room ids of the characters a path segment may hold as they are (RFC 3986 pchar): httpx-ws puts
# the decoded path in its request line, where h11 refuses anything else. Ids that need encoding
# are tried with TestClient (test_bad_input.py).
PCHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"


@given(room_id=st.text(alphabet=PCHARS, min_size=1, max_size=70), frames=st.lists(frames, max_size=5))
@example(room_id=".", frames=[]).via("a dot segment")
@example(room_id="..", frames=[]).via("a dot segment")
@example(room_id="a" * 65, frames=[]).via("one too long")
@example(room_id="lobby", frames=[("text", "x" * 4096), ("text", "é" * 2049)]).via("the size edge")
@ws_settings
async def test_any_room_id_and_frames_get_a_clear_answer(
    ws: WebSocketConnector, room_id: str, frames: list[Frame]
) -> None:
    if not re.fullmatch(ROOM_ID_PATTERN, room_id):
        with pytest.raises(WebSocketDisconnect) as refused:
            async with ws.connect(f"/ws/chat/{room_id}"):
                pass  # pragma: no cover (closed before accept)
        # "." and ".." are dot segments: the client removes them (RFC 3986), so the path names no
        # room and no route; Starlette closes such a socket before accept with 1000.
        assert refused.value.code == (1000 if room_id in {".", ".."} else 1008), refused.value.reason
        return
    async with ws.connect(f"/ws/chat/{room_id}") as session:
        await play(session, frames, lambda text: f"Room {room_id}: {text}", notifications=False)


@given(frames=st.lists(frames | st.just(("text", "ping")), max_size=5))
@ws_settings
async def test_any_frames_on_a_notification_socket_get_a_clear_answer(
    ws: WebSocketConnector, frames: list[Frame]
) -> None:
    async with ws.connect("/ws/notifications", params={"token": token()}) as session:
        await play(session, frames, lambda text: "pong", notifications=True)
