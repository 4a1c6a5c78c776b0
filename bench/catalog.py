"""Every case, in the order the table shows them."""

from collections.abc import Callable
from dataclasses import dataclass

from bench.cases import articles, chat, events, gateway, processing, suites
from bench.cases.common import Context
from bench.results import Row


@dataclass(frozen=True)
class Case:
    name: str
    measures: str
    unit: str
    target: str
    run: Callable[[Context], Row | list[Row]]  # a case may report several rows (processing's modes)
    long_only: bool = False


CASES = [
    Case("articles-cache", "cached GET /api/articles/{id} vs bare endpoint", "req/s", ">= 0.5x", articles.cache_hit),
    Case("articles-list", "GET /api/articles/ (20 rows) vs minimal pooled read", "req/s", ">= 0.95x", articles.listing),
    Case("gateway-proxy", "GET through the gateway vs straight to the upstream", "req/s", ">= 0.5x", gateway.proxied),
    Case(
        "gateway-articles-list",
        "GET /api/articles/ (20 rows) through the gateway vs straight to articles",
        "req/s",
        ">= 0.85x",
        gateway.articles_list,
    ),
    Case("gateway-pool", "gateway (lifespan pool) vs a client per request", "req/s", ">= 2.5x", gateway.pool),
    Case("chat-fanout", "messages/s delivered to all 100 clients vs a broadcast loop", "msg/s", ">= 0.8x", chat.fanout),
    Case(
        "chat-latency",
        "time until the last of 100 clients has a message",
        "msg/s",
        "p99 <= 1.25x the baseline's",
        chat.latency,
    ),
    Case("events-stream", "events/s to one subscriber vs a minimal generator", "events/s", ">= 0.8x", events.stream),
    Case("events-latency", "publish-to-receive latency vs in-memory", "events/s", "p99 <= 20 ms", events.latency),
    Case(
        "events-idle",
        "server memory per idle subscriber vs in-memory streams",
        "KB/subscriber",
        "<= 1.1x; Redis connections <= topics + 5",
        events.idle,
    ),
    Case("processing", "articles processed/s end to end, 20 in flight", "articles/s", "", processing.throughput),
    Case("tests", "wall time of each suite", "s", "", suites.walls, long_only=True),
]
