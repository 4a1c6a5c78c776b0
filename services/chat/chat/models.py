"""The documents chat keeps: one per message sent to a room."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StoredMessage:
    """A message as the history holds it: `sent_at` in UTC, to the millisecond (BSON dates)."""

    room_id: str
    text: str
    sent_at: datetime
