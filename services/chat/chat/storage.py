"""Chat history in MongoDB. The only module that knows the driver.

It uses motor, with mongomock-motor standing in when no server is configured. motor is
deprecated in favour of PyMongo's async API (`pymongo.AsyncMongoClient`); this file is all that
changes to switch (README: "Switching to PyMongo's async API").
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import ASCENDING, DESCENDING

from chat.models import StoredMessage

DEFAULT_DATABASE = "chat"
COLLECTION = "messages"
NEWEST_FIRST = [("sent_at", DESCENDING), ("_id", DESCENDING)]


def now() -> datetime:
    """This moment in UTC, as the history stores it.

    BSON dates hold milliseconds: cut the rest here, so what a test reads back is the same from
    mongomock and from a real server.
    """
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class History:
    """The messages of every room, in one collection."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def add_many(self, messages: Sequence[StoredMessage]) -> None:
        """Store `messages` in one round trip, in their order.

        `ordered=True` (the driver's default, said out loud): the server inserts them one after
        another and stops at the first failure, and the driver gives them `_id`s that increase
        in list order, which is how `latest` orders messages of one millisecond.
        """
        documents = [{"room_id": m.room_id, "text": m.text, "sent_at": m.sent_at} for m in messages]
        await self.collection.insert_many(documents, ordered=True)

    async def latest(self, room_id: str, limit: int) -> list[StoredMessage]:
        """The room's `limit` newest messages, oldest first.

        Two messages stored in the same millisecond keep their order by `_id`, which the driver
        generates in increasing order.
        """
        cursor = self.collection.find({"room_id": room_id}).sort(NEWEST_FIRST).limit(limit)
        documents = await cursor.to_list(length=limit)
        return [StoredMessage(room_id=d["room_id"], text=d["text"], sent_at=d["sent_at"]) for d in reversed(documents)]


@asynccontextmanager
async def open_history(mongo_url: str | None) -> AsyncIterator[History]:
    """The history on the server at `mongo_url`, or in memory (mongomock-motor) when it is None.

    The database is the URL's path ("chat" if it has none). `tz_aware`: dates come back in UTC,
    not naive.
    """
    client: Any
    if mongo_url is None:
        from mongomock_motor import AsyncMongoMockClient

        client = AsyncMongoMockClient(tz_aware=True)
        # client[name]: mongomock-motor does not wrap get_default_database(), which would hand
        # back a synchronous mongomock database.
        database = client[DEFAULT_DATABASE]
    else:
        client = AsyncIOMotorClient(mongo_url, tz_aware=True)
        database = client.get_default_database(DEFAULT_DATABASE)
    try:
        collection = database[COLLECTION]
        await collection.create_index([("room_id", ASCENDING), *NEWEST_FIRST])
        yield History(collection)
    finally:
        client.close()
