"""Every service answers GET /health through the gateway, and the gateway reports all its dependencies ok."""

from scripts.smoke.runner import Report, StepFailedError, Steps, Target, expect

UPSTREAMS = ("articles", "chat", "events", "processing")


async def check(target: Target, report: Report) -> None:
    """One check per service, so a failure names the service that is down."""
    for service in UPSTREAMS:
        steps = Steps(report, service, target.timeout)
        try:
            async with steps("health"):
                expect(await target.http.get(f"/{service}/health"), 200)
        except StepFailedError:
            pass  # recorded; the other services are still checked
    steps = Steps(report, "gateway", target.timeout)
    try:
        async with steps("health (every upstream, Redis, the database)"):
            response = await target.http.get("/health")
            dependencies = response.json().get("dependencies", {})
            down = {name: state for name, state in dependencies.items() if state != "ok"}
            assert not down, "not ok: " + ", ".join(f"{name} {state}" for name, state in down.items())
            expect(response, 200)
    except StepFailedError:
        pass
