"""Who is streaming what, right now, in this process."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class Subscribers:
    """A count of open streams per topic.

    It is how the service (and its tests) can tell that a client that went away left nothing
    behind: a stream is counted until its request has fully ended, after FastAPI has stopped
    the task that ran its generator and that generator's Redis read has given its connection back.
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    @contextmanager
    def track(self, topic: str) -> Iterator[None]:
        # Synchronous on purpose: this also runs while the request is being cancelled, where
        # an `await` in the clean-up could itself be cancelled and skip the decrement.
        self._counts[topic] += 1
        try:
            yield
        finally:
            self._counts[topic] -= 1
            if not self._counts[topic]:
                del self._counts[topic]

    def count(self, topic: str | None = None) -> int:
        """Open streams of `topic`, or of every topic."""
        return self._counts[topic] if topic is not None else self._counts.total()
