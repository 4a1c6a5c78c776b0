"""Request and response bodies, with their limits."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

ROOM_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class MessageRead(BaseModel):
    room_id: str
    text: str
    sent_at: datetime


class RoomRead(BaseModel):
    room_id: str
    members: int = Field(description="members connected to this instance")


class NotificationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=255)
    message: str = Field(min_length=1, max_length=4096)


class NotificationResult(BaseModel):
    reached: int = Field(description="open notification sockets of the user that were sent the message")
