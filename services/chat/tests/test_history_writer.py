"""The history is written after delivery (chat/history_writer.py): never in the way of a message,
every message stored in the end and in order, a bounded backlog, a flush on shutdown.

A store that waits (a slow or hung MongoDB) is `History.add_many` patched to wait for an event;
in-process, through the app, on either backend.
"""

import asyncio
import logging
import time
from collections.abc import Sequence

import pytest

from chat.app import create_app
from chat.history_writer import BATCH_SIZE, HistoryWriter, open_history_writer
from chat.models import StoredMessage
from chat.settings import Settings
from chat.storage import History
from fastapi_testkit import LifespanClient, eventually, lifespan_client
from fastapi_testkit.websocket import WebSocketConnector

from .helpers import make_settings, stored_texts, wait_until_stored

pytestmark = pytest.mark.background
DEFAULTS = {name: Settings.model_fields[name].default for name in ("history_queue_size", "history_flush_timeout")}


class Gate:
    """`History.add_many` patched to wait until `open` is set; `batches` is what it was handed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.open = asyncio.Event()
        self.batches: list[list[str]] = []
        original = History.add_many
        gate = self

        async def gated(self: History, messages: Sequence[StoredMessage]) -> None:
            gate.batches.append([m.text for m in messages])
            await gate.open.wait()
            await original(self, messages)

        monkeypatch.setattr(History, "add_many", gated)


class ListHistory(History):
    """A store without a database: what it is handed, in order; it waits for `gate` if given."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        super().__init__(collection=None)
        self.gate = gate
        self.messages: list[StoredMessage] = []

    async def add_many(self, messages: Sequence[StoredMessage]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.messages.extend(messages)


@pytest.mark.websocket
async def test_history_holds_every_message_after_a_burst(ws: WebSocketConnector, client: LifespanClient) -> None:
    """Five members send 30 messages each at once: all 150 stored, each sender's in its order."""
    senders, count = 5, 30

    async def speak(name: str) -> list[str]:
        async with ws.connect("/ws/chat/burst") as session:
            for i in range(count):
                await session.send_text(f"{name}-{i}")
            return [await session.receive_text() for _ in range(senders * count)]

    seen = await asyncio.gather(*(speak(f"s{n}") for n in range(senders)))

    texts = [text.removeprefix("Room burst: ") for text in seen[0]]
    assert sorted(texts) == sorted(f"s{n}-{i}" for n in range(senders) for i in range(count))

    async def all_stored() -> bool:
        assert sorted(await stored_texts(client, "burst")) == sorted(texts)
        return True

    await eventually(all_stored)
    stored = await stored_texts(client, "burst")
    for n in range(senders):  # each sender's messages in the order it sent them
        assert [t for t in stored if t.startswith(f"s{n}-")] == [f"s{n}-{i}" for i in range(count)]
    if client.state["settings"].redis_url is None:
        # In-process fan-out, the store's order is the members' order. (Through Redis, two
        # messages published at once are stored in the order their publishes returned.)
        assert stored == texts


@pytest.mark.websocket
async def test_delivery_does_not_wait_on_a_slow_history(
    ws: WebSocketConnector, client: LifespanClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)  # the store takes nothing until the gate opens
    async with ws.connect("/ws/chat/lobby") as alice, ws.connect("/ws/chat/lobby") as bob:
        async with asyncio.timeout(10):
            for text in ("one", "two", "three"):
                await alice.send_text(text)
                assert await alice.receive_text() == f"Room lobby: {text}"
                assert await bob.receive_text() == f"Room lobby: {text}"

    assert await stored_texts(client, "lobby") == []  # delivered, all three, and none stored yet
    assert gate.batches[0][0] == "one"  # the store has been called, and is waiting
    gate.open.set()
    await wait_until_stored(client, "lobby", ["one", "two", "three"])


async def test_past_the_queue_size_the_oldest_waiting_messages_are_dropped_and_counted(
    redis_url: str | None, mongo_url: str | None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate(monkeypatch)
    app = create_app(make_settings(redis_url, mongo_url, history_queue_size=3))
    async with lifespan_client(app) as client:
        writer: HistoryWriter = client.state["history_writer"]
        ws = WebSocketConnector(app, state=client.state)
        async with ws.connect("/ws/chat/lobby") as member:
            await member.send_text("m0")
            assert await member.receive_text() == "Room lobby: m0"

            async def in_flight() -> bool:  # the writer holds m0, waiting on the store
                assert gate.batches == [["m0"]]
                return True

            await eventually(in_flight)
            for i in range(1, 6):
                await member.send_text(f"m{i}")
                assert await member.receive_text() == f"Room lobby: m{i}"  # delivery goes on

            assert (writer.pending, writer.dropped) == (3, 2)  # m1 and m2 made way for m3..m5
            assert "dropping the oldest unstored ones" in caplog.text
            gate.open.set()
            await wait_until_stored(client, "lobby", ["m0", "m3", "m4", "m5"])
    assert "2 messages were dropped unstored" in caplog.text


async def test_the_default_queue_holds_10000_messages() -> None:
    history = ListHistory(gate=asyncio.Event())
    async with open_history_writer(history, queue_size=DEFAULTS["history_queue_size"], flush_timeout=5) as writer:
        for i in range(10_001):  # without yielding: the writer task has taken none of them
            writer.record("lobby", f"m{i}")
        assert (writer.pending, writer.dropped) == (10_000, 1)
        assert history.gate is not None
        history.gate.set()
    assert [m.text for m in history.messages] == [f"m{i}" for i in range(1, 10_001)]


async def test_shutdown_stores_what_is_waiting_in_order() -> None:
    history = ListHistory()
    async with open_history_writer(history, queue_size=10_000, flush_timeout=5) as writer:
        for i in range(2 * BATCH_SIZE + 1):  # without yielding: all still waiting at the exit
            writer.record("lobby", f"m{i}")
        assert writer.pending == 2 * BATCH_SIZE + 1

    assert [m.text for m in history.messages] == [f"m{i}" for i in range(2 * BATCH_SIZE + 1)]
    assert (writer.stored, writer.pending, writer.dropped) == (2 * BATCH_SIZE + 1, 0, 0)
    sent = [m.sent_at for m in history.messages]
    assert sent == sorted(sent)  # stamped when recorded, in order


async def test_a_hung_store_holds_the_shutdown_no_longer_than_the_flush_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    history = ListHistory(gate=asyncio.Event())  # never opened
    started = time.monotonic()
    async with open_history_writer(history, queue_size=10_000, flush_timeout=0.2) as writer:
        for i in range(3):
            writer.record("lobby", f"m{i}")

    assert time.monotonic() - started < 2
    assert (writer.stored, writer.dropped) == (0, 3)
    assert "not flushed within 0.2 s: 3 messages lost" in caplog.text


@pytest.mark.slow
async def test_a_hung_store_holds_the_shutdown_for_the_default_flush_timeout() -> None:
    history = ListHistory(gate=asyncio.Event())  # never opened
    flush_timeout = DEFAULTS["history_flush_timeout"]
    started = time.monotonic()
    async with open_history_writer(history, queue_size=10, flush_timeout=flush_timeout) as writer:
        writer.record("lobby", "m0")

    assert flush_timeout <= time.monotonic() - started < flush_timeout + 2
    assert writer.dropped == 1


async def test_a_message_recorded_after_the_shutdown_is_counted_as_dropped(caplog: pytest.LogCaptureFixture) -> None:
    history = ListHistory()
    async with open_history_writer(history, queue_size=10, flush_timeout=5) as writer:
        pass
    with caplog.at_level(logging.WARNING):
        writer.record("lobby", "late")

    assert (writer.dropped, history.messages) == (1, [])
    assert "came after the history writer closed" in caplog.text


async def test_a_failed_batch_is_counted_and_the_next_one_is_stored(caplog: pytest.LogCaptureFixture) -> None:
    class FlakyHistory(ListHistory):
        async def add_many(self, messages: Sequence[StoredMessage]) -> None:
            if messages[0].text == "lost":
                raise RuntimeError("the database is down")
            await super().add_many(messages)

    history = FlakyHistory()
    async with open_history_writer(history, queue_size=10, flush_timeout=5) as writer:
        writer.record("lobby", "lost")

        async def failed() -> bool:
            return writer.failed == 1

        await eventually(failed)
        writer.record("lobby", "kept")

    assert [m.text for m in history.messages] == ["kept"]
    assert (writer.failed, writer.stored) == (1, 1)
    assert "Could not store 1 messages in the history (1 so far)" in caplog.text


@pytest.mark.parametrize("sent", [0, 1], ids=["never used", "idle again"])
async def test_an_idle_writer_does_not_hold_the_shutdown(
    redis_url: str | None, mongo_url: str | None, caplog: pytest.LogCaptureFixture, sent: int
) -> None:
    """Nothing waiting to be stored, the shutdown has nothing to flush and ends at once, with
    the flush timeout an hour: waiting it out would fail the test at the suite's per-test
    timeout, and every restart of an idle server would take the whole flush timeout."""
    app = create_app(make_settings(redis_url, mongo_url, history_flush_timeout=3600))
    async with lifespan_client(app) as client:
        writer: HistoryWriter = client.state["history_writer"]
        if sent:
            async with WebSocketConnector(app, state=client.state).connect("/ws/chat/lobby") as member:
                await member.send_text("m0")
                assert await member.receive_text() == "Room lobby: m0"
            await wait_until_stored(client, "lobby", ["m0"])

    assert (writer.stored, writer.pending, writer.dropped) == (sent, 0, 0)
    assert "not flushed" not in caplog.text


class BatchHistory(ListHistory):
    """A ListHistory that keeps the size of every batch it is handed."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        super().__init__(gate)
        self.batches: list[int] = []

    async def add_many(self, messages: Sequence[StoredMessage]) -> None:
        self.batches.append(len(messages))
        await super().add_many(messages)


async def test_a_flood_is_stored_in_batches_of_at_most_the_batch_size() -> None:
    """A backlog of 2 x BATCH_SIZE messages, piled up behind a store that waits, goes to the
    store in inserts of BATCH_SIZE at most, every message once and in order: one insert of all
    of them would grow with the backlog, towards MongoDB's limits on one batch."""
    history = BatchHistory(gate=asyncio.Event())
    async with open_history_writer(history, queue_size=10_000, flush_timeout=5) as writer:
        writer.record("lobby", "m0")

        async def in_flight() -> bool:  # the writer holds m0, waiting on the store
            return history.batches == [1]

        await eventually(in_flight)
        for i in range(1, 2 * BATCH_SIZE + 1):
            writer.record("lobby", f"m{i}")
        assert history.gate is not None
        history.gate.set()

        async def all_stored() -> bool:
            return writer.stored == 2 * BATCH_SIZE + 1

        await eventually(all_stored)

    assert history.batches == [1, BATCH_SIZE, BATCH_SIZE]
    assert [m.text for m in history.messages] == [f"m{i}" for i in range(2 * BATCH_SIZE + 1)]
