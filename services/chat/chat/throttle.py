"""A token bucket: how fast one connection may send, enforced by waiting, not by closing."""

import time

import anyio


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; `take()` waits until one is there.

    A member's reader takes a token for each message it receives. Past its rate the reader
    sleeps, so the server stops reading that socket: uvicorn's receive buffer fills, it stops
    reading from the transport, and TCP flow control makes the client's own sends wait. The
    flooder slows down; nobody else waits, nothing is dropped.

    Why not close a fast sender: 1013 ("try again later") says the *server* is overloaded, which
    it is not, and 1008 would punish an honest burst (a paste of twenty lines, a reconnect that
    flushes an outbox). Waiting costs an honest client a little latency and a flooder its speed.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._refilled = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now

    async def take(self) -> None:
        """Take one token, first waiting for it if the bucket is empty."""
        self._refill()
        if self._tokens < 1:
            await anyio.sleep((1 - self._tokens) / self.rate)
            self._refill()
        self._tokens -= 1
