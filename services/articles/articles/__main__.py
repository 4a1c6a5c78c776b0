"""`python -m articles`: serve the app as it is deployed (serving.py says how)."""

import argparse
import os

from articles import serving


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="articles", description="Run the articles service.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    serving.run(args.host, args.port)


if __name__ == "__main__":
    main()
