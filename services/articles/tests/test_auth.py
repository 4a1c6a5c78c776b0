"""Authentication: the real JWT path, and replacing it with a dependency override.

Overrides put back without the kit (`monkeypatch.setitem`), and an awaited lookup patched with
`new=AsyncMock(...)`, at their smallest: examples/dependency_overrides/.
"""

import pytest
from fastapi import FastAPI

from articles.auth import User
from articles.dependencies import get_current_user
from fastapi_testkit import LifespanClient, create_token, override_dependencies

from .helpers import SECRET, AuthHeaders

# Strict mode (pyproject.toml): pytest-asyncio runs only the tests marked for it (test_anyio.py).
pytestmark = pytest.mark.auth

ARTICLE = {"title": "Hello", "content": "World"}
LONE_SURROGATE = "\ud800"
WITH_NUL = "a\x00b"


async def test_valid_token_makes_its_subject_the_author(client: LifespanClient, auth: AuthHeaders) -> None:
    response = await client.post("/api/articles/", json=ARTICLE, headers=auth("alice"))

    assert response.status_code == 201, response.text
    assert response.json()["author_id"] == "alice"


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        pytest.param(None, "Not authenticated", id="missing"),
        pytest.param(f"Bearer {create_token('alice', SECRET, expires_in=-60)}", "expired", id="expired"),
        pytest.param(
            f"Bearer {create_token('alice', 'another-secret-that-is-32-bytes-long')}", "Signature", id="wrong-signature"
        ),
        pytest.param(f"Bearer {create_token('alice', SECRET, exp=None)}", "exp", id="no-expiry"),
        pytest.param(f"Bearer {create_token('alice', SECRET, sub=None)}", "sub", id="no-subject"),
        pytest.param(f"Bearer {create_token('x' * 256, SECRET)}", "255", id="subject-too-long"),
        # A token's JSON may carry "\ud800" or "\u0000": neither fits a database's text column,
        # so each would reach the INSERT as a 500 unless the token is refused first.
        pytest.param(f"Bearer {create_token(LONE_SURROGATE, SECRET)}", "sub", id="lone-surrogate-subject"),
        pytest.param(f"Bearer {create_token(WITH_NUL, SECRET)}", "sub", id="nul-in-subject"),
        pytest.param("Bearer not.a.jwt", "Invalid token", id="malformed"),
        pytest.param("Basic YWxpY2U6c2VjcmV0", "Bearer", id="wrong-scheme"),
        pytest.param("Bearer", "Bearer", id="scheme-without-token"),
    ],
)
async def test_bad_tokens_get_401_with_bearer_challenge(
    client: LifespanClient, authorization: str | None, reason: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = await client.post("/api/articles/", json=ARTICLE, headers=headers)

    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert reason in response.json()["detail"]


async def test_a_token_signed_with_another_algorithm_is_refused(client: LifespanClient) -> None:
    token = create_token("alice", SECRET + SECRET, algorithm="HS512")

    response = await client.post("/api/articles/", json=ARTICLE, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401, response.text


async def test_overriding_the_current_user_skips_the_token(app: FastAPI, client: LifespanClient) -> None:
    """The article's `authenticated_async_client`, done with the kit's override helper."""
    with override_dependencies(app, {get_current_user: lambda: User(id="override-user")}):
        response = await client.post("/api/articles/", json=ARTICLE)

    assert response.status_code == 201, response.text
    assert response.json()["author_id"] == "override-user"
    # The override is gone with the block: the real check is back.
    assert (reply := await client.post("/api/articles/", json=ARTICLE)).status_code == 401, reply.text


async def test_an_override_restores_the_one_it_replaced(app: FastAPI, client: LifespanClient) -> None:
    """Nested overrides (e.g. two fixtures) each put back what was there, never `clear()` all."""
    with override_dependencies(app, {get_current_user: lambda: User(id="outer")}):
        with override_dependencies(app, {get_current_user: lambda: User(id="inner")}):
            inner = await client.post("/api/articles/", json=ARTICLE)
        outer = await client.post("/api/articles/", json=ARTICLE)

    assert inner.json()["author_id"] == "inner"
    assert outer.json()["author_id"] == "outer"
    assert app.dependency_overrides == {}
