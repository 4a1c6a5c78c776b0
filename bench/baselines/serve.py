"""`python -m bench.baselines.serve NAME --port N`: a baseline app under uvicorn, configured as the
services' own `python -m <svc>` (one worker, uvloop, httptools, no access log), so only the app differs."""

import argparse

import uvicorn

NAMES = ("http", "articles_list", "per_request_proxy", "client_proxy", "broadcast", "sse", "processing")


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.baselines.serve")
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        f"bench.baselines.{args.name}:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
    )


if __name__ == "__main__":
    main()
