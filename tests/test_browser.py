"""The demo page at the gateway's `/`, in a real browser: headless Chromium driven by Playwright.

The whole system runs as `hatch run serve` does (scripts/serve_all.py's functions, embedded
backends, a free block of ports), once for this module, each service its own process, so that a
test can stop one and start it again. The tests type and click as a person would. The browser is
the system's Chromium (Debian's `chromium`): Playwright's own browser download is not possible
on the machines this runs on, so a missing Chromium fails, naming the command that installs it.
"""

import json
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from fastapi_testkit import create_token
from scripts.serve_all import SERVICES, Backends, Service, dead, environment, ports, start, stop_all

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# Debian's chromium; CHROMIUM_PATH names another Chromium-based browser (GitHub's runners: Chrome).
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # runs as root in a container, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Nothing leaves the machine: no update checks, component downloads or sync.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP = 90.0  # five interpreters importing FastAPI at once on two cores
WAIT_MS = 10_000  # every expectation on the page waits at most this long
# serve_all.py's articles run on their default secret: a token for it creates an article.
ARTICLES_SECRET = "change-me-in-production-a-32-byte-key"


def _free_base_port() -> int:
    """A port with a free port for every service from it on."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base: int = probe.getsockname()[1]
        if base + len(SERVICES) < 65536 and all(_is_free(base + i) for i in range(len(SERVICES))):
            return base
    raise AssertionError("no run of free ports found")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class System:
    """The services as `hatch run serve` runs them (serve_all.py's functions), each its own process."""

    where: dict[str, int]
    backends: Backends
    data: Path
    log: IO[bytes]
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.where['gateway']}"

    def start(self, name: str) -> None:
        env = environment(name, self.where, self.backends)
        self.services[name] = start(name, self.where[name], env, self.data / name, self.log)

    def stop(self, name: str) -> None:
        stop_all([self.services[name]])

    def wait_until_healthy(self, name: str) -> None:
        deadline = time.monotonic() + STARTUP
        while not _healthy(self.services[name].url):
            if (gone := dead(list(self.services.values()))) is not None:
                raise AssertionError(f"{gone.name} exited:\n{(self.data / 'serve.log').read_text()}")
            assert time.monotonic() < deadline, f"not healthy in {STARTUP}s:\n{(self.data / 'serve.log').read_text()}"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The system, served on embedded backends, once every service answers (the gateway's health says so)."""
    data = tmp_path_factory.mktemp("serve")
    # Every page holds an event stream and maybe a chat socket, all from 127.0.0.1: room for the
    # pages of a test and those of the last one still closing (the default cap is 5 per client).
    backends = Backends(
        {
            "gateway": {"GATEWAY_MAX_STREAMS_PER_CLIENT": "20"},
            "processing": {"PROCESSING_MODE": os.environ.get("PROCESSING_MODE", "background")},
        }
    )
    with (data / "serve.log").open("ab") as log:
        served = System(ports(_free_base_port()), backends, data, log)
        try:
            for name in SERVICES:
                served.start(name)
            served.wait_until_healthy("gateway")  # which answers 200 once every upstream does
            yield served
        finally:
            stop_all(list(served.services.values()))


@pytest.fixture(scope="module")
def gateway(system: System) -> str:
    return system.url


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's package (apt-get update && apt-get install -y chromium), "
            "or set CHROMIUM_PATH to a Chromium or Chrome binary; `playwright install` downloads a browser, "
            "which these machines cannot",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Browser, gateway: str) -> Iterator[Callable[[], Page]]:
    """`open_page()`: a new page (a fresh context: its own cookies and storage) on the demo page."""
    contexts = []

    def opened() -> Page:
        context = browser.new_context()
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto(gateway)
        expect(page.locator("#events-status")).to_have_text("listening to news", timeout=WAIT_MS)
        return page

    yield opened
    for context in contexts:
        context.close()


