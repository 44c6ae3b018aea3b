"""Usage report for chargeback: writes usage.csv and usage.html from the result of redwood.maas.usage_info.

  usage_report.py OUT_DIR < usage.json        (the registered module result, as JSON)

usage.csv: one row per inventory user, team, key and model (and the rows the module adds for what is not in the
inventory): successful requests, failed requests, hits in the last 24 h, prompt and completion tokens, cost.
usage.html: the same table with charts (tokens per team or user, requests over time, cost per team or user over
time, cost per model over time), plain SVG, no JavaScript. Files are rewritten only when their content changes.
Prints a JSON summary: the paths, the totals and whether a file changed.
"""
import csv
import html
import io
import json
import os
import sys

FIELDS = ["dimension", "name", "requests", "failed_requests", "hits_last_24h", "prompt_tokens", "completion_tokens",
          "total_tokens", "cost_usd", "period_start", "period_end"]
COLOURS = ["#3b6ea5", "#d1762f", "#4b9a4b", "#b8433f", "#7d5fa6", "#8a6a3b", "#c25c9c", "#6b6b6b", "#a4a43a", "#2ca0b0"]


def bar_chart(title, items, unit):
    """A horizontal SVG bar chart of (label, value) pairs."""
    items = list(items) or [("(no data)", 0)]
    top = max(value for _label, value in items) or 1
    h = 24 * len(items) + 30
    bars = []
    for i, (label, value) in enumerate(items):
        y = 24 * i + 20
        w = 420 * value / top
        bars.append(f'<text x="0" y="{y + 14}" font-size="12">{html.escape(str(label))}</text>'
                    f'<rect x="190" y="{y}" width="{w:.1f}" height="18" fill="#3b6ea5"/>'
                    f'<text x="{195 + w:.1f}" y="{y + 14}" font-size="12">{value:g} {unit}</text>')
    return (f'<h2>{html.escape(title)}</h2><svg xmlns="http://www.w3.org/2000/svg" width="720" height="{h}" '
            f'role="img" aria-label="{html.escape(title)}">{"".join(bars)}</svg>')


def line_chart(title, series, buckets, unit):
    """An SVG chart with one line per series ``{label: {bucket: value}}`` over ``buckets``, with a legend."""
    series = series or {"(no data)": {}}
    buckets = buckets or ["-"]
    top = max([v for per in series.values() for v in per.values()] + [0]) or 1
    width, height, left, bottom = 560, 200, 60, 30
    step = width / max(1, len(buckets) - 1)
    parts = [f'<line x1="{left}" y1="{height}" x2="{left + width}" y2="{height}" stroke="#999"/>',
             f'<text x="0" y="14" font-size="11">{top:.6g} {unit}</text>',
             f'<text x="{left}" y="{height + 16}" font-size="11">{html.escape(buckets[0])}</text>',
             f'<text x="{left + width}" y="{height + 16}" font-size="11" text-anchor="end">'
             f'{html.escape(buckets[-1])}</text>']
    for i, (label, per) in enumerate(sorted(series.items())):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(f"{left + n * step:.1f},{height - (height - 20) * per.get(b, 0) / top:.1f}"
                          for n, b in enumerate(buckets))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        for n, b in enumerate(buckets):
            if per.get(b):
                parts.append(f'<circle cx="{left + n * step:.1f}" cy="{height - (height - 20) * per[b] / top:.1f}" '
                             f'r="3" fill="{colour}"><title>{html.escape(label)} {html.escape(b)}: '
                             f'{per[b]:.6g} {unit}</title></circle>')
        total = sum(per.values())
        parts.append(f'<rect x="{left + width + 20}" y="{20 * i + 8}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{left + width + 38}" y="{20 * i + 18}" font-size="12">{html.escape(label)} '
                     f'({total:.6g} {unit})</text>')
    h = max(height + bottom, 20 * len(series) + 20)
    return (f'<h2>{html.escape(title)}</h2><svg xmlns="http://www.w3.org/2000/svg" width="980" height="{h}" '
            f'role="img" aria-label="{html.escape(title)}">{"".join(parts)}</svg>')


def render(result):
    """(csv text, html text) of a usage_info result."""
    period = result["period"]
    rows = [dict(r, period_start=period["start"], period_end=period["end"]) for r in result["rows"]]
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({f: r.get(f) for f in FIELDS} for r in rows)
    series = result["series"]
    teams = [r for r in rows if r["dimension"] == "team"]
    owner_kind = "team" if teams else "user"
    owners = teams or [r for r in rows if r["dimension"] == "user"]
    buckets = sorted(set(series["requests"]) | set(b for per in series["cost_by_owner"].values() for b in per))
    cost_by_owner = dict((label.split(" ", 1)[1], per) for label, per in series["cost_by_owner"].items()
                         if label.startswith(owner_kind + " "))
    table = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[f]))}</td>" for f in FIELDS[:9]) + "</tr>" for r in rows)
    totals = result["totals"]
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Models as a Service usage</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px}}</style>
</head><body><h1>Models as a Service usage</h1>
<p>Period {html.escape(period['start'])} to {html.escape(period['end'])} (UTC): {totals['requests']} successful and
{totals['failed_requests']} failed requests, {totals['total_tokens']} tokens, {totals['cost_usd']:.6g} USD
(LiteLLM's spend records).</p>
{bar_chart("Tokens per " + owner_kind, [(r["name"], r["total_tokens"]) for r in owners], "tokens")}
{bar_chart("Requests over time", sorted(series["requests"].items()), "requests")}
{line_chart("Cost per " + owner_kind + " over time", cost_by_owner, buckets, "USD")}
{line_chart("Cost per model over time", series["cost_by_model"], buckets, "USD")}
<h2>Usage per user, team, key and model</h2>
<table><tr>{"".join(f"<th>{f}</th>" for f in FIELDS[:9])}</tr>{table}</table></body></html>
"""
    return out.getvalue(), page


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return False
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return True


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: usage_report.py OUT_DIR < usage_info-result.json")
    out_dir = sys.argv[1]
    result = json.load(sys.stdin)
    csv_text, page = render(result)
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(csv=os.path.join(out_dir, "usage.csv"), html=os.path.join(out_dir, "usage.html"))
    changed = [write_if_changed(paths["csv"], csv_text), write_if_changed(paths["html"], page)]
    print(json.dumps(dict(paths, changed=any(changed), totals=result["totals"],
                          keys=dict((r["name"], r["requests"]) for r in result["rows"] if r["dimension"] == "key"))))


if __name__ == "__main__":
    main()
