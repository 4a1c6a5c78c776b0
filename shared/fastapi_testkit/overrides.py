"""Dependency overrides that put back exactly what was there before."""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI


@contextmanager
def override_dependencies(app: FastAPI, overrides: Mapping[Callable[..., Any], Callable[..., Any]]) -> Iterator[None]:
    """Install `overrides` on `app` for the duration of the block.

    On exit each dependency gets back its previous override, or none if it had none.
    `app.dependency_overrides.clear()`, the usual teardown, would also wipe overrides that
    another fixture installed and still relies on.
    """
    saved = {d: app.dependency_overrides[d] for d in overrides if d in app.dependency_overrides}
    app.dependency_overrides.update(overrides)
    try:
        yield
    finally:
        for dependency in overrides:
            if dependency in saved:
                app.dependency_overrides[dependency] = saved[dependency]
            else:
                app.dependency_overrides.pop(dependency, None)
