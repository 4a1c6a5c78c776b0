"""What a case measured, how rounds are summarised, and the table, JSON and Markdown made of them."""

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

Headline = Literal["rate", "p99", "rss", "wall"]


@dataclass
class Measurement:
    """One round against one server. `capped` says why the figure is not to be trusted, if it is not."""

    rate: float | None = None  # per second, in the row's unit
    p50_ms: float | None = None
    p99_ms: float | None = None
    rss_mb: float | None = None
    capped: str | None = None  # the load generator or client, not the server, set the pace
    error: str | None = None  # failed or timed-out requests: the figure undercounts
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Row:
    """One line of the table: a case, its baseline, and the ratio of their headline figures."""

    case: str
    measures: str
    unit: str
    headline: Headline
    case_m: Measurement | None = None
    base_m: Measurement | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    rounds: int = 0

    @property
    def status(self) -> str:
        sides = [m for m in (self.case_m, self.base_m) if m is not None]
        if self.case_m is None:
            return "not run"
        if any(m.capped for m in sides):
            return "capped"
        if any(m.error for m in sides):
            return "errors"
        return "ok"

    @property
    def problem(self) -> str:
        """Why the ratio is not reported, naming the side."""
        for side, m in (("case", self.case_m), ("baseline", self.base_m)):
            if m is not None and (m.capped or m.error):
                return f"{side}: {m.capped or m.error}"
        return ""


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def headline_value(m: Measurement, headline: Headline) -> float | None:
    if headline in ("rate", "wall"):
        return m.rate
    if headline == "p99":
        return m.p99_ms
    return m.rss_mb


def summarise(rounds: list[Measurement]) -> Measurement:
    """The median of each figure over the rounds; the peak RSS is the largest; capped if any round was."""
    capped = next((m.capped for m in rounds if m.capped), None)
    error = next((m.error for m in rounds if m.error), None)
    rss = [m.rss_mb for m in rounds if m.rss_mb is not None]
    keys = {k for m in rounds for k in m.extra}
    return Measurement(
        rate=_median([m.rate for m in rounds]),
        p50_ms=_median([m.p50_ms for m in rounds]),
        p99_ms=_median([m.p99_ms for m in rounds]),
        rss_mb=max(rss) if rss else None,
        capped=capped,
        error=error,
        extra={k: v for k in sorted(keys) if (v := _median([m.extra.get(k) for m in rounds])) is not None},
    )


def paired_ratio(cases: list[Measurement], bases: list[Measurement], headline: Headline) -> float | None:
    """The median of per-round ratios: each round's case and baseline ran back to back, so the
    machine's noise of that moment hits both."""
    ratios = []
    for c, b in zip(cases, bases, strict=False):
        cv, bv = headline_value(c, headline), headline_value(b, headline)
        if cv is not None and bv:
            ratios.append(cv / bv)
    return statistics.median(ratios) if ratios else None


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


HEADER = [
    "case",
    "measures",
    "rate",
    "p50 ms",
    "p99 ms",
    "peak RSS MB",
    "baseline rate",
    "base p50",
    "base p99",
    "base RSS",
    "ratio",
    "target",
    "met",
]


def table_lines(rows: list[Row]) -> list[str]:
    """The rows as a Markdown table (readable as plain text too)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        c, b = row.case_m, row.base_m
        if c is None:
            cells = [row.case, row.measures, *(["-"] * 8), "-", row.target, f"not run: {row.note}"]
        else:
            ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
            if row.status != "ok":
                ratio = f"n/a ({row.problem})"
            met = {True: "met", False: "MISSED", None: "-"}[row.met]
            cells = [
                row.case,
                f"{row.measures} [{row.unit}]",
                _fmt(c.rate),
                _fmt(c.p50_ms, 2),
                _fmt(c.p99_ms, 2),
                _fmt(c.rss_mb),
                _fmt(b.rate) if b else "-",
                _fmt(b.p50_ms, 2) if b else "-",
                _fmt(b.p99_ms, 2) if b else "-",
                _fmt(b.rss_mb) if b else "-",
                ratio,
                row.target or "-",
                met,
            ]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {row.case}: {row.note}" for row in rows if row.note and row.case_m is not None]
    return lines + (["", *notes] if notes else [])


def write(rows: list[Row], meta: dict[str, object], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "latest.json", out_dir / "latest.md"
    payload = {"meta": meta, "rows": [{**asdict(row), "status": row.status, "problem": row.problem} for row in rows]}
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    head = [f"- {key}: {value}" for key, value in meta.items()]
    md_path.write_text("\n".join(["# Benchmark results", "", *head, "", *table_lines(rows), ""]))
    return json_path, md_path
