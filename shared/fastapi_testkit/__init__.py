"""A pytest plugin for testing async FastAPI services.

Installing the package registers the plugin (fixtures, options, markers); the names below are
the helpers a test imports directly.
"""

from fastapi_testkit.backends import Backend
from fastapi_testkit.client import LifespanClient, lifespan_client
from fastapi_testkit.eventually import eventually
from fastapi_testkit.jwt import create_token
from fastapi_testkit.live_server import LiveServer, live_server
from fastapi_testkit.overrides import override_dependencies

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
