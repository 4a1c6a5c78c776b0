"""`python -m events`: serve the app with uvicorn on its embedded defaults."""

import argparse
import os

import uvicorn

# An SSE stream never ends by itself, and uvicorn's graceful shutdown waits for every open
# response: without a limit, one connected browser keeps the server from stopping. After
# this many seconds the remaining streams are cancelled; clients reconnect with Last-Event-ID.
GRACEFUL_SHUTDOWN_SECONDS = 3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="events", description="Run the events service.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    uvicorn.run(
        "events.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


if __name__ == "__main__":
    main()