def test_the_latest_articles_are_listed(open_page: Callable[[], Page], gateway: str) -> None:
    title = f"Published {uuid.uuid4().hex[:8]}"
    token = create_token("alice", ARTICLES_SECRET)
    created = httpx.post(
        f"{gateway}/articles/api/articles/",
        json={"title": title, "content": "Shown on the page.", "status": "published"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text
    page = open_page()

    page.get_by_role("button", name="Refresh").click()

    expect(page.locator("#articles")).to_contain_text(title)


def test_two_pages_in_one_room_see_each_others_messages(open_page: Callable[[], Page]) -> None:
    room = f"room-{uuid.uuid4().hex[:8]}"
    alice, bob = open_page(), open_page()
    for page in (alice, bob):
        page.get_by_label("Room").fill(room)
        page.get_by_role("button", name="Join").click()
        expect(page.locator("#chat-status")).to_have_text(f"in room {room}")

    alice.get_by_label("Message").fill("hello from alice")
    alice.get_by_label("Message").press("Enter")
    expect(bob.locator("#chat-log")).to_contain_text(f"Room {room}: hello from alice")
    bob.get_by_label("Message").fill("hi alice")
    bob.get_by_role("button", name="Send").click()

    expect(alice.locator("#chat-log li")).to_have_text([f"Room {room}: hello from alice", f"Room {room}: hi alice"])
    expect(bob.locator("#chat-log li")).to_have_text([f"Room {room}: hello from alice", f"Room {room}: hi alice"])


def test_a_published_event_appears_on_the_page(open_page: Callable[[], Page], gateway: str) -> None:
    topic = f"topic-{uuid.uuid4().hex[:8]}"
    watcher, publisher = open_page(), open_page()
    for page in (watcher, publisher):
        page.get_by_label("Topic").fill(topic)
        page.get_by_role("button", name="Listen").click()
        expect(page.locator("#events-status")).to_have_text(f"listening to {topic}")

    # Published from outside the page...
    published = httpx.post(f"{gateway}/events/api/topics/{topic}/events", json={"event": "note", "data": {"n": 1}})
    assert published.status_code == 201, published.text
    expect(watcher.locator("#events")).to_contain_text('note: {"n":1}')
    # ... and from another page's form.
    publisher.get_by_label("Event text").fill("from the other page")
    publisher.get_by_role("button", name="Publish").click()

    expected = ['note: {"n":1}', f"note: {json.dumps({'text': 'from the other page'}, separators=(',', ':'))}"]
    expect(watcher.locator("#events li")).to_have_text(expected)


def test_the_event_stream_resumes_after_events_was_down(
    open_page: Callable[[], Page], system: System, gateway: str
) -> None:
    topic = f"topic-{uuid.uuid4().hex[:8]}"
    page = open_page()
    page.get_by_label("Topic").fill(topic)
    page.get_by_role("button", name="Listen").click()
    expect(page.locator("#events-status")).to_have_text(f"listening to {topic}")
    publish = f"{gateway}/events/api/topics/{topic}/events"
    assert httpx.post(publish, json={"event": "note", "data": {"n": 1}}).status_code == 201
    expect(page.locator("#events li")).to_have_text(['note: {"n":1}'])
    stream = f"/events/api/topics/{topic}/stream"

    # Down until the page's stream has been answered 502, which ends an EventSource for good.
    with page.expect_response(lambda response: stream in response.url and response.status == 502):
        system.stop("events")
    assert httpx.post(publish, json={"event": "note", "data": {"n": 2}}).status_code == 502
    # The page's reconnects held back until an event is published after events is back: the
    # page receives it only by resuming after the last id it saw.
    page.route(f"**{stream}*", lambda route: route.abort())
    system.start("events")
    system.wait_until_healthy("events")
    assert httpx.post(publish, json={"event": "note", "data": {"n": 3}}).status_code == 201
    page.unroute(f"**{stream}*")

    # The page's next reconnect comes after its back-off, which may have reached its cap (4 s).
    expect(page.locator("#events-status")).to_have_text(f"listening to {topic}", timeout=WAIT_MS)
    expect(page.locator("#events li")).to_have_text(['note: {"n":1}', 'note: {"n":3}'])


def test_a_processed_text_shows_its_summary(open_page: Callable[[], Page], gateway: str, tmp_path: Path) -> None:
    page = open_page()
    page.get_by_label("Title").fill("Cats")
    page.get_by_label("Text to summarise").fill("Cats sleep all day. Cats purr when cats are happy. Dogs bark.")
    page.get_by_role("button", name="Process").click()

    expect(page.locator("#process-status")).to_have_text(re.compile(r"article \d+: processed"))
    article_id = page.locator("#process-status").inner_text().split()[1].rstrip(":")
    stored = httpx.get(f"{gateway}/processing/api/articles/{article_id}").json()
    assert stored["summary"]
    expect(page.locator("#summary")).to_have_text(stored["summary"])
    # A look at the page, for whoever debugs this test (not compared with anything).
    page.screenshot(path=tmp_path / "demo-page.png", full_page=True)
