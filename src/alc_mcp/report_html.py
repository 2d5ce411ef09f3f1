"""One self-contained HTML page for eval cards: inline SVG and CSS, no script, nothing
fetched from anywhere. Shows a summary table, a bar chart of mean score per card
(strategy) with 95 % CI whiskers, the score of every case, and tokens per case."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["CSS", "PALETTE", "hbar_chart", "render", "strategy_chart"]

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
PASS, FAIL = "#59a14f", "#e15759"

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 980px;
  color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
th { background: #f6f6f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #2d7a2d; font-weight: 600; } .fail { color: #b3261e; font-weight: 600; }
svg { display: block; margin: .5rem 0 1rem; } svg text { font: 12px system-ui, sans-serif; fill: #333; }
.note { color: #666; font-size: 12px; }
"""


def _fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def _label(card: Mapping[str, Any], with_id: bool = False) -> str:
    strategy = card.get("strategy") or {}
    name = strategy.get("name") if isinstance(strategy, Mapping) else strategy
    model = card.get("model")
    label = f"{name}" + (f" · {model}" if model else "")
    card_id = str(card.get("card_id") or "")
    return f"{label} ({card_id[-6:]})" if with_id and card_id else label


def strategy_chart(cards: Sequence[Mapping[str, Any]]) -> str:
    """Vertical bars: mean score per card, with its 95 % CI as a whisker."""
    width, height, left, bottom, top = 900, 300, 50, 60, 20
    plot_h = height - bottom - top
    slot = (width - left - 20) / max(1, len(cards))
    bar = min(90.0, slot * 0.6)
    parts = [
        f'<svg id="strategy-chart" role="img" aria-label="mean score per strategy" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in range(0, 11, 2):
        y = top + plot_h * (1 - tick / 10)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6e6e6"/>')
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{tick / 10:.1f}</text>')
    for i, card in enumerate(cards):
        summary = card.get("summary") or {}
        mean = float(summary.get("mean") or 0.0)
        low, high = (summary.get("ci_95") or [mean, mean])[:2]
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h * (1 - mean)
        color = PALETTE[i % len(PALETTE)]
        cx = x + bar / 2
        y_low, y_high = top + plot_h * (1 - float(low)), top + plot_h * (1 - float(high))
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{top + plot_h - y:.1f}" '
            f'fill="{color}"><title>{escape(_label(card))}: mean {mean:.3f}, 95% CI [{float(low):.3f}, '
            f"{float(high):.3f}]</title></rect>"
        )
        parts.append(
            f'<g class="whisker" stroke="#222" stroke-width="1.5">'
            f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y_low:.1f}" y2="{y_high:.1f}"/>'
            f'<line x1="{cx - 8:.1f}" x2="{cx + 8:.1f}" y1="{y_low:.1f}" y2="{y_low:.1f}"/>'
            f'<line x1="{cx - 8:.1f}" x2="{cx + 8:.1f}" y1="{y_high:.1f}" y2="{y_high:.1f}"/></g>'
        )
        parts.append(
            f'<text x="{cx:.1f}" y="{y - 6 if y_high > y - 14 else y_high - 6:.1f}" '
            f'text-anchor="middle">{mean:.2f}</text>'
        )
        label_y = height - bottom + 18
        label = escape(_label(card, with_id=True))
        parts.append(f'<text x="{cx:.1f}" y="{label_y}" text-anchor="middle">{label}</text>')
        parts.append(
            f'<text x="{cx:.1f}" y="{height - bottom + 34}" text-anchor="middle" class="note">'
            f"n={_fmt(summary.get('n'))}</text>"
        )
    parts.append(
        f'<line x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/></svg>'
    )
    return "".join(parts)


