"""articles: a cached `GET /api/articles/{id}` against the bare HTTP baseline, and the 20-row list
against a minimal endpoint reading the same rows."""

import time

import httpx
import jwt

from bench import real
from bench.cases.common import Context, NotRunError, alternate, baseline, http_probe, running, warm
from bench.results import Row

# The service's embedded default secret: the bench signs its own tokens, as a client would.
DEFAULT_SECRET = "change-me-in-production-a-32-byte-key"
ROWS = 25  # more than the 20 a list returns


def _env(ctx: Context) -> dict[str, str]:
    env = {"ARTICLES_CACHE_TTL": "3600"}  # no expiry while the bench runs: every GET is a hit
    if ctx.real:
        env["ARTICLES_DATABASE_URL"] = real.prepare("articles", ["articles"])
        env["ARTICLES_REDIS_URL"] = real.REDIS_URL
    return env


def seed(base_url: str, count: int) -> list[int]:
    token = jwt.encode({"sub": "bench", "exp": int(time.time()) + 3600}, DEFAULT_SECRET, algorithm="HS256")
    ids = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        for i in range(count):
            body = {"title": f"Article {i}", "content": "Some text. " * 20, "status": "published"}
            response = client.post("/api/articles/", json=body)
            if response.status_code != 201:
                raise NotRunError(f"seeding failed: {response.status_code} {response.text[:200]}")
            ids.append(int(response.json()["id"]))
        if client.get(f"/api/articles/{ids[0]}").status_code != 200:  # fills the cache
            raise NotRunError("the seeded article cannot be read back")
    return ids


def cache_hit(ctx: Context) -> Row:
    row = Row("articles-cache", "cached GET /api/articles/{id} vs bare endpoint", "req/s", "rate", target=">= 0.5x")
    with running(("articles", ["articles"], _env(ctx)), ("http-baseline", baseline("http"), {})) as (svc, base):
        [article_id] = seed(svc.url, 1)
        case_url, base_url = f"{svc.url}/api/articles/{article_id}", f"{base.url}/item"
        warm(ctx, case_url, base_url)
        alternate(row, ctx.rounds, (svc, http_probe(ctx, case_url)), (base, http_probe(ctx, base_url)))
    row.met = None if row.ratio is None or row.status != "ok" else row.ratio >= 0.5
    return row


def listing(ctx: Context) -> Row:
    row = Row(
        "articles-list", "GET /api/articles/ (20 rows) vs minimal pooled read", "req/s", "rate", target=">= 0.95x"
    )
    env = _env(ctx)
    with running(("articles", ["articles"], env)) as (svc,):
        seed(svc.url, ROWS)
        database = env.get("ARTICLES_DATABASE_URL", f"sqlite+aiosqlite:///{svc.workdir / 'articles.db'}")
        with running(("list-baseline", baseline("articles_list"), {"BENCH_DATABASE_URL": database})) as (base,):
            case_url, base_url = f"{svc.url}/api/articles/", f"{base.url}/list"
            same = httpx.get(case_url).json(), httpx.get(base_url).json()
            if [a["id"] for a in same[0]] != [a["id"] for a in same[1]] or len(same[0]) != 20:
                raise NotRunError("the baseline does not read the same 20 rows as the service")
            warm(ctx, case_url, base_url)
            alternate(row, ctx.rounds, (svc, http_probe(ctx, case_url)), (base, http_probe(ctx, base_url)))
    row.met = None if row.ratio is None or row.status != "ok" else row.ratio >= 0.95
    return row
