"""The economics report on OpenShift, against a Prometheus API STAND-IN serving recorded samples.

Scenario (prometheus-samples.json, 2026-11-01 00:00-01:00 UTC, one point a minute, namespace maas):
  granite-8b: 2 pods x 1 L40S. Pod A: prompt +100/min, generation +200/min, 10 requests/min, GPU 50 %.
              Pod B: prompt +50/min but its vLLM restarts at minute 31 (counter back to 0),
              generation +100/min, 5 requests/min, GPU 0 % for 30 min then 100 %.
  llama-70b:  1 pod x 2 A100-80GB, scaled up at minute 20: 300 prompt tokens already counted at the
              first scrape, then +300/min; generation 600 then +600/min; 6 then +6 requests/min; GPUs 80 %.
  Another namespace's vLLM and GPU carry the same model name and must be ignored.
Figures computed by hand:
  granite-8b: GPU-hours 2 x 1 h = 2.0; busy (0.5 + 0.5) x 1 h = 1.0 -> 50 %, idle 1.0;
              prompt 60 x 100 + (30 x 50 + 50 + 29 x 50) = 6,000 + 3,000 = 9,000; generation 12,000 + 6,000;
              requests 600 + 300; cost 2.0 x 1.80 = 3.60 USD -> 3.60 / 27 = 0.133333 USD per 1,000 tokens.
  llama-70b:  GPU-hours 2 x 40 min = 1.333333; 80 % -> idle 0.266667; prompt 300 + 40 x 300 = 12,300;
              generation 24,600; requests 246; cost 1.333333 x 3.00 = 4.00 -> 4.00 / 36.9 = 0.108401 per 1,000.
"""
import csv
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)

from standin_prometheus import StandinPrometheus  # noqa: E402

TOKEN = "sha256~standin-token"
PLAN = {"source": "prometheus", "start": "2026-11-01T00:00:00+00:00", "end": "2026-11-01T01:00:00+00:00",
        "gpu_hourly_cost": {"L40S": 1.80, "A100-80GB": 3.00},
        "models": [{"name": "granite-8b", "gpu_type": "L40S", "gpus": 1, "replicas": 2},
                   {"name": "llama-70b", "gpu_type": "A100-80GB", "gpus": 2, "replicas": 1}],
        "prometheus": {"namespace": "maas", "validate_certs": True}, "gateway": None}


@pytest.fixture(scope="module")
def prometheus():
    with StandinPrometheus(os.path.join(HERE, "prometheus-samples.json"), token=TOKEN) as prom:
        yield prom


def report(tmp_path, prometheus, token=TOKEN):
    plan = dict(PLAN, prometheus=dict(PLAN["prometheus"], url=prometheus.url))
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    proc = subprocess.run([sys.executable, os.path.join(REPO, "playbooks", "files", "economics_report.py"),
                           str(tmp_path / "plan.json"), str(tmp_path / "out")], capture_output=True, text=True,
                          env=dict(os.environ, MAAS_PROMETHEUS_TOKEN=token), check=False, timeout=120)
    return proc


def test_economics_from_the_prometheus_standin_match_the_hand_computed_figures(tmp_path, prometheus):
    proc = report(tmp_path, prometheus)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert TOKEN not in proc.stdout + proc.stderr
    with open(tmp_path / "out" / "economics.csv", encoding="utf-8") as fh:
        rows = {r["name"]: r for r in csv.DictReader(fh) if r["dimension"] == "model"}
    g, ll = rows["granite-8b"], rows["llama-70b"]
    assert (float(g["gpu_hours"]), float(g["utilisation_pct"]), float(g["idle_gpu_hours"])) == (2.0, 50.0, 1.0)
    assert g["utilisation_source"] == "dcgm" and float(g["gpus"]) == 2.0
    assert (int(g["prompt_tokens"]), int(g["completion_tokens"]), int(g["requests"])) == (9000, 18000, 900)
    assert float(g["gpu_cost_usd"]) == 3.6 and float(g["cost_per_1k_tokens_usd"]) == 0.133333
    assert float(ll["gpu_hours"]) == 1.3333 and float(ll["utilisation_pct"]) == 80.0 and float(ll["idle_gpu_hours"]) == 0.2667
    assert (int(ll["prompt_tokens"]), int(ll["completion_tokens"]), int(ll["requests"])) == (12300, 24600, 246)
    assert float(ll["gpu_cost_usd"]) == 4.0 and float(ll["cost_per_1k_tokens_usd"]) == 0.108401
    assert sorted(set(prometheus.queries)) == [
        'DCGM_FI_DEV_GPU_UTIL{exported_namespace="maas"}', 'vllm:generation_tokens_total{namespace="maas"}',
        'vllm:prompt_tokens_total{namespace="maas"}', 'vllm:request_inference_time_seconds_sum{namespace="maas"}',
        'vllm:request_success_total{namespace="maas"}']
    page = (tmp_path / "out" / "economics.html").read_text()
    assert "GPU-hours per model" in page and "Cost per 1,000 tokens" in page and "<svg" in page
    assert '<div class="v">3.33</div><div class="k">GPU-hours provisioned' in page  # 2.0 + 1.3333
    assert '<div class="v">62.0 %</div><div class="k">busy' in page  # (1.0 + 1.0667) / 3.3333
    assert '<div class="v">7.60</div><div class="k">GPU cost (USD)' in page and "<td>0.1333</td>" in page


def test_a_wrong_prometheus_token_fails_with_the_status_and_without_the_token(tmp_path, prometheus):
    proc = report(tmp_path, prometheus, token="sha256~wrong")
    assert proc.returncode != 0 and "HTTP 403" in proc.stderr and "sha256~wrong" not in proc.stdout + proc.stderr
