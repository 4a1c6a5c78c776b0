"""`python -m gateway`: serve the app with uvicorn on its embedded defaults."""

import argparse
import os

import uvicorn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gateway", description="Run the gateway.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    uvicorn.run("gateway.app:create_app", factory=True, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
