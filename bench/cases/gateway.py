"""gateway: a proxied GET against the same GET sent straight to the upstream, and the gateway's
lifespan pool against a minimal proxy that creates a client per request.

The upstream of `gateway-proxy` and `gateway-pool` is the articles service's `GET /health`: the
cheapest real route, so the figures show what the proxy itself costs. `gateway-articles-list`
proxies a route with real work behind it, the list of 20 articles: what a user of the gateway
pays on an ordinary read.
"""

import httpx

from bench import real
from bench.cases.articles import ROWS, seed
from bench.cases.common import Context, NotRunError, alternate, baseline, http_probe, running, warm
from bench.results import Row

PATH = "health"
# A client per request costs tens of milliseconds of CPU (it builds an SSL context), so 50
# connections would queue for seconds and time out; both sides of the pool case get 10.
POOL_CONNECTIONS = 10


def _gateway_env(ctx: Context, articles_url: str) -> dict[str, str]:
    env = {
        "GATEWAY_ARTICLES_URL": articles_url,
        # The rate limit still runs (a Redis counter per request); it just never says no.
        "GATEWAY_RATE_LIMIT": str(10**12),
    }
    if ctx.real:
        env["GATEWAY_DATABASE_URL"] = real.prepare("gateway", ["proxied_requests"])
        env["GATEWAY_REDIS_URL"] = real.REDIS_URL
    return env


def _check(url: str) -> None:
    response = httpx.get(url, timeout=10)
    if response.status_code != 200:
        raise NotRunError(f"GET {url} answered {response.status_code}: {response.text[:200]}")


def proxied(ctx: Context) -> Row:
    row = Row("gateway-proxy", "GET through the gateway vs straight to the upstream", "req/s", "rate", target=">= 0.5x")
    with (
        running(("articles", ["articles"], {})) as (upstream,),
        running(("gateway", ["gateway"], _gateway_env(ctx, upstream.url))) as (gateway,),
    ):
        case_url, base_url = f"{gateway.url}/articles/{PATH}", f"{upstream.url}/{PATH}"
        _check(case_url)
        warm(ctx, case_url, base_url)
        alternate(row, ctx.rounds, (gateway, http_probe(ctx, case_url)), (upstream, http_probe(ctx, base_url)))
    row.met = None if row.ratio is None or row.status != "ok" else row.ratio >= 0.5
    return row


def articles_list(ctx: Context) -> Row:
    row = Row(
        "gateway-articles-list",
        "GET /api/articles/ (20 rows) through the gateway vs straight to articles",
        "req/s",
        "rate",
        target=">= 0.85x",
    )
    articles_env = {}
    if ctx.real:
        articles_env["ARTICLES_DATABASE_URL"] = real.prepare("articles", ["articles"])
        articles_env["ARTICLES_REDIS_URL"] = real.REDIS_URL
    with (
        running(("articles", ["articles"], articles_env)) as (upstream,),
        running(("gateway", ["gateway"], _gateway_env(ctx, upstream.url))) as (gateway,),
    ):
        seed(upstream.url, ROWS)
        case_url, base_url = f"{gateway.url}/articles/api/articles/", f"{upstream.url}/api/articles/"
        through, direct = httpx.get(case_url, timeout=10), httpx.get(base_url, timeout=10)
        if through.status_code != 200 or through.content != direct.content or len(direct.json()) != 20:
            detail = f"{through.status_code} {through.text[:200]}"
            raise NotRunError(f"the gateway does not return the same 20 articles: {detail}")
        warm(ctx, case_url, base_url)
        alternate(row, ctx.rounds, (gateway, http_probe(ctx, case_url)), (upstream, http_probe(ctx, base_url)))
    row.met = None if row.ratio is None or row.status != "ok" else row.ratio >= 0.85
    return row


def pool(ctx: Context) -> Row:
    row = Row("gateway-pool", "gateway (lifespan pool) vs a client per request", "req/s", "rate", target=">= 2.5x")
    with (
        running(("articles", ["articles"], {})) as (upstream,),
        running(
            ("gateway", ["gateway"], _gateway_env(ctx, upstream.url)),
            ("per-request-proxy", baseline("per_request_proxy"), {"BENCH_UPSTREAM_URL": upstream.url}),
        ) as (gateway, proxy),
    ):
        case_url, base_url = f"{gateway.url}/articles/{PATH}", f"{proxy.url}/{PATH}"
        _check(case_url)
        _check(base_url)
        warm(ctx, case_url, base_url)
        alternate(
            row,
            ctx.rounds,
            (gateway, http_probe(ctx, case_url, POOL_CONNECTIONS)),
            (proxy, http_probe(ctx, base_url, POOL_CONNECTIONS)),
        )
    row.met = None if row.ratio is None or row.status != "ok" else row.ratio >= 2.5
    return row
