"""A pytest plugin for testing async FastAPI services.

Installing the package registers the plugin (fixtures, options, markers); the names below are
the helpers a test imports directly.
"""

from typing import TYPE_CHECKING, Any

from fastapi_testkit.backends import Backend
from fastapi_testkit.client import LifespanClient, lifespan_client
from fastapi_testkit.eventually import eventually
from fastapi_testkit.live_server import LiveServer, live_server
from fastapi_testkit.overrides import override_dependencies

if TYPE_CHECKING:
    from fastapi_testkit.jwt import create_token


def __getattr__(name: str) -> Any:
    """`create_token` on first use: it needs pyjwt, the `jwt` extra, which a project may not install."""
    if name == "create_token":
        from fastapi_testkit.jwt import create_token

        return create_token
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Backend",
    "LifespanClient",
    "LiveServer",
    "create_token",
    "eventually",
    "lifespan_client",
    "live_server",
    "override_dependencies",
]
