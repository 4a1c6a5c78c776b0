from unittest.mock import AsyncMock, patch

import httpx
import pytest

from dependency_overrides_app import User, app, get_current_user


async def test_cached_response(authenticated_client: httpx.AsyncClient, mock_cache: AsyncMock) -> None:
    article = {"id": 1, "title": "From the database"}
    with patch("dependency_overrides_app.load_article", new=AsyncMock(return_value=article)) as load:
        miss = await authenticated_client.get("/api/articles/1")
        mock_cache.get.return_value = b'{"id": 1, "title": "Cached"}'
        hit = await authenticated_client.get("/api/articles/1")

    assert miss.status_code == 200, miss.text
    assert miss.json() == article
    mock_cache.set.assert_awaited_once_with("article:1", '{"id": 1, "title": "From the database"}')
    assert hit.json() == {"id": 1, "title": "Cached"}
    load.assert_awaited_once_with(1)  # the hit never reached the database


async def test_the_real_user_check_with_its_awaited_lookup_patched(client: httpx.AsyncClient) -> None:
    user = User(id=7, username="patched")
    with patch("dependency_overrides_app.find_user", new=AsyncMock(return_value=user)) as find_user:
        response = await client.get("/api/me", headers={"Authorization": "Bearer test-token"})

    assert response.status_code == 200, response.text
    assert response.json() == {"id": 7, "username": "patched"}
    find_user.assert_awaited_once_with("test-token")


async def test_an_unknown_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me", headers={"Authorization": "Bearer unknown"})

    assert response.status_code == 401, response.text


async def test_an_override_undone_puts_back_the_one_it_replaced(
    authenticated_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as inner:
        inner.setitem(app.dependency_overrides, get_current_user, lambda: User(id=2, username="inner"))
        assert (await authenticated_client.get("/api/me")).json()["username"] == "inner"

    response = await authenticated_client.get("/api/me")  # the fixture's user, not `.clear()`ed away

    assert response.status_code == 200, response.text
    assert response.json()["username"] == "asynctest"
