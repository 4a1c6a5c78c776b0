"""The Mongo backend: the `mongo_url` fixture and its helpers.

No MongoDB server runs on the development and CI machines, so these check the wiring and the
failure path without one.
"""

from typing import ClassVar

import pytest

from fastapi_testkit import plugin
from fastapi_testkit.backends import MONGO_HELP, BackendUnavailableError, drop_mongo_database, mongo_worker_url

from .test_plugin import CONFIG


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("mongodb://h:27017", "master", "mongodb://h:27017/testkit_master"),
        ("mongodb://h:27017/chat?tls=true", "gw1", "mongodb://h:27017/testkit_gw1?tls=true"),
        ("mongodb://u:p@h/chat", "gw0", "mongodb://u:p@h/testkit_gw0?authSource=chat"),
        ("mongodb://u:p@h", "gw0", "mongodb://u:p@h/testkit_gw0?authSource=admin"),
        ("mongodb://u:p@h/chat?authSource=users", "gw2", "mongodb://u:p@h/testkit_gw2?authSource=users"),
    ],
)
def test_each_xdist_worker_gets_its_own_mongo_database(url: str, worker: str, expected: str) -> None:
    """The credentials keep being checked where they were: the old path becomes the authSource."""
    assert mongo_worker_url(url, worker) == expected


class RefusingMongoClient:
    """Stands in for `pymongo.AsyncMongoClient`: every server is unreachable; records its calls.

    Not a real client on a closed port: PyMongo (4.20) leaves its monitor's socket unclosed
    when the client closes while that socket is still connecting, and the ResourceWarning of
    its garbage collection fails whichever test runs at that moment.
    """

    calls: ClassVar[list[str]] = []

    def __init__(self, url: str, *, serverSelectionTimeoutMS: int) -> None:  # noqa: N803 (PyMongo's name)
        self.calls.append(f"connect {url} {serverSelectionTimeoutMS}")

    def get_default_database(self) -> str:
        return "testkit_master"

    async def drop_database(self, name: str) -> None:
        from pymongo.errors import ServerSelectionTimeoutError

        self.calls.append(f"drop {name}")
        raise ServerSelectionTimeoutError("127.0.0.1:1: [Errno 111] Connection refused")

    async def close(self) -> None:
        self.calls.append("close")


async def test_an_unreachable_mongo_names_its_url_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import pymongo

    monkeypatch.setattr(pymongo, "AsyncMongoClient", RefusingMongoClient)
    monkeypatch.setattr(RefusingMongoClient, "calls", [])
    url = "mongodb://u:secret@127.0.0.1:1/testkit_master"

    with pytest.raises(BackendUnavailableError) as raised:
        await drop_mongo_database(url, timeout=0.2)

    assert "MongoDB at mongodb://u:***@127.0.0.1:1/testkit_master did not answer" in str(raised.value)
    assert "mongod" in str(raised.value)
    assert RefusingMongoClient.calls == [f"connect {url} 200", "drop testkit_master", "close"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(CONFIG)
    return pytester


MONGO_FIXTURE_TEST = """
def test_url(mongo_url):
    assert mongo_url == {expected!r}
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param([], None, id="embedded"),
        pytest.param(["--backend", "real"], None, id="real-without-a-mongo-url"),
        pytest.param(["--mongo-url", "mongodb://h:1"], None, id="embedded-with-a-mongo-url"),
    ],
)
def test_mongo_url_is_none_unless_a_real_server_is_given(
    project: pytest.Pytester, args: list[str], expected: str | None
) -> None:
    project.makepyfile(MONGO_FIXTURE_TEST.format(expected=expected))

    project.runpytest(*args).assert_outcomes(passed=1)


def test_mongo_url_drops_the_workers_database_before_and_after(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[str] = []

    async def record(url: str) -> None:
        dropped.append(url)

    monkeypatch.setattr(plugin, "drop_mongo_database", record)
    monkeypatch.setenv("TESTKIT_MONGO_URL", "mongodb://h:1")
    project.makepyfile(MONGO_FIXTURE_TEST.format(expected="mongodb://h:1/testkit_master"))

    project.runpytest("--backend", "real").assert_outcomes(passed=1)

    assert dropped == ["mongodb://h:1/testkit_master", "mongodb://h:1/testkit_master"]


def test_an_unreachable_real_mongo_fails_the_run_with_its_url(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(url: str) -> None:
        raise BackendUnavailableError("MongoDB", url, ConnectionRefusedError(), MONGO_HELP)

    monkeypatch.setattr(plugin, "drop_mongo_database", unreachable)
    project.makepyfile(
        """
        def test_one(mongo_url):
            pass

        def test_two(mongo_url):
            pass
        """
    )

    result = project.runpytest("--backend", "real", "--mongo-url", "mongodb://h:1")

    result.assert_outcomes(errors=1)  # the run stopped after the first
    result.stdout.fnmatch_lines(["*MongoDB at mongodb://h:1/testkit_master did not answer*mongod*"])
