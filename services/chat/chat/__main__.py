"""`python -m chat`: serve the app with uvicorn on its embedded defaults."""

import argparse
import os

import uvicorn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chat", description="Run the chat service.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    uvicorn.run("chat.app:create_app", factory=True, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
