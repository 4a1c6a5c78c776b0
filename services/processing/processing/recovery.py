"""Nothing accepted is lost: work claimed but not finished within the lease is queued again.

The database is the record of what was accepted. A process that dies (SIGKILL, a crash, a
lost background task) leaves its articles in `processing` with a claim that stops being
renewed; once older than the lease they are handed to `resubmit` (run again in background
mode, enqueued again in queue mode), at startup and every `interval` seconds.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from processing import storage

logger = logging.getLogger(__name__)

Resubmit = Callable[[int], Awaitable[None]]


async def recover_once(sessionmaker: async_sessionmaker[AsyncSession], lease: float, resubmit: Resubmit) -> list[int]:
    """Resubmit every expired claim; return their ids."""
    async with sessionmaker() as session:
        ids = await storage.reclaim_expired(session, lease)
    for article_id in ids:
        logger.warning("article %d: its claim expired unfinished; queued again", article_id)
        await resubmit(article_id)
    return ids


async def recover_forever(
    sessionmaker: async_sessionmaker[AsyncSession], lease: float, interval: float, resubmit: Resubmit
) -> None:
    while True:
        try:
            await recover_once(sessionmaker, lease, resubmit)
        except Exception:
            # A database or Redis hiccup: the next pass tries again; the claims keep.
            logger.exception("recovering expired claims failed")
        await asyncio.sleep(interval)
