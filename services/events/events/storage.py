"""Events kept per topic in a Redis Stream: append with a cap, read after an id, block for new ones."""

from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

# The id Redis gives a stream before its first entry; reading after it reads everything.
BEGINNING = "0-0"


@dataclass(frozen=True)
class StoredEvent:
    """One entry of a topic's stream. `data` is JSON text, stored as the publisher sent it."""

    id: str
    name: str
    data: str


class TopicStreams:
    """One Redis Stream per topic, capped at `max_length` entries.

    Stream ids (`<milliseconds>-<sequence>`) are the SSE event ids: a reconnecting client's
    Last-Event-ID is exactly where XREAD has to carry on.
    """

    def __init__(self, redis: Redis, *, max_length: int) -> None:
        self.redis = redis
        self.max_length = max_length

    @staticmethod
    def key(topic: str) -> str:
        return f"events:{topic}"

    async def publish(self, topic: str, name: str, data: str) -> str:
        """Append an event and return its id. The oldest entries beyond the cap are dropped.

        Exact trimming (`approximate=False`), not Redis' cheaper `~`: the cap is a promise
        about what a client can replay, and tests check it to the entry.
        """
        event_id = await self.redis.xadd(
            self.key(topic), {"event": name, "data": data}, maxlen=self.max_length, approximate=False
        )
        return cast(str, event_id)  # decode_responses (app.py): replies are text, not bytes

    async def last_id(self, topic: str) -> str:
        """The id of the newest event, or `BEGINNING` for a topic with none (or unknown)."""
        newest = await self.redis.xrevrange(self.key(topic), count=1)
        return str(newest[0][0]) if newest else BEGINNING

    async def length(self, topic: str) -> int:
        length: int = await self.redis.xlen(self.key(topic))
        return length

    async def read(self, topic: str, after: str, *, block: float, count: int = 100) -> list[StoredEvent]:
        """Up to `count` events after the id `after`, oldest first.

        Returns at once if there are any; otherwise waits up to `block` seconds for the next
        one (XREAD BLOCK) and returns an empty list if none came.
        """
        reply = cast(
            list[tuple[str, list[tuple[str, dict[str, str]]]]],
            await self.redis.xread({self.key(topic): after}, count=count, block=max(1, round(block * 1000))),
        )
        if not reply:
            return []
        [(_key, entries)] = reply
        return _stored(entries)

    async def range(self, topic: str, after: str, upto: str, *, count: int = 100) -> list[StoredEvent]:
        """Up to `count` events after the id `after` and up to `upto` (included), oldest first; no wait."""
        entries = cast(
            list[tuple[str, dict[str, str]]],
            await self.redis.xrange(self.key(topic), min=f"({after}", max=upto, count=count),
        )
        return _stored(entries)


def order(event_id: str) -> tuple[int, int]:
    """A stream id as Redis orders it, `(milliseconds, sequence)`: as text, "1-10" sorts before "1-9"."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq)


def _stored(entries: list[tuple[str, dict[str, str]]]) -> list[StoredEvent]:
    return [StoredEvent(id=entry_id, name=fields["event"], data=fields["data"]) for entry_id, fields in entries]
