"""The owner's view of the local journey, for real: model sizing against vLLM's own figures, and the
economics report from the real vLLM metrics and LiteLLM spend logs.

Runs on the journey's deployment (the `journey` fixture, shared with test_local_journey.py; its
teardown test is moved last by conftest.py), so it starts no vLLM of its own.
"""
import csv
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time

import httpx

for _p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
    if _p and _p not in sys.path:
        sys.path.insert(0, _p)

from ansible_collections.redwood.maas.plugins.module_utils.sizing import size_model

MODEL = "demo-smoke-test"


def safetensors_parameters(path):
    """Parameters stored in a safetensors file (its JSON header lists every tensor's shape)."""
    with open(path, "rb") as fh:
        header = json.loads(fh.read(struct.unpack("<Q", fh.read(8))[0]))
    total = 0
    for name, meta in header.items():
        if name != "__metadata__":
            n = 1
            for dim in meta["shape"]:
                n *= dim
            total += n
    return total


def vllm_log(journey):
    """vLLM's start-up output: supervisord's log file, or the systemd unit's journal."""
    path = os.path.join(journey.state_dir, "supervisor", "logs", "maas-vllm-%s.log" % MODEL)
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    return subprocess.run(["journalctl", "--no-pager", "-o", "cat", "-u", "maas-vllm-%s.service" % MODEL],
                          capture_output=True, text=True, check=False).stdout


def test_sizing_matches_what_vllm_reports_at_start_up(journey):
    model_dir = os.path.join(journey.state_dir, "models", MODEL)
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as fh:
        config = json.load(fh)
    log = vllm_log(journey)
    # e.g. "CPU KV cache size: 1,048,576 tokens, Maximum concurrency for 512 tokens per request: 2048.00x"
    found = re.findall(r"KV cache size: ([\d,]+) tokens, Maximum concurrency for ([\d,]+) tokens per request: ([\d.]+)x", log)
    assert found, "vLLM logged no KV cache size"
    tokens, max_len, concurrency = found[-1]
    r = size_model(config, device="cpu", kv_cache_memory_gb=1, max_model_len=int(max_len.replace(",", "")))
    assert r["dtype"] == "bfloat16" and "dtype=torch.bfloat16" in log  # float32 checkpoint served as bf16
    assert r["kv_cache_tokens"] == int(tokens.replace(",", ""))
    assert r["max_concurrent_sequences"] == int(float(concurrency))
    assert r["kv_cache_bytes_per_token"] == 2 * 2 * 4 * 32 * 2  # layers x K,V x KV heads x head_dim x bf16
    # tied embeddings: the checkpoint stores the embedding once, and so does the count
    assert r["parameters"] == safetensors_parameters(os.path.join(model_dir, "model.safetensors"))
    # site.yml sized the demo model once it was built (second run), with the same figures
    with open(os.path.join(journey.state_dir, "ansible.log"), encoding="utf-8") as fh:
        played = " ".join(fh.read().split())
    assert "%s: %s parameters" % (MODEL, "{:,}".format(r["parameters"])) in played
    assert "%s tokens, %d sequences of %s" % (tokens, r["max_concurrent_sequences"], max_len.replace(",", "")) in played


