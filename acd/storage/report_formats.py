"""A report rendered for people and programs: text table, CSV, JSON, or one self-contained page.

The HTML page has no external resource (inline CSS and SVG, no script), so it can be mailed or
archived as it is: service level and volume per interval for all queues and for each queue, and
occupancy per advisor, then the tables.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from acd.core.percentiles import WAIT_PERCENTILES
from acd.storage.reports import ALL_QUEUES, AdvisorFigures, QueueFigures, Report, ServiceGap


class ReportFormat(StrEnum):
    """Output formats of ``acd report``."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    HTML = "html"


QUEUE_COLUMNS = (
    "queue",
    "start",
    "end",
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "answered_within_sl",
    "service_level",
    "asa_s",
    "aht_s",
    "longest_wait_s",
    "transfers",
    "overflows",
    "fallbacks",
    "timed_out",
    "rejected",
    "closed_callers",
    "callback_requested",
)
# Wait percentiles (nearest rank, seconds from first arrival): on the period's totals only.
WAIT_COLUMNS = tuple(
    f"{kind}_wait_p{p}_s" for kind in ("answered", "abandoned") for p in WAIT_PERCENTILES
)
ADVISOR_COLUMNS = (
    "agent_id",
    "calls_handled",
    "logged_in_s",
    "talk_s",
    "wrap_up_s",
    "ringing_s",
    "available_s",
    "paused_s",
    "pause_by_reason",
    "recovery_s",
    "breather_s",
    "occupancy",
)


def render(report: Report, fmt: ReportFormat) -> str:
    """The report in ``fmt``."""
    renderers: dict[ReportFormat, Callable[[Report], str]] = {
        ReportFormat.TABLE: render_table,
        ReportFormat.CSV: render_csv,
        ReportFormat.JSON: render_json,
        ReportFormat.HTML: render_html,
    }
    return renderers[fmt](report)


def _queue_name(queue: str) -> str:
    return "all queues" if queue == ALL_QUEUES else queue


def _cell(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if name in ("service_level", "occupancy"):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v:.0f}" for k, v in value.items()) or "-"
    return str(value)


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join(lines)


def _queue_rows(rows: Sequence[QueueFigures], columns: Sequence[str]) -> list[list[str]]:
    out = []
    for f in rows:
        cells = [_cell(c, getattr(f, c)) for c in columns]
        cells[0] = _queue_name(f.queue)
        if f.closed and "service_level" in columns:
            cells[columns.index("service_level")] = "closed"
        out.append(cells)
    return out


def render_table(report: Report) -> str:
    """Plain text for a terminal; intervals without any call are left out."""
    columns = [c for c in QUEUE_COLUMNS if c not in ("end", "fallbacks", "timed_out", "rejected")]
    parts = [
        f"acd report {report.start.isoformat(timespec='minutes')} -> "
        f"{report.end.isoformat(timespec='minutes')} ({report.timezone}), "
        f"interval {report.interval}, short abandon < {report.short_abandon_s:g} s",
        "",
        "Queues, whole period",
        _text_table(columns, _queue_rows(report.totals, columns)),
        "",
        "Wait percentiles, whole period (seconds from first arrival; nearest rank)",
        _text_table(["queue", *WAIT_COLUMNS], _queue_rows(report.totals, ["queue", *WAIT_COLUMNS])),
        "",
        f"Queues per {report.interval} (intervals with calls)",
        _text_table(
            columns,
            _queue_rows([f for f in report.intervals if f.offered or f.closed_callers], columns),
        ),
        "",
        "Advisors",
        _text_table(
            ADVISOR_COLUMNS,
            [[_cell(c, getattr(a, c)) for c in ADVISOR_COLUMNS] for a in report.advisors],
        ),
    ]
    if report.fairness is not None:
        f = report.fairness
        parts += [
            "",
            f"Fairness across {f.advisors} advisors (min / max / mean / stdev)",
            f"  calls handled  {f.calls.minimum:.0f} / {f.calls.maximum:.0f} / "
            f"{f.calls.mean:.1f} / {f.calls.stdev:.1f}",
            f"  talk (s)       {f.talk_s.minimum:.0f} / {f.talk_s.maximum:.0f} / "
            f"{f.talk_s.mean:.0f} / {f.talk_s.stdev:.0f}",
            f"  occupancy      {f.occupancy.minimum:.1%} / {f.occupancy.maximum:.1%} / "
            f"{f.occupancy.mean:.1%} / {f.occupancy.stdev:.1%}",
        ]
    if report.gaps:
        parts += ["", "acd was down (callers went to the fallback; not in the figures above)"]
        for gap in report.gaps:
            parts.append(
                f"  down from {gap.down_from.isoformat(timespec='seconds')} "
                f"to {gap.down_to.isoformat(timespec='seconds')}, {_gap_calls(gap)}"
            )
    return "\n".join(parts) + "\n"


GAP_COLUMNS = ("down_from", "down_to", "calls_reported", "calls_recovered", "calls_only_here")


