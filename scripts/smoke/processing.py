"""A text submitted for processing, accepted, and summarised in the background."""

import asyncio

from scripts.smoke.runner import Steps, Target, expect

POLL = 0.1  # seconds between looks at the article's status; the step's deadline bounds the wait


async def flow(target: Target, steps: Steps) -> None:
    http = target.http
    content = "A smoke test checks a deployed system. It runs from outside. It names what failed."
    async with steps("submit"):
        created = await http.post(
            "/processing/api/articles/", json={"title": f"smoke {target.run_id}", "content": content}
        )
        expect(created, 201)
        url = f"/processing/api/articles/{created.json()['id']}"
        steps.report.left_behind.append(f"processing article {url}")
        started = await http.post(f"{url}/process")
        expect(started, 202)
    async with steps("processed end to end, with a summary"):
        while (article := (await http.get(url)).json())["status"] != "processed":
            assert article["status"] in ("pending", "processing"), article
            await asyncio.sleep(POLL)
        assert article["summary"], article
