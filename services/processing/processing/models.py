"""The database table."""

import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Status(enum.StrEnum):
    PENDING = "pending"  # created, never processed
    PROCESSING = "processing"  # claimed by a trigger; its task has not finished
    PROCESSED = "processed"  # the task stored a summary
    FAILED = "failed"  # the task ended with an error, kept in `error`


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Text, not String(n): the length limits are settings, checked by the API, not the schema.
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[Status] = mapped_column(
        Enum(Status, native_enum=False, values_callable=lambda e: [m.value for m in e]), default=Status.PENDING
    )
    summary: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    # When the article was last claimed or its job last started: a `processing` article whose
    # claim is older than the lease was held by a process that died, and is queued again.
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
