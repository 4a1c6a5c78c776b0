"""What more than one test module of the articles suite needs: the secret and the callables' types."""

from collections.abc import Awaitable, Callable
from typing import Any

SECRET = "test-secret-that-is-at-least-32-bytes"
LEEWAY = 10  # seconds of clock skew forgiven on a token's times: the service's default


AuthHeaders = Callable[..., dict[str, str]]


PostArticle = Callable[..., Awaitable[dict[str, Any]]]
