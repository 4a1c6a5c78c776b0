"""pytest-xdist for real: two workers writing the same row id and the same key at the same
moment never see each other's data, on either backend. Every suite runs under `-n 2` and
relies on this (README, "Real backends": a database and a Redis database per worker).

A small project runs under `-n 2 --dist each` (each worker runs the one test). Both workers
write row id 1 and key "k" holding their own name, meet at a barrier (files in a folder both
can see), so that neither reads before both have written, then read back: each must find only
its own.
"""

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastapi_testkit import Backend

PROJECT = """
import asyncio, json, os, time
from pathlib import Path

import fakeredis
from redis.asyncio import Redis
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

BARRIER = Path(os.environ["XDIST_BARRIER"])
items = Table("items", MetaData(), Column("id", Integer, primary_key=True), Column("owner", String(20)))


async def meet(step, worker_id):
    # Each worker leaves a file, then waits (with a deadline) for the other's.
    (BARRIER / f"{step}-{worker_id}").touch()
    deadline = time.monotonic() + 20
    while len(list(BARRIER.glob(f"{step}-*"))) < 2:
        assert time.monotonic() < deadline, f"the other worker never reached {step!r}"
        await asyncio.sleep(0.01)


async def test_same_row_and_key(database_url, redis_url, worker_id):
    engine = create_async_engine(database_url)
    redis = Redis.from_url(redis_url) if redis_url else fakeredis.FakeAsyncRedis()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(items.metadata.create_all)
            await connection.execute(insert(items).values(id=1, owner=worker_id))
        await redis.set("k", worker_id)
        await meet("written", worker_id)
        async with engine.connect() as connection:
            rows = [tuple(row) for row in await connection.execute(select(items.c.id, items.c.owner))]
        value = await redis.get("k")
        await meet("read", worker_id)  # neither cleans up before both have read
    finally:
        await redis.aclose()
        await engine.dispose()
    (BARRIER / f"{worker_id}.json").write_text(
        json.dumps({"rows": rows, "key": value.decode(), "database_url": database_url, "redis_url": redis_url})
    )
    assert rows == [(1, worker_id)]
    assert value == worker_id.encode()
"""

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
filterwarnings = error
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def private_redis(backend: Backend) -> Iterator[str | None]:
    """Real backend: a Redis server of this test's own, on a free port, stopped at the end.

    Not the shared server: this suite's own xdist workers hold databases N and N+1 of it, and
    the inner run's two workers would take the same numbers, flushing under each other's feet.
    """
    if backend is Backend.EMBEDDED:
        yield None
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("the real-backend xdist test starts a Redis of its own: install redis-server")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, "redis-server exited at start"
                assert time.monotonic() < deadline, "redis-server did not listen within 10 s"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.slow
def test_two_xdist_workers_writing_the_same_row_and_key_never_see_each_other(
    pytester: pytest.Pytester,
    pytestconfig: pytest.Config,
    backend: Backend,
    private_redis: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    barrier = pytester.mkdir("barrier")
    monkeypatch.setenv("XDIST_BARRIER", str(barrier))
    pytester.makeini(INI)
    pytester.makepyfile(test_isolation=PROJECT)
    args = ["-n", "2", "--dist", "each", "-p", "no:cacheprovider", "--backend", backend.value]
    # The fuzzing plugins are not needed there and take seconds to import in each worker.
    args += ["-p", "no:hypothesispytest", "-p", "no:schemathesis", "-p", "no:fastapi_testkit.fuzz"]
    if backend is Backend.REAL:
        args += ["--postgres-url", pytestconfig.getoption("postgres_url"), "--redis-url", str(private_redis)]

    result = pytester.runpytest_subprocess(*args, timeout=120)

    result.assert_outcomes(passed=2)
    seen = {path.stem: json.loads(path.read_text()) for path in Path(barrier).glob("gw*.json")}
    assert sorted(seen) == ["gw0", "gw1"]
    for worker, what in seen.items():
        assert (what["rows"], what["key"]) == ([[1, worker]], worker)
    assert seen["gw0"]["database_url"] != seen["gw1"]["database_url"]
    if backend is Backend.REAL:
        assert [seen[w]["redis_url"].rsplit("/", 1)[1] for w in ("gw0", "gw1")] == ["0", "1"]