def _gap_calls(gap: ServiceGap) -> str:
    if gap.calls_reported is None:
        return f"calls seen by Asterisk: unknown ({gap.calls_recovered} recorded from Asterisk)"
    return (
        f"calls seen by Asterisk: {gap.calls_reported} "
        f"({gap.calls_recovered} recorded from Asterisk, {gap.calls_only_here} only here)"
    )


def _gap_row(gap: ServiceGap) -> list[str]:
    """CSV/HTML cells of a gap row; an unknown count is an empty cell."""
    return [
        gap.down_from.isoformat(timespec="seconds"),
        gap.down_to.isoformat(timespec="seconds"),
        "" if gap.calls_reported is None else str(gap.calls_reported),
        str(gap.calls_recovered),
        "" if gap.calls_only_here is None else str(gap.calls_only_here),
    ]


def _plain(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if name == "pause_by_reason":
        return json.dumps(value)
    return value


def render_csv(report: Report) -> str:
    """CSV blocks separated by a blank line: queue rows (intervals, then ``total`` rows with
    ``start`` = period start; the wait percentiles, ``WAIT_COLUMNS``, on total rows only), then
    advisor rows (pause time by reason as a JSON object), then, when acd was down during the
    period, one row per gap (``GAP_COLUMNS``; an unknown count is empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = (*QUEUE_COLUMNS, *WAIT_COLUMNS)  # wait percentiles: empty on interval rows
    writer.writerow(["kind", *columns])
    for kind, rows in (("interval", report.intervals), ("total", report.totals)):
        for f in rows:
            writer.writerow([kind, *(_plain(c, getattr(f, c)) for c in columns)])
    out.write("\n")
    writer.writerow(ADVISOR_COLUMNS)
    for a in report.advisors:
        writer.writerow([_plain(c, getattr(a, c)) for c in ADVISOR_COLUMNS])
    if report.gaps:
        out.write("\n")
        writer.writerow(GAP_COLUMNS)
        for gap in report.gaps:
            writer.writerow(_gap_row(gap))
    return out.getvalue()


def report_as_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-able data (datetimes as ISO 8601 with their offset)."""

    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        return value

    data: dict[str, Any] = convert(dataclasses.asdict(report))
    return data


def render_json(report: Report) -> str:
    """JSON: period, intervals, totals, advisors, fairness, gaps (acd down)."""
    return json.dumps(report_as_dict(report), indent=2) + "\n"


# ---------------------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2733;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#5b6b7c;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:22px}
table{border-collapse:collapse;background:#fff;font-size:13px}
th,td{border:1px solid #dde3ea;padding:3px 8px;text-align:right}
th{background:#eef2f6}td:first-child,th:first-child{text-align:left}
.scroll{overflow-x:auto}
svg{background:#fff;border:1px solid #dde3ea;border-radius:6px}
.legend span{display:inline-block;margin-right:14px}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
"""

_OFFERED, _ANSWERED, _SL, _OCC = "#b8cde3", "#2f6fb0", "#d9822b", "#3a9a5b"


def _volume_chart(rows: Sequence[QueueFigures], title: str) -> str:
    """Bars: offered and answered per interval; line: service level (right axis, 0-100 %)."""
    width, height, left, right, top, bottom = 920, 240, 44, 44, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(rows))
    # A multiple of 4, so every gridline (quarters of the axis) is a whole number of calls.
    peak = 4 * math.ceil(max([1, *(f.offered for f in rows)]) / 4)
    slot = plot_w / n
    bar = max(1.0, slot * 0.4)
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="16" font-weight="bold">{html.escape(title)}</text>',
    ]
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef2f6"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">'
            f"{peak * k / 4:.0f}</text>"
            f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" font-size="10" fill="{_SL}">'
            f"{25 * k}%</text>"
        )
    step = max(1, n // 12)
    if rows and rows[0].end - rows[0].start <= timedelta(minutes=15):
        step = 4 * math.ceil(step / 4)  # label whole hours
    segments: list[list[str]] = [[]]
    for i, f in enumerate(rows):
        x = left + i * slot
        for value, colour, dx in ((f.offered, _OFFERED, 0.0), (f.answered, _ANSWERED, bar)):
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x + slot * 0.1 + dx:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{f.start:%H:%M} offered {f.offered}, answered {f.answered}</title></rect>"
            )
        if f.service_level is None:
            segments.append([])  # no call to measure: break the line rather than invent a slope
        else:
            segments[-1].append(
                f"{x + slot / 2:.1f},{top + plot_h - plot_h * min(1.0, f.service_level):.1f}"
            )
        if i % step == 0:
            label = f"{f.start:%H:%M}" if (f.end - f.start).days < 1 else f"{f.start:%m-%d}"
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 14}" font-size="10" '
                f'text-anchor="middle">{label}</text>'
            )
    for points in segments:
        if len(points) > 1:
            parts.append(
                f'<polyline fill="none" stroke="{_SL}" stroke-width="2" '
                f'points="{" ".join(points)}"/>'
            )
        parts += [
            f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="{_SL}"/>'
            for p in points
        ]
    parts.append("</svg>")
    return "".join(parts)


def _occupancy_chart(advisors: Sequence[AdvisorFigures]) -> str:
    rows = [a for a in advisors if a.logged_in_s > 0]
    width, row_h, left = 920, 22, 120
    height = 30 + row_h * max(1, len(rows))
    plot_w = width - left - 80
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="Occupancy per advisor">',
        '<text x="8" y="16" font-weight="bold">Occupancy per advisor</text>',
    ]
    for i, a in enumerate(rows):
        y = 26 + i * row_h
        occupancy = a.occupancy or 0.0
        w = plot_w * min(1.0, occupancy)
        parts.append(
            f'<text x="{left - 8}" y="{y + 13}" text-anchor="end">{html.escape(a.agent_id)}</text>'
            f'<rect x="{left}" y="{y}" width="{plot_w}" height="{row_h - 6}" fill="#eef2f6"/>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row_h - 6}" fill="{_OCC}">'
            f"<title>{html.escape(a.agent_id)}: talk {a.talk_s:.0f} s, wrap-up "
            f"{a.wrap_up_s:.0f} s, {a.calls_handled} calls</title></rect>"
            f'<text x="{left + plot_w + 8}" y="{y + 13}">'
            f"{_cell('occupancy', a.occupancy)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def render_html(report: Report) -> str:
    """One self-contained HTML page with the charts and the tables."""
    everything = next(f for f in report.totals if f.queue == ALL_QUEUES)
    cards = [
        ("offered", str(everything.offered)),
        ("answered", str(everything.answered)),
        ("abandoned", str(everything.abandoned)),
        ("service level", _cell("service_level", everything.service_level)),
        ("ASA (s)", _cell("asa_s", everything.asa_s)),
        ("AHT (s)", _cell("aht_s", everything.aht_s)),
        ("longest wait (s)", _cell("longest_wait_s", everything.longest_wait_s)),
    ]
    queues = [f.queue for f in report.totals if f.queue != ALL_QUEUES]
    charts = [
        _volume_chart(
            [f for f in report.intervals if f.queue == ALL_QUEUES],
            "All queues: volume and service level",
        )
    ]
    charts += [
        _volume_chart(
            [f for f in report.intervals if f.queue == q], f"{q}: volume and service level"
        )
        for q in queues
    ]
    columns = [c for c in QUEUE_COLUMNS if c != "end"]
    title = (
        f"acd report {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} "
        f"({report.timezone})"
    )
    legend = (
        '<div class="legend">'
        f'<span><i class="sw" style="background:{_OFFERED}"></i>offered</span>'
        f'<span><i class="sw" style="background:{_ANSWERED}"></i>answered</span>'
        f'<span><i class="sw" style="background:{_SL}"></i>service level</span></div>'
    )
    gaps = ""
    if report.gaps:
        gaps = (
            '<h2 class="down">acd was down</h2><div class="sub">Callers went to the dialplan\'s '
            "fallback queue. Calls recorded from Asterisk at the restart are in the figures; "
            "the others are counted only here (empty: Asterisk could not say).</div>"
            + _html_table(
                ["down from", "down to", "calls seen by Asterisk", "recorded", "only here"],
                [_gap_row(gap) for gap in report.gaps],
            )
        )
    fairness = ""
    if report.fairness is not None:
        f = report.fairness
        fairness = "<h2>Fairness</h2>" + _html_table(
            ["across " + str(f.advisors) + " advisors", "min", "max", "mean", "stdev"],
            [
                ["calls handled", *(f"{v:.1f}" for v in dataclasses.astuple(f.calls))],
                ["talk (s)", *(f"{v:.0f}" for v in dataclasses.astuple(f.talk_s))],
                ["occupancy", *(f"{v:.1%}" for v in dataclasses.astuple(f.occupancy))],
            ],
        )
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f'<div class="sub">interval {report.interval}; short abandon under '
        f"{report.short_abandon_s:g} s; service level = answered within the threshold of the "
        "queue that answered (wait from first arrival) / (offered - short abandons - rejected)"
        "</div>",
        '<div class="cards">'
        + "".join(
            f'<div class="card">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in cards
        )
        + "</div>",
        gaps,
        "<h2>Volume and service level</h2>",
        legend,
        *charts,
        "<h2>Advisors</h2>",
        _occupancy_chart(report.advisors),
        _html_table(
            ADVISOR_COLUMNS,
            [[_cell(c, getattr(a, c)) for c in ADVISOR_COLUMNS] for a in report.advisors],
        ),
        fairness,
        "<h2>Queues, whole period</h2>",
        _html_table(columns, _queue_rows(report.totals, columns)),
        "<h2>Wait percentiles, whole period (seconds from first arrival)</h2>",
        _html_table(["queue", *WAIT_COLUMNS], _queue_rows(report.totals, ["queue", *WAIT_COLUMNS])),
        f"<h2>Queues per {report.interval}</h2>",
        _html_table(
            columns,
            _queue_rows([f for f in report.intervals if f.offered or f.closed_callers], columns),
        ),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
