"""The command line: `python -m scripts.smoke --base-url http://127.0.0.1:8000` (hatch run smoke)."""

import argparse
import asyncio
import secrets
import sys
import time
from typing import TextIO

import httpx
import jwt

from scripts.smoke import articles, chat, events, health, processing
from scripts.smoke.runner import Report, Target, run_flow

# The services' development secret (ARTICLES_JWT_SECRET and CHAT_JWT_SECRET default to it).
DEV_SECRET = "change-me-in-production-a-32-byte-key"
TOKEN_LIFETIME = 600  # seconds: longer than any run
FLOWS = {"articles": articles.flow, "chat": chat.flow, "events": events.flow, "processing": processing.flow}


def token_for(user: str, secret: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": user, "iat": now, "exp": now + TOKEN_LIFETIME}, secret, algorithm="HS256")


def subject_of(token: str) -> str:
    """The user a given token names (not verified here: the services do that)."""
    subject: str = jwt.decode(token, options={"verify_signature": False})["sub"]
    return subject


async def smoke(base_url: str, *, token: str | None, secret: str, step_timeout: float, out: TextIO) -> int:
    run_id = f"{int(time.time())}-{secrets.token_hex(3)}"
    user = subject_of(token) if token else f"smoke-{run_id}"
    report = Report(out)
    print(f"smoke: {base_url}, run {run_id}, {step_timeout:g}s deadline per step", file=out, flush=True)
    async with httpx.AsyncClient(base_url=base_url, timeout=step_timeout) as http:
        target = Target(
            http=http,
            ws_url=base_url.replace("http", "ws", 1).rstrip("/"),
            token=token or token_for(user, secret),
            user=user,
            run_id=run_id,
            timeout=step_timeout,
        )
        await health.check(target, report)
        for service, flow in FLOWS.items():
            await run_flow(service, flow, target, report)
    return report.summary()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="smoke", description=__doc__)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the gateway")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--jwt-secret", default=DEV_SECRET, help="sign a token for a user of this run (default: dev)")
    who.add_argument("--token", help="a token to use instead (its subject becomes the run's user)")
    parser.add_argument("--timeout", type=float, default=10.0, help="deadline of each step, in seconds")
    options = parser.parse_args(argv)
    base_url = options.base_url.rstrip("/")
    return asyncio.run(
        smoke(base_url, token=options.token, secret=options.jwt_secret, step_timeout=options.timeout, out=sys.stdout)
    )


if __name__ == "__main__":
    sys.exit(main())
