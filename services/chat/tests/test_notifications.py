"""The authenticated socket: the token checked before accept, ping/pong, pushes to one user.

The article's two tests in their smallest form (the close code 4001 asserted, through
TestClient and httpx-ws, with no test kit): examples/websocket_chat/ at the repository root.
"""

import time

import pytest
from httpx_ws import WebSocketDisconnect

from fastapi_testkit import LifespanClient, create_token, eventually
from fastapi_testkit.websocket import WebSocketConnector

from .helpers import LEEWAY, SECRET, bearer, token

pytestmark = [pytest.mark.websocket, pytest.mark.auth]

BAD_TOKENS = [
    pytest.param({}, id="missing"),
    pytest.param({"token": ""}, id="empty"),
    pytest.param({"token": "invalid"}, id="malformed"),
    pytest.param({"token": token(expires_in=-60)}, id="expired"),
    pytest.param({"token": create_token("alice", "another-secret-that-is-32-bytes-long")}, id="wrong-signature"),
    pytest.param({"token": token(exp=None)}, id="no-expiry"),
    pytest.param({"token": token(sub=None)}, id="no-subject"),
    pytest.param({"token": token("x" * 256)}, id="subject-too-long"),
    pytest.param({"token": create_token("alice", SECRET + SECRET, algorithm="HS512")}, id="another-algorithm"),
]


@pytest.mark.parametrize("params", BAD_TOKENS)
async def test_a_bad_token_is_closed_with_4001_before_accept(
    ws: WebSocketConnector, client: LifespanClient, params: dict[str, str]
) -> None:
    with pytest.raises(WebSocketDisconnect) as closed:
        async with ws.connect("/ws/notifications", params=params):
            pass  # pragma: no cover (the server closes before accepting)

    assert closed.value.code == 4001
    assert closed.value.reason.startswith("invalid token")


@pytest.mark.parametrize(
    ("claim", "within", "beyond", "refusal"),
    [
        pytest.param("iat", 5, LEEWAY + 20, "not yet valid (iat)", id="iat-ahead"),
        pytest.param("nbf", 5, LEEWAY + 20, "not yet valid (nbf)", id="nbf-ahead"),
        pytest.param("exp", -3, -(LEEWAY + 20), "expired", id="exp-past"),
    ],
)
async def test_a_clock_skew_within_the_leeway_is_accepted_and_beyond_it_refused(
    ws: WebSocketConnector, claim: str, within: int, beyond: int, refusal: str
) -> None:
    """CHAT_JWT_LEEWAY (the suite's settings: the default) forgives an issuer's clock that is off.

    `claim` set `within` or `beyond` seconds from now: a few seconds inside the leeway and well
    past it, so the time the test takes cannot move either across its edge.
    """
    now = int(time.time())

    async with ws.connect("/ws/notifications", params={"token": token("alice", **{claim: now + within})}) as session:
        await session.send_text("ping")
        assert await session.receive_text() == "pong"
    with pytest.raises(WebSocketDisconnect) as closed:
        async with ws.connect("/ws/notifications", params={"token": token("alice", **{claim: now + beyond})}):
            pass  # pragma: no cover (the server closes before accepting)

    assert closed.value.code == 4001
    assert refusal in closed.value.reason


async def test_an_accepted_socket_answers_ping_with_pong(ws: WebSocketConnector) -> None:
    async with ws.connect("/ws/notifications", params={"token": token("alice")}) as session:
        for _ in range(3):
            await session.send_text("ping")
            assert await session.receive_text() == "pong"


async def test_a_push_reaches_every_socket_of_that_user_and_no_other(
    ws: WebSocketConnector, client: LifespanClient
) -> None:
    async with (
        ws.connect("/ws/notifications", params={"token": token("alice")}) as alice_phone,
        ws.connect("/ws/notifications", params={"token": token("alice")}) as alice_laptop,
        ws.connect("/ws/notifications", params={"token": token("bob")}) as bob,
    ):
        response = await client.post(
            "/api/notifications", json={"user_id": "alice", "message": "your order shipped"}, headers=bearer("shop")
        )
        assert response.status_code == 202, response.text
        assert response.json() == {"reached": 2}
        assert await alice_phone.receive_text() == "your order shipped"
        assert await alice_laptop.receive_text() == "your order shipped"
        # Bob got nothing: the next thing he receives is the answer to his own ping.
        await bob.send_text("ping")
        assert await bob.receive_text() == "pong"


async def test_a_push_to_a_user_with_no_socket_reaches_nobody(client: LifespanClient) -> None:
    response = await client.post("/api/notifications", json={"user_id": "carol", "message": "hi"}, headers=bearer())

    assert response.status_code == 202, response.text
    assert response.json() == {"reached": 0}


async def test_a_closed_socket_is_no_longer_counted(ws: WebSocketConnector, client: LifespanClient) -> None:
    async with ws.connect("/ws/notifications", params={"token": token("alice")}):
        pass

    async def nobody_reached() -> bool:
        response = await client.post("/api/notifications", json={"user_id": "alice", "message": "x"}, headers=bearer())
        assert response.json() == {"reached": 0}
        return True

    # The server sees the disconnect a moment after the client has gone.
    await eventually(nobody_reached)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer not.a.jwt"}, id="malformed"),
        pytest.param({"Authorization": f"Bearer {token(expires_in=-60)}"}, id="expired"),
        pytest.param({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, id="wrong-scheme"),
    ],
)
async def test_pushing_needs_a_valid_bearer_token(client: LifespanClient, headers: dict[str, str]) -> None:
    response = await client.post("/api/notifications", json={"user_id": "alice", "message": "hi"}, headers=headers)

    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"].startswith("Not authenticated")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"message": "hi"}, "user_id", id="no-user"),
        pytest.param({"user_id": "", "message": "hi"}, "user_id", id="empty-user"),
        pytest.param({"user_id": "a" * 256, "message": "hi"}, "user_id", id="user-too-long"),
        pytest.param({"user_id": "alice"}, "message", id="no-message"),
        pytest.param({"user_id": "alice", "message": ""}, "message", id="empty-message"),
        pytest.param({"user_id": "alice", "message": "x" * 4097}, "message", id="message-too-long"),
        pytest.param({"user_id": "alice", "message": "hi", "extra": 1}, "extra", id="unknown-field"),
    ],
)
async def test_a_bad_push_is_a_422_naming_the_field(
    client: LifespanClient, body: dict[str, object], field: str
) -> None:
    response = await client.post("/api/notifications", json=body, headers=bearer())

    assert response.status_code == 422, response.text
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]


async def test_the_longest_push_is_accepted(client: LifespanClient) -> None:
    body = {"user_id": "a" * 255, "message": "x" * 4096}

    response = await client.post("/api/notifications", json=body, headers=bearer())

    assert response.status_code == 202, response.text
