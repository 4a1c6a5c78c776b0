"""`python -m processing`: serve the app with uvicorn, as it is deployed."""

import argparse
import os

import uvicorn

from processing.settings import Settings

# Streams (SSE, WebSockets, a proxied stream) never end by themselves, and uvicorn's graceful
# shutdown waits for every open response: without a limit, one connected browser keeps the
# server from stopping. After this many seconds what is left is cancelled (clients reconnect).
GRACEFUL_SHUTDOWN_SECONDS = 3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="processing", description="Run the processing service.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    uvicorn.run(
        "processing.app:create_app",
        factory=True,  # the app reads its settings when uvicorn builds it
        host=args.host,
        port=args.port,
        # The serving stack users deploy (uvicorn[standard]): uvloop and httptools served a bare
        # endpoint 2.2x faster than asyncio and h11 with an access log (README, "Serving").
        loop="uvloop",
        http="httptools",
        access_log=Settings().access_log,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


if __name__ == "__main__":
    main()