def test_economics_report_from_the_real_vllm_metrics_and_litellm_spend_logs(journey, tmp_path):
    """The host's economics: vLLM's counters sampled by the host_metrics sampler, LiteLLM's spend logs.

    Every token reached vLLM through LiteLLM (smoke calls), so the model's tokens (vLLM's counters)
    must equal the sum over teams (LiteLLM's spend logs); device-hours are the vLLM process's uptime
    (its start is inside the period); the busy share is vLLM's own inference seconds over that uptime.
    """
    port = journey.ports["vllm"]
    samples = os.path.join(journey.state_dir, "metrics", "samples", MODEL)
    assert os.path.isdir(samples) and os.listdir(samples), "the host_metrics sampler wrote no samples"
    deadline = time.time() + 120
    # LiteLLM writes spend logs and each team's spend in batches (every 30 s here): poll until the spend logs
    # account for every token vLLM counted and the research team's spend has been written.
    while True:
        proc = journey.run("playbooks/economics_report.yml", "-e", json.dumps({"maas_gpu_hourly_cost": {"cpu": 0.5}}),
                           timeout=300)
        assert proc.returncode == 0, proc.stdout[-4000:]
        metrics = httpx.get("http://127.0.0.1:%d/metrics" % port, timeout=30).text
        with open(os.path.join(journey.state_dir, "reports", "economics.csv"), encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        model = [r for r in rows if r["dimension"] == "model" and r["name"] == MODEL][0]
        teams = [r for r in rows if r["dimension"] == "team"]
        spent = [t for t in teams if t["name"] == "research" and float(t["gateway_spend_usd"] or 0) > 0]
        if sum(int(t["prompt_tokens"]) for t in teams) >= int(model["prompt_tokens"]) and spent or time.time() > deadline:
            break
        time.sleep(5)
    vllm = {}
    for line in metrics.splitlines():
        for name in ("vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:request_inference_time_seconds_sum",
                     "process_start_time_seconds"):
            if line.startswith(name + "{") or line.startswith(name + " "):
                vllm[name] = vllm.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    # no call between the report's live scrape and ours (the journey is idle)
    assert int(model["prompt_tokens"]) == int(vllm["vllm:prompt_tokens_total"]) > 0
    assert int(model["completion_tokens"]) == int(vllm["vllm:generation_tokens_total"]) > 0
    assert sum(int(t["prompt_tokens"]) for t in teams) == int(model["prompt_tokens"])
    assert sum(int(t["completion_tokens"]) for t in teams) == int(model["completion_tokens"])
    research = [t for t in teams if t["name"] == "research"][0]
    assert float(research["max_budget_usd"]) == 100.0 and float(research["gateway_spend_usd"]) > 0
    uptime_h = (time.time() - vllm["process_start_time_seconds"]) / 3600.0
    assert model["gpu_type"] == "cpu" and model["utilisation_source"] == "vllm-busy"
    assert abs(float(model["gpu_hours"]) - uptime_h) < 0.05 * uptime_h + 60 / 3600.0
    busy_pct = 100.0 * vllm["vllm:request_inference_time_seconds_sum"] / (uptime_h * 3600)
    assert 0 < float(model["utilisation_pct"]) and abs(float(model["utilisation_pct"]) - busy_pct) < 0.2 * busy_pct + 0.05
    assert abs(float(model["gpu_cost_usd"]) - 0.5 * float(model["gpu_hours"])) < 5e-5  # gpu_hours has 4 decimals
    tokens = int(model["prompt_tokens"]) + int(model["completion_tokens"])
    assert abs(float(model["cost_per_1k_tokens_usd"]) - float(model["gpu_cost_usd"]) / tokens * 1000) < 1e-5
    # the page: screenshot it with Debian's chromium, headless, and check it shows the figures
    subprocess.run([os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "setup", "chromium.sh")],
                   check=True, stdout=subprocess.DEVNULL)  # installs Debian's chromium (+ chromedriver)
    chromium = shutil.which("chromium")
    html_path = os.path.join(journey.state_dir, "reports", "economics.html")
    with open(html_path, encoding="utf-8") as fh:
        page = fh.read()
    assert "GPU-hours per model" in page and "Team consumption against budget" in page and "research" in page
    assert "<td>{:,}</td>".format(int(model["prompt_tokens"])) in page
    shot = os.environ.get("MAAS_ECONOMICS_SCREENSHOT") or str(tmp_path / "economics.png")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1280,1400", "--screenshot=" + shot, "file://" + html_path],
                   capture_output=True, timeout=120, check=True)
    with open(shot, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(shot) > 20000, "an empty page renders to a few kB"
