"""`worker_id` where pytest-xdist is not installed (or is disabled with `-p no:xdist`).

pytest-xdist defines a `worker_id` fixture itself (`gw0`, `gw1`, ..., `master` outside a
distributed run). The kit's fixtures name their databases after it, so without xdist the kit
registers this one, which gives `master`, as xdist's does in a run it does not distribute.
(Without xdist there are no workers, so there is nothing else to give.)
"""

import pytest


@pytest.fixture(scope="session")
def worker_id() -> str:
    """`master`: without pytest-xdist, the one process runs every test."""
    return "master"
