"""The side-by-side text report: one column per configuration, ``mean ± half-width`` cells."""

from __future__ import annotations

from collections.abc import Callable

from acd.sim.comparison import Comparison
from acd.sim.replications import Estimate
from acd.sim.theory import IntervalTheory

# Per-advisor rows are listed in the text report up to this many advisors (the HTML has all).
MAX_ADVISOR_ROWS = 40


def clock(seconds: float) -> str:
    """Seconds since midnight as ``HH:MM``."""
    minutes = round(seconds / 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_percent(e: Estimate) -> str:
    """``81.2% ± 1.4`` (half-width in percentage points)."""
    if e.mean is None:
        return "–"
    hw = f" ± {e.half_width * 100:.1f}" if e.half_width is not None else ""
    return f"{e.mean * 100:.1f}%{hw}"


def format_seconds(e: Estimate) -> str:
    """``12.3 s ± 1.1``."""
    if e.mean is None:
        return "–"
    hw = f" ± {e.half_width:.1f}" if e.half_width is not None else ""
    return f"{e.mean:.1f} s{hw}"


def format_count(e: Estimate) -> str:
    """``1,234.5 ± 12.0``."""
    if e.mean is None:
        return "–"
    hw = f" ± {e.half_width:.1f}" if e.half_width is not None else ""
    return f"{e.mean:,.1f}{hw}"


def format_ratio(e: Estimate) -> str:
    """``0.045 ± 0.004``."""
    if e.mean is None:
        return "–"
    hw = f" ± {e.half_width:.3f}" if e.half_width is not None else ""
    return f"{e.mean:.3f}{hw}"


def interval_cell(figures: dict[str, Estimate]) -> str:
    """``85±4% | 12s | 3%``: one queue in one interval, compact enough for side-by-side."""
    sl, asa, ab = figures["service_level"], figures["asa_s"], figures["abandon_rate"]
    if sl.mean is None:
        return "no calls"
    hw = f"±{sl.half_width * 100:.0f}" if sl.half_width is not None else ""
    asa_text = f"{asa.mean:.0f}s" if asa.mean is not None else "–"
    ab_text = f"{ab.mean * 100:.0f}%" if ab.mean is not None else "–"
    return f"{sl.mean * 100:.0f}{hw}% | {asa_text} | {ab_text}"


Formatter = Callable[[Estimate], str]

QUEUE_ROWS: tuple[tuple[str, str, Formatter], ...] = (
    ("offered", "calls offered", format_count),
    ("service_level", "service level", format_percent),
    ("asa_s", "average speed of answer", format_seconds),
    ("abandon_rate", "abandon rate", format_percent),
    ("aht_s", "average handle time", format_seconds),
    ("closed", "callers while closed", format_count),
    ("longest_wait_s", "longest wait", format_seconds),
)
DAY_ROWS: tuple[tuple[str, str, Formatter], ...] = (
    ("occupancy", "occupancy (all advisors)", format_percent),
    ("breathers", "breathers (workload cap)", format_count),
    ("breather_holds", "breather alerts (callers held)", format_count),
    ("calls_per_advisor", "calls per advisor", format_count),
    ("calls_spread_sd", "fairness: sd of calls", format_count),
    ("occupancy_spread_sd", "fairness: sd of occupancy", format_ratio),
    ("unfinished", "callers still waiting at stop", format_count),
    ("callbacks_requested", "callbacks requested", format_count),
    ("callbacks_completed", "callbacks completed", format_count),
    ("callbacks_failed", "callbacks failed", format_count),
)


def render_text(comparison: Comparison) -> str:
    """The whole text report."""
    runs = comparison.runs
    sc = comparison.scenario
    label_w = 32
    col_w = max(24, *(len(r.label) + 2 for r in runs))
    lines: list[str] = []

    def row(label: str, cells: list[str]) -> None:
        lines.append(label.ljust(label_w) + "".join(c.rjust(col_w) for c in cells))

    seeds = f"{comparison.seed}–{comparison.seed + comparison.replications - 1}"
    lines.append(
        f"Scenario {sc.name!r}: {clock(sc.open_s)}–{clock(sc.close_s)}, "
        f"{comparison.replications} replications (seeds {seeds}), "
        f"{comparison.confidence:.0%} confidence intervals"
    )
    if sc.warmup_s:
        lines.append(f"First {sc.warmup_s / 60:g} min left out of the figures (warm-up).")
    lines.append("")
    row("", [r.label for r in runs])
    lines.append("All queues")
    for key, label, fmt in QUEUE_ROWS + DAY_ROWS:
        row(f"  {label}", [fmt(r.summary.total[key]) for r in runs])
    queue_names = list(runs[0].summary.queues)
    for q in queue_names:
        lines.append(f"Queue {q}")
        for key, label, fmt in QUEUE_ROWS:
            row(
                f"  {label}",
                [fmt(r.summary.queues[q][key]) if q in r.summary.queues else "–" for r in runs],
            )
    for q in queue_names:
        lines.append("")
        lines.append(
            f"By interval, queue {q}: service level ± half-width | ASA | abandon rate (means)"
        )
        starts = runs[0].summary.interval_starts
        for i, start in enumerate(starts):
            cells = []
            for r in runs:
                per = r.summary.intervals.get(q)
                cells.append(interval_cell(per[i]) if per else "–")
            row(f"  {clock(start)}", cells)
    lines.append("")
    lines.append("Occupancy by interval (all advisors)")
    for i, start in enumerate(runs[0].summary.interval_starts):
        row(f"  {clock(start)}", [format_percent(r.summary.interval_occupancy[i]) for r in runs])
    for r in runs:
        lines.extend(_theory_lines(r.label, r.theory, r.summary.intervals))
    for r in runs:
        agents = r.summary.agents
        if not agents or len(agents) > MAX_ADVISOR_ROWS:
            continue
        lines.append("")
        lines.append(f"Advisors, {r.label}")
        lines.append(f"  {'advisor':<20}{'calls':>16}{'occupancy':>20}{'breathers':>16}")
        for agent_id, e in agents.items():
            lines.append(
                f"  {agent_id:<20}{format_count(e['calls']):>16}"
                f"{format_percent(e['occupancy']):>20}{format_count(e['breathers']):>16}"
            )
    return "\n".join(lines) + "\n"


def _theory_lines(
    label: str,
    theory: dict[str, list[IntervalTheory]],
    intervals: dict[str, list[dict[str, Estimate]]],
) -> list[str]:
    lines: list[str] = []
    for q, rows in theory.items():
        if not rows:
            continue
        lines.append("")
        note = (
            ""
            if rows[0].dedicated
            else " — advisors shared with other queues or several routing steps: a rough guide"
        )
        model = rows[0].model
        lines.append(f"Theory check ({model}), queue {q}, {label}{note}")
        lines.append(
            f"  {'interval':<10}{'calls/h':>9}{'AHT s':>8}{'on shift':>10}{'needed':>8}"
            f"{'Erlang SL':>11}{'simulated SL':>20}"
        )
        sim = intervals.get(q, [])
        for i, t in enumerate(rows):
            needed = str(t.needed.agents) if t.needed is not None else "–"
            predicted = (
                f"{t.predicted.service_level * 100:.1f}%" if t.predicted is not None else "–"
            )
            simulated = format_percent(sim[i]["service_level"]) if i < len(sim) else "–"
            lines.append(
                f"  {clock(t.start):<10}{t.calls_per_hour:>9.1f}{t.handle_s:>8.0f}"
                f"{t.scheduled:>10}{needed:>8}{predicted:>11}{simulated:>20}"
            )
    return lines
