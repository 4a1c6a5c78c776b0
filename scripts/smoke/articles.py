"""An article's life through the gateway: refused without a token, created, read, read from the
cache, updated (and the cache with it), deleted."""

from typing import Any

from scripts.smoke.runner import Steps, Target, expect

API = "/articles/api/articles/"


async def flow(target: Target, steps: Steps) -> None:
    http = target.http
    body = {"title": f"smoke {target.run_id}", "content": "Checked from outside.", "status": "published"}
    async with steps("auth refused (no token, a forged token)"):
        refused = await http.post(API, json=body)
        expect(refused, 401)
        assert refused.headers.get("www-authenticate") == "Bearer", dict(refused.headers)
        expect(await http.post(API, json=body, headers=target.bearer("not.a.token")), 401)
    async with steps("create"):
        created = await http.post(API, json=body, headers=target.bearer())
        expect(created, 201)
        article: dict[str, Any] = created.json()
        assert article["author_id"] == target.user, article
    url = f"{API}{article['id']}"
    try:
        await _read_update(target, steps, url, article)
    finally:
        await _delete(target, steps, url)


async def _read_update(target: Target, steps: Steps, url: str, article: dict[str, Any]) -> None:
    http = target.http
    async with steps("read"):
        first = await http.get(url)
        expect(first, 200)
        assert first.json() == article, first.json()
    async with steps("cached read (the same article again)"):
        second = await http.get(url)
        expect(second, 200)
        assert second.json() == article, second.json()
    async with steps("update, and the next read sees it (cache invalidated)"):
        title = f"smoke {target.run_id} updated"
        expect(await http.patch(url, json={"title": title}, headers=target.bearer()), 200)
        read = await http.get(url)
        expect(read, 200)
        assert read.json()["title"] == title, read.json()


async def _delete(target: Target, steps: Steps, url: str) -> None:
    """Always attempted once the article exists: the run cleans up what it created."""
    async with steps("delete, then gone"):
        expect(await target.http.delete(url, headers=target.bearer()), 204)
        expect(await target.http.get(url), 404)