def _case_rows(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for case in card.get("cases") or []:
        runs = case.get("runs") or []
        scores = [float(r.get("score") or 0.0) for r in runs]
        passed = sum(1 for r in runs if r.get("passed") is True)
        chars = sum(float(r.get("prompt_chars") or 0) + float(r.get("response_chars") or 0) for r in runs)
        rows.append(
            {
                "name": case.get("name"),
                "mean": sum(scores) / len(scores) if scores else 0.0,
                "passed": passed,
                "runs": len(runs),
                "tokens": int(-(-chars // 4)) if chars else 0,
                "input": case.get("input"),
                "expected": case.get("expected"),
                "output": (runs[0].get("output") if runs else "") or "",
            }
        )
    return rows


def hbar_chart(
    rows: Sequence[Mapping[str, Any]], key: str, chart_id: str, maximum: float | None = None
) -> str:
    """Horizontal bars, one per case: its mean score (coloured pass/fail) or its tokens."""
    label_w, bar_w, row_h = 220, 600, 22
    height = row_h * len(rows) + 24
    top_value = maximum if maximum is not None else max([float(r[key]) for r in rows] or [1.0]) or 1.0
    parts = [
        f'<svg id="{chart_id}" role="img" width="{label_w + bar_w + 90}" height="{height}" '
        f'viewBox="0 0 {label_w + bar_w + 90} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, row in enumerate(rows):
        y = 8 + i * row_h
        value = float(row[key])
        w = bar_w * (value / top_value) if top_value else 0
        if key == "mean":
            color = (
                PASS
                if row["passed"] == row["runs"] and row["runs"]
                else FAIL
                if not row["passed"]
                else "#edc948"
            )
            shown = f"{value:.2f} ({row['passed']}/{row['runs']})"
        else:
            color, shown = PALETTE[0], f"{int(value)}"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">{escape(str(row["name"]))}</text>'
        )
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y}" width="{max(w, 1):.1f}" height="{row_h - 6}" '
            f'fill="{color}">'
            f"<title>{escape(str(row['name']))}: {shown}</title></rect>"
        )
        parts.append(f'<text x="{label_w + max(w, 1) + 6:.1f}" y="{y + 14}">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render(cards: Sequence[Mapping[str, Any]], title: str = "alc-mcp eval report") -> str:
    """The whole page for one or more cards (the first is shown case by case)."""
    if not cards:
        raise ValueError("a report needs at least one card")
    main = cards[0]
    scenario = main.get("scenario") or {}
    rows = _case_rows(main)
    summary_rows = []
    for i, card in enumerate(cards):
        s = card.get("summary") or {}
        low, high = (s.get("ci_95") or [None, None])[:2]
        usage = card.get("usage") or {}
        summary_rows.append(
            "<tr>"
            f'<td><span style="color:{PALETTE[i % len(PALETTE)]}">■</span> {escape(_label(card))}</td>'
            f"<td>{escape(str(card.get('card_id')))}</td>"
            f'<td class="num">{_fmt(s.get("n"))}</td><td class="num">{_fmt(s.get("pass_rate"))}</td>'
            f'<td class="num">{_fmt(s.get("mean"))}</td><td class="num">{_fmt(s.get("std_dev"))}</td>'
            f'<td class="num">[{_fmt(low)}, {_fmt(high)}]</td>'
            f'<td class="num">{_fmt(s.get("estimated_tokens"))}</td>'
            f'<td class="num">{_fmt(usage.get("round_trips"))}</td>'
            "</tr>"
        )
    case_table = "".join(
        "<tr>"
        f"<td>{escape(str(r['name']))}</td><td>{escape(str(r['input']))}</td>"
        f"<td>{escape(' | '.join(map(str, r['expected'] or [])))}</td>"
        f"<td>{escape(r['output'][:200])}</td>"
        f'<td class="num {"pass" if r["passed"] == r["runs"] else "fail"}">{r["mean"]:.2f}</td>'
        f'<td class="num">{r["tokens"]}</td>'
        "</tr>"
        for r in rows
    )
    by_tag = (main.get("summary") or {}).get("by_tag") or {}
    tag_rows = "".join(
        f"<tr><td>{escape(tag)}</td><td class='num'>{t.get('passed')}/{t.get('runs')}</td>"
        f"<td class='num'>{_fmt(t.get('pass_rate'))}</td><td class='num'>{_fmt(t.get('mean'))}</td></tr>"
        for tag, t in sorted(by_tag.items())
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="sub">Scenario <b>{escape(str(scenario.get("name")))}</b> (hash {escape(str(scenario.get("hash")))}),
{len(cards)} card(s). Scores are in [0, 1]; whiskers are 95% confidence intervals of the mean.</p>
<h2>Mean score per strategy</h2>
{strategy_chart(cards)}
<table><thead><tr><th>strategy</th><th>card</th><th class="num">n</th><th class="num">pass rate</th>
<th class="num">mean</th><th class="num">std dev</th><th class="num">95% CI</th><th class="num">~tokens</th>
<th class="num">round trips</th></tr></thead><tbody>{"".join(summary_rows)}</tbody></table>
<h2>Score per case — {escape(_label(main))}</h2>
{hbar_chart(rows, "mean", "case-chart", maximum=1.0)}
<h2>Tokens per case</h2>
<p class="note">Estimated from prompt and response sizes (about 4 bytes a token).</p>
{hbar_chart(rows, "tokens", "token-chart")}
<h2>By tag</h2>
<table><thead><tr><th>tag</th><th class="num">passed</th><th class="num">pass rate</th>
<th class="num">mean</th></tr></thead>
<tbody>{tag_rows}</tbody></table>
<h2>Cases</h2>
<table><thead><tr><th>case</th><th>input</th><th>expected</th><th>output (first run)</th><th>score</th>
<th>~tokens</th></tr></thead><tbody>{case_table}</tbody></table>
</body></html>
"""
