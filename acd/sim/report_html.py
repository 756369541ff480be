"""The self-contained HTML report: tables and inline SVG charts, no script, no external file.

Charts: service level over the day per queue (one line per configuration, its confidence band
shaded, the target dashed), occupancy over the day, and the distribution of occupancy across
advisors per configuration.
"""

from __future__ import annotations

import math
from html import escape

from acd.sim.comparison import Comparison, ConfigRun
from acd.sim.replications import Estimate
from acd.sim.report_text import (
    DAY_ROWS,
    QUEUE_ROWS,
    clock,
    format_count,
    format_percent,
    interval_cell,
)

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
_W, _H = 720, 260  # chart size in px
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 48, 16, 16, 36

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #ddd}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
.legend span{display:inline-block;margin-right:16px}.legend i{display:inline-block;width:12px;
height:12px;margin-right:4px;vertical-align:middle}.note{color:#666}
svg text{font:11px system-ui,sans-serif;fill:#444}
"""


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _axes(x_labels: list[str], y_max: float, y_fmt: str = "{:.0%}") -> list[str]:
    parts = []
    inner_h = _H - _PAD_T - _PAD_B
    for k in range(5):
        v = y_max * k / 4
        y = _PAD_T + inner_h * (1 - k / 4)
        parts.append(
            f'<line x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{_PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{y_fmt.format(v)}</text>'
        )
    n = len(x_labels)
    step = max(1, math.ceil(n / 10))  # at most ten labels: wider ones would overlap
    for i, label in enumerate(x_labels):
        if i % step:
            continue
        x = _x(i, n)
        parts.append(
            f'<text x="{x:.1f}" y="{_H - _PAD_B + 16}" text-anchor="middle">{escape(label)}</text>'
        )
    return parts


def _x(i: int, n: int) -> float:
    inner_w = _W - _PAD_L - _PAD_R
    return _PAD_L + inner_w * ((i + 0.5) / n)


def _y(v: float, y_max: float) -> float:
    inner_h = _H - _PAD_T - _PAD_B
    return _PAD_T + inner_h * (1 - min(max(v / y_max, 0.0), 1.0))


def _line_chart(
    series: list[tuple[str, list[Estimate]]], x_labels: list[str], target: float | None
) -> str:
    """Lines of means with shaded confidence bands, on a 0–100 % axis."""
    parts = [f'<svg width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" role="img">']
    parts += _axes(x_labels, 1.0)
    n = len(x_labels)
    if target is not None:
        y = _y(target, 1.0)
        parts.append(
            f'<line x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#888" stroke-dasharray="4 4"/>'
        )
    for k, (_label, values) in enumerate(series):
        color = _color(k)
        upper, lower, points = [], [], []
        for i, e in enumerate(values):
            if e.mean is None:
                continue
            x = _x(i, n)
            points.append(f"{x:.1f},{_y(e.mean, 1.0):.1f}")
            if e.low is not None and e.high is not None:
                upper.append(f"{x:.1f},{_y(e.high, 1.0):.1f}")
                lower.append(f"{x:.1f},{_y(e.low, 1.0):.1f}")
        if upper:
            band = " ".join(upper + lower[::-1])
            parts.append(f'<polygon points="{band}" fill="{color}" fill-opacity="0.15"/>')
        if points:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
                'stroke-width="2"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _histogram(series: list[tuple[str, list[float]]], bins: int = 20) -> str:
    """Advisors per occupancy bin (0–100 %), grouped bars, one colour per configuration."""
    counts = []
    for _label, values in series:
        c = [0] * bins
        for v in values:
            c[min(bins - 1, max(0, int(v * bins)))] += 1
        counts.append(c)
    # Round the axis up to a multiple of 4 so the five gridlines fall on whole advisors.
    top = 4 * math.ceil(max([1, *(max(c) for c in counts)]) / 4)
    labels = [f"{100 * i // bins}%" for i in range(bins)]
    parts = [f'<svg width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" role="img">']
    parts += _axes(labels, float(top), "{:.0f}")
    inner_w = _W - _PAD_L - _PAD_R
    slot = inner_w / bins
    width = slot * 0.8 / max(1, len(series))
    for k, c in enumerate(counts):
        for i, count in enumerate(c):
            if not count:
                continue
            x = _PAD_L + slot * i + slot * 0.1 + width * k
            y = _y(count, float(top))
            h = _H - _PAD_B - y
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" '
                f'fill="{_color(k)}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def render_html(comparison: Comparison) -> str:
    """The whole report as one HTML page."""
    runs = comparison.runs
    sc = comparison.scenario
    labels = [clock(s) for s in runs[0].summary.interval_starts]
    legend = '<p class="legend">' + "".join(
        f'<span><i style="background:{_color(k)}"></i>{escape(r.label)}</span>'
        for k, r in enumerate(runs)
    )
    legend += "</p>"
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>acd simulate — {escape(sc.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>What-if: {escape(sc.name)}</h1>",
        f"<p>{clock(sc.open_s)}–{clock(sc.close_s)}, {comparison.replications} replications "
        f"(seeds {comparison.seed}–{comparison.seed + comparison.replications - 1}), "
        f"{comparison.confidence:.0%} confidence intervals (mean ± half-width). The same "
        "callers meet every configuration.</p>",
        legend,
        "<h2>Summary</h2>",
        _summary_table(comparison),
    ]
    queue_names = list(runs[0].summary.queues)
    for q in queue_names:
        series = [
            (r.label, [i["service_level"] for i in r.summary.intervals.get(q, [])]) for r in runs
        ]
        out.append(f"<h2>Service level over the day — queue {escape(q)}</h2>")
        out.append(
            f'<p class="note">Dashed: target {sc.target_service_level:.0%}. '
            "Shaded: confidence interval.</p>"
        )
        out.append(_line_chart(series, labels, sc.target_service_level))
        out.append(_interval_table(comparison, q))
    out.append("<h2>Occupancy over the day (all advisors)</h2>")
    out.append(_line_chart([(r.label, r.summary.interval_occupancy) for r in runs], labels, None))
    out.append("<h2>Occupancy distribution across advisors</h2>")
    out.append(
        '<p class="note">Advisors per occupancy band (each advisor\'s mean over the '
        "replications; busy over busy plus available).</p>"
    )
    hist = [
        (
            r.label,
            [
                occupancy
                for e in r.summary.agents.values()
                if (occupancy := e["occupancy"].mean) is not None
            ],
        )
        for r in runs
    ]
    out.append(_histogram(hist))
    out.append(legend)
    for r in runs:
        out.append(_theory_table(r.label, r))
    for r in runs:
        out.append(f"<h2>Advisors — {escape(r.label)}</h2><table>")
        out.append(
            '<tr><th>advisor</th><th class="n">calls</th><th class="n">occupancy</th>'
            '<th class="n">breathers</th></tr>'
        )
        for agent_id, e in r.summary.agents.items():
            out.append(
                f"<tr><td>{escape(agent_id)}</td><td class=n>{format_count(e['calls'])}</td>"
                f"<td class=n>{format_percent(e['occupancy'])}</td>"
                f"<td class=n>{format_count(e['breathers'])}</td></tr>"
            )
        out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _summary_table(comparison: Comparison) -> str:
    runs = comparison.runs
    rows = ["<table><tr><th></th>"]
    rows += [f'<th class="n">{escape(r.label)}</th>' for r in runs]
    rows.append("</tr>")

    def section(title: str, cells: list[tuple[str, list[str]]]) -> None:
        rows.append(f'<tr><th colspan="{len(runs) + 1}" style="text-align:left">{title}</th></tr>')
        for label, values in cells:
            rows.append(
                f"<tr><td>{escape(label)}</td>"
                + "".join(f'<td class="n">{v}</td>' for v in values)
                + "</tr>"
            )

    section(
        "All queues",
        [
            (label, [escape(fmt(r.summary.total[key])) for r in runs])
            for key, label, fmt in QUEUE_ROWS + DAY_ROWS
        ],
    )
    for q in runs[0].summary.queues:
        section(
            f"Queue {escape(q)}",
            [
                (
                    label,
                    [
                        escape(fmt(r.summary.queues[q][key])) if q in r.summary.queues else "–"
                        for r in runs
                    ],
                )
                for key, label, fmt in QUEUE_ROWS
            ],
        )
    rows.append("</table>")
    return "".join(rows)


def _interval_table(comparison: Comparison, queue: str) -> str:
    runs = comparison.runs
    out = ["<table><tr><th>interval</th>"]
    out += [f'<th class="n">{escape(r.label)}</th>' for r in runs]
    out.append("</tr>")
    for i, start in enumerate(runs[0].summary.interval_starts):
        cells = []
        for r in runs:
            per = r.summary.intervals.get(queue)
            cells.append(escape(interval_cell(per[i])) if per else "–")
        out.append(
            f"<tr><td>{clock(start)}</td>" + "".join(f'<td class="n">{c}</td>' for c in cells)
        )
    out.append('</table><p class="note">Service level ± half-width | ASA | abandon rate.</p>')
    return "".join(out)


def _theory_table(label: str, run: ConfigRun) -> str:
    out = []
    for q, rows in run.theory.items():
        if not rows:
            continue
        note = (
            ""
            if rows[0].dedicated
            else " (advisors shared or several routing steps: a rough guide only)"
        )
        out.append(f"<h3>Theory check ({rows[0].model}) — queue {escape(q)}, {escape(label)}")
        out.append(f"{escape(note)}</h3><table>")
        out.append(
            '<tr><th>interval</th><th class="n">calls/h</th><th class="n">AHT s</th>'
            '<th class="n">on shift</th><th class="n">needed</th><th class="n">Erlang SL</th>'
            '<th class="n">simulated SL</th></tr>'
        )
        sim = run.summary.intervals.get(q, [])
        for i, t in enumerate(rows):
            predicted = f"{t.predicted.service_level:.1%}" if t.predicted is not None else "–"
            needed = str(t.needed.agents) if t.needed is not None else "–"
            simulated = format_percent(sim[i]["service_level"]) if i < len(sim) else ""
            out.append(
                f"<tr><td>{clock(t.start)}</td><td class=n>{t.calls_per_hour:.1f}</td>"
                f"<td class=n>{t.handle_s:.0f}</td><td class=n>{t.scheduled}</td>"
                f"<td class=n>{needed}</td><td class=n>{predicted}</td>"
                f"<td class=n>{simulated}</td></tr>"
            )
        out.append("</table>")
    return "".join(out)
