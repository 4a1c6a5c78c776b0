"""Triggers that really run at the same time: many articles, and one article twice."""

import asyncio

import httpx
import pytest
from sqlalchemy import text

from fastapi_testkit import LifespanClient, LiveServer
from processing.summary import generate_ai_summary

from .helpers import GATE_TIMEOUT, GatedSummarizer, PostArticle, create_article, wait_for_status

pytestmark = [pytest.mark.concurrency, pytest.mark.background]

ARTICLES = 20


async def test_twenty_articles_triggered_at_once_all_end_processed(
    client: LifespanClient, post_article: PostArticle
) -> None:
    contents = [f"Article number {i} is about topic {i}. Topic {i} matters. Filler text here." for i in range(ARTICLES)]
    articles = [await post_article(title=f"Article {i}", content=c) for i, c in enumerate(contents)]

    responses = await asyncio.gather(*(client.post(f"/api/articles/{a['id']}/process") for a in articles))

    assert [r.status_code for r in responses] == [202] * ARTICLES
    stored = [(await client.get(f"/api/articles/{a['id']}")).json() for a in articles]
    expected = [await generate_ai_summary(c) for c in contents]
    assert [(a["status"], a["summary"], a["error"]) for a in stored] == [("processed", s, None) for s in expected]
    assert len(set(expected)) == ARTICLES  # each article got its own summary, none another's


async def trigger_twice_at_once(http: httpx.AsyncClient, article_id: int, gated: GatedSummarizer) -> list[int]:
    """Send two triggers for one article together; return their status codes, sorted.

    The winner's task is held at the gate until the other trigger has been answered, so it
    cannot finish (which would make a second run legal) before the other one is decided.
    In process the 202 itself waits for the task, so the 409 comes back first; over sockets
    either may.
    """
    url = f"/api/articles/{article_id}/process"
    requests = {asyncio.create_task(http.post(url)) for _ in range(2)}
    pending = set(requests)
    while pending:
        done, pending = await asyncio.wait(pending, timeout=GATE_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        assert done, "a trigger was not answered while the task was held: did both claim the article?"
        if any(task.result().status_code == 409 for task in done):
            break
    gated.gate.set()
    async with asyncio.timeout(GATE_TIMEOUT):
        responses = await asyncio.gather(*requests)
    return sorted(r.status_code for r in responses)


async def test_two_triggers_of_one_article_in_process_get_one_202_and_one_409(
    client: LifespanClient, post_article: PostArticle, gated: GatedSummarizer
) -> None:
    article = await post_article()

    statuses = await trigger_twice_at_once(client, article["id"], gated)

    assert statuses == [202, 409]
    assert gated.calls == [article["content"]]  # one task ran: one summary
    stored = (await client.get(f"/api/articles/{article['id']}")).json()
    assert (stored["status"], stored["summary"]) == ("processed", f"Gated summary of: {article['content']}")


async def test_two_triggers_of_one_article_over_sockets_get_one_202_and_one_409(
    live_server: LiveServer, gated: GatedSummarizer
) -> None:
    """The same over two real connections, where the 202 does not wait for the task."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        article = await create_article(http)

        statuses = await trigger_twice_at_once(http, article["id"], gated)

        assert statuses == [202, 409]
        # Over sockets the 202 does not wait for the task, which may not have started yet.
        stored = await wait_for_status(http, article["id"], "processed")
        assert stored["summary"] == f"Gated summary of: {article['content']}"
        assert gated.calls == [article["content"]]  # one task ran: one summary


@pytest.mark.embedded_only(reason="the pragmas and the busy timeout are SQLite's; PostgreSQL locks rows")
async def test_sqlite_lets_writers_queue_instead_of_failing(client: LifespanClient) -> None:
    """WAL, synchronous=NORMAL and a 30 s busy timeout (service_runtime.sql.create_engine): under
    many triggers and tasks at once, writers wait their turn; without them a writer queued past
    SQLite's default 5 s busy timeout gets "database is locked" (a 500)."""
    async with client.state["sessionmaker"]() as session:
        pragmas = [await session.scalar(text(f"PRAGMA {p}")) for p in ("journal_mode", "synchronous", "busy_timeout")]

    assert pragmas == ["wal", 1, 30_000]  # synchronous 1 is NORMAL; the timeout is in milliseconds
