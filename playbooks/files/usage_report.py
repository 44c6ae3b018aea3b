"""Usage report for chargeback, from the LiteLLM gateway's spend logs.

  MAAS_GATEWAY_TOKEN=sk-... usage_report.py GATEWAY_URL OUT_DIR [--days N] [--insecure] [--ca-path PEM]

Writes OUT_DIR/usage.csv (one row per user, team and key: requests, hits in the last 24 h, prompt and
completion tokens, cost) and OUT_DIR/usage.html (the same table with two charts: tokens per team and
requests over time). Prints a JSON summary. The token is read from the environment, never printed.
"""
import argparse
import csv
import datetime as dt
import html
import json
import os
import sys
from collections import Counter, defaultdict

import httpx

FIELDS = ["dimension", "name", "requests", "refused_or_failed", "hits_last_24h", "prompt_tokens", "completion_tokens",
          "total_tokens", "cost_usd", "period_start", "period_end"]


def fetch(client, path, **params):
    resp = client.get(path, params=params)
    if resp.status_code != 200:
        sys.exit(f"GET {path}: HTTP {resp.status_code}: {resp.text[:300]}")
    return resp.json()


def all_keys(client):
    keys, page = [], 1
    while True:
        data = fetch(client, "/key/list", return_full_object="true", page=page, size=100)
        keys += [k for k in data.get("keys", []) if isinstance(k, dict)]
        if page >= (data.get("total_pages") or 1):
            return keys
        page += 1


def parse_time(value):
    t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def aggregate(logs, keys, teams, now, start):
    by_hash = {k.get("token"): k for k in keys}
    team_alias = {t.get("team_id"): t.get("team_alias") or t.get("team_id") for t in teams}
    rows = defaultdict(Counter)
    timeline = Counter()
    hourly = (now - start) <= dt.timedelta(days=2)
    for log in logs:
        when = parse_time(log["startTime"])
        if when < start:
            continue
        key = by_hash.get(log.get("api_key"), {})
        meta = log.get("metadata") or {}
        names = {
            "key": key.get("key_alias") or meta.get("user_api_key_alias") or (log.get("api_key") or "")[:12] or "(none)",
            "user": log.get("user") or key.get("user_id") or meta.get("user_api_key_user_id") or "(none)",
            "team": team_alias.get(log.get("team_id") or key.get("team_id"), log.get("team_id") or key.get("team_id")) or "(none)",
        }
        for dim, name in names.items():
            c = rows[(dim, name)]
            c["requests"] += 1
            c["refused_or_failed"] += int((log.get("status") or "success") != "success")
            c["hits_last_24h"] += int(when >= now - dt.timedelta(hours=24))
            c["prompt_tokens"] += int(log.get("prompt_tokens") or 0)
            c["completion_tokens"] += int(log.get("completion_tokens") or 0)
            c["cost_usd"] += float(log.get("spend") or 0.0)
        bucket = when.strftime("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d")
        timeline[bucket] += 1
    out = []
    for (dim, name), c in sorted(rows.items()):
        out.append({"dimension": dim, "name": name, "requests": c["requests"],
                    "refused_or_failed": c["refused_or_failed"], "hits_last_24h": c["hits_last_24h"],
                    "prompt_tokens": c["prompt_tokens"], "completion_tokens": c["completion_tokens"],
                    "total_tokens": c["prompt_tokens"] + c["completion_tokens"], "cost_usd": round(c["cost_usd"], 8),
                    "period_start": start.isoformat(timespec="seconds"), "period_end": now.isoformat(timespec="seconds")})
    return out, sorted(timeline.items())


def bar_chart(title, items, unit):
    """A horizontal SVG bar chart of (label, value) pairs; no JavaScript, no external assets."""
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


def write_html(path, rows, timeline, start, now):
    team_tokens = [(r["name"], r["total_tokens"]) for r in rows if r["dimension"] == "team"]
    table = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[f]))}</td>" for f in FIELDS[:9]) + "</tr>" for r in rows)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"""<!doctype html><html><head><meta charset="utf-8"><title>Models as a Service usage</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px}}</style>
</head><body><h1>Models as a Service usage</h1>
<p>Period {start.isoformat(timespec='seconds')} to {now.isoformat(timespec='seconds')} (UTC).</p>
{bar_chart("Tokens per team", team_tokens, "tokens")}
{bar_chart("Requests over time", timeline, "requests")}
<h2>Usage per user, team and key</h2>
<table><tr>{"".join(f"<th>{f}</th>" for f in FIELDS[:9])}</tr>{table}</table></body></html>
""")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gateway_url")
    ap.add_argument("out_dir")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("--ca-path", default="")
    args = ap.parse_args()
    token = os.environ.get("MAAS_GATEWAY_TOKEN", "")
    verify = False if args.insecure else (args.ca_path or True)
    now = dt.datetime.now(dt.timezone.utc)
    start = now - dt.timedelta(days=args.days)
    with httpx.Client(base_url=args.gateway_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"},
                      verify=verify, timeout=60) as client:
        logs = fetch(client, "/spend/logs", start_date=start.strftime("%Y-%m-%d"),
                     end_date=(now + dt.timedelta(days=1)).strftime("%Y-%m-%d"), summarize="false")
        if isinstance(logs, dict):
            logs = logs.get("data", [])
        keys = all_keys(client)
        teams = fetch(client, "/team/list")
        teams = teams if isinstance(teams, list) else teams.get("teams", [])
    rows, timeline = aggregate(logs, keys, teams, now, start)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "usage.csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    write_html(os.path.join(args.out_dir, "usage.html"), rows, timeline, start, now)
    print(json.dumps({"csv": os.path.join(args.out_dir, "usage.csv"), "html": os.path.join(args.out_dir, "usage.html"),
                      "requests": sum(r["requests"] for r in rows if r["dimension"] == "key"),
                      "cost_usd": round(sum(r["cost_usd"] for r in rows if r["dimension"] == "key"), 8),
                      "keys": {r["name"]: r["requests"] for r in rows if r["dimension"] == "key"}}))


if __name__ == "__main__":
    main()
