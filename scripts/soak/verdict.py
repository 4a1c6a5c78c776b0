"""The tolerance check, the table, and where it is written (beside the bench results)."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Tolerance:
    """How far above its baseline a metric may end: the larger of an absolute and a relative margin."""

    absolute: float
    relative: float = 0.0

    def allowed(self, baseline: float) -> float:
        return baseline + max(self.absolute, self.relative * baseline)


# Why these margins: RSS does not shrink back exactly (CPython keeps freed arenas, allocators
# fragment), so a little growth is normal and a leak is what keeps growing past it; a few file
# descriptors, Redis clients and database connections may be a pool that grew to its working
# size and keeps its idle connections (redis-py never closes them, SQLAlchemy keeps pool_size).
TOLERANCES = {
    "rss_mb": Tolerance(absolute=20.0, relative=0.25),
    "fds": Tolerance(absolute=6),
    "redis_clients": Tolerance(absolute=3),
    "db_connections": Tolerance(absolute=3),
}


@dataclass(frozen=True)
class Row:
    service: str
    metric: str
    baseline: float
    peak: float
    final: float
    allowed: float

    @property
    def ok(self) -> bool:
        return self.final <= self.allowed


def rows(
    baseline: dict[str, dict[str, float]], peak: dict[str, dict[str, float]], final: dict[str, dict[str, float]]
) -> list[Row]:
    """One row per service and metric measured at baseline; a metric missing at the end fails."""
    table = []
    for service, metrics in sorted(baseline.items()):
        for metric, before in metrics.items():
            after = final.get(service, {}).get(metric, float("inf"))
            most = max(peak.get(service, {}).get(metric, before), before, after)
            table.append(Row(service, metric, before, most, after, TOLERANCES[metric].allowed(before)))
    return table


def settled(baseline: dict[str, dict[str, float]], now: dict[str, dict[str, float]]) -> bool:
    return all(row.ok for row in rows(baseline, now, now))


def markdown(table: list[Row]) -> str:
    lines = ["| service | metric | baseline | peak | final | allowed | verdict |", "|---|---|---|---|---|---|---|"]
    for r in table:
        values = " | ".join(_n(v) for v in (r.baseline, r.peak, r.final, r.allowed))
        lines.append(f"| {r.service} | {r.metric} | {values} | {'ok' if r.ok else 'NOT BACK'} |")
    return "\n".join(lines)


def _n(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def failures(table: list[Row], load: dict[str, Any], missing: list[int]) -> list[str]:
    """Everything that makes the soak fail, in words; empty when it passed."""
    found = [
        f"{r.service} {r.metric} {_n(r.final)} > {_n(r.allowed)} (baseline {_n(r.baseline)})" for r in table if not r.ok
    ]
    if load["server_errors"]:
        found.append(f"{load['server_errors']} responses with a 5xx status")
    found += [f"{n} x {what}" for what, n in load["unexpected"].items()]
    found += [f"{n} x failed round ({what})" for what, n in load["errors"].items()]
    if missing:
        found.append(f"{len(missing)} articles created but not there: {missing[:10]}")
    return found


def write(report: dict[str, Any], table: list[Row], directory: Path, name: str) -> tuple[Path, Path]:
    """`<name>.json` and `<name>.md` in `directory` (bench/results/local by default, bench/results with --save)."""
    directory.mkdir(parents=True, exist_ok=True)
    as_json, as_md = directory / f"{name}.json", directory / f"{name}.md"
    as_json.write_text(json.dumps(report | {"resources": [asdict(r) | {"ok": r.ok} for r in table]}, indent=2) + "\n")
    head = [f"# Soak: {report['verdict']}", ""] + [
        f"- {key}: {report[key]}" for key in ("date", "backend", "seconds", "base_url")
    ]
    load = report["load"]
    head += [
        f"- rounds: {load['rounds']}",
        f"- responses: {load['responses']}",
        f"- articles checked: {report['articles']}",
    ]
    head += [f"- not measured: {report['not_measured']}", ""]
    problems = [f"- FAILED: {item}" for item in report["failures"]]
    as_md.write_text("\n".join([*head, markdown(table), "", *problems]).rstrip() + "\n")
    return as_json, as_md
