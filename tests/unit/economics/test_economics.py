"""Pure parts of playbooks/files/economics_report.py, with figures computed by hand."""
import datetime as dt
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "playbooks", "files"))

import economics_report as er  # noqa: E402

START = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
END = START + dt.timedelta(hours=1)


def test_counter_increase_across_a_restart_and_a_start_inside_the_period():
    assert er.increase([(0, 10), (1, 15), (2, 3), (3, 8)]) == 5 + 3 + 5
    assert er.increase([(0, 10), (1, 15)], started_in_period=True) == 15


def test_host_samples_baseline_gap_and_busy_share():
    # sampled every 10 min: a sample before the period is the baseline; a 45-min gap (> 3 x 10 min) across
    # which the vLLM process changed (restarted: its counters start again) counts as down
    t0 = START.timestamp()
    samples = [{"t": t0 - 10, "up": True, "start": t0 - 3600, "prompt": 100, "generation": 0, "requests": 0, "inference_s": 0},
               {"t": t0 + 600, "up": True, "start": t0 - 3600, "prompt": 160, "generation": 50, "requests": 3, "inference_s": 60},
               {"t": t0 + 900, "up": True, "start": t0 - 3600, "prompt": 160, "generation": 50, "requests": 3, "inference_s": 60},
               {"t": t0 + 3600, "up": True, "start": t0 + 3000, "prompt": 40, "generation": 40, "requests": 2, "inference_s": 50}]
    intervals, counts, source = er.host_model({"gpus": 1}, samples, START, END, 600)
    assert counts == {"prompt": 100, "generation": 90, "requests": 5, "inference_s": 110}
    assert source == "vllm-busy"
    assert intervals == [(600, 1, 100.0 * 60 / 610), (300, 1, 0.0), (2700, 0, 100.0 * min(1.0, 50 / 2700))]
    row = er.summarize("m", intervals, counts, source, "cpu", 0.5)
    assert row["gpu_hours"] == 0.25 and row["gpu_cost_usd"] == 0.125 and row["cost_per_1k_tokens_usd"] == 0.657895
    assert row["utilisation_pct"] == round(100 * (600 * 60 / 610) / 900, 2) and row["total_tokens"] == 190


def test_missed_samples_of_the_same_process_are_not_downtime():
    # the sampler missed 4 samples (vLLM busy, its /metrics timed out): the same process ran through the
    # gap, so its GPU-hours and the inference seconds done meanwhile count
    t0 = START.timestamp()
    samples = [{"t": t0 + 60, "up": True, "start": t0 - 3600, "inference_s": 0},
               {"t": t0 + 135, "up": True, "start": t0 - 3600, "inference_s": 30}]
    intervals, _counts, _source = er.host_model({"gpus": 1}, samples, START, END, 15)
    assert intervals == [(75, 1, 100.0 * 30 / 75)]


def test_team_rows_share_each_models_cost_by_tokens():
    models = [{"name": "a", "gpu_cost_usd": 3.0}, {"name": "b", "gpu_cost_usd": 1.0}]
    logs = [
        {"startTime": "2026-11-01T00:10:00Z", "team_id": "t1", "model_group": "a", "prompt_tokens": 10, "completion_tokens": 20, "spend": 0.1},
        {"startTime": "2026-11-01T00:20:00Z", "team_id": "t2", "model_group": "a", "prompt_tokens": 30, "completion_tokens": 30, "spend": 0.2},
        {"startTime": "2026-11-01T00:30:00Z", "team_id": "t2", "model_group": "b", "prompt_tokens": 5, "completion_tokens": 5, "spend": 0.05},
        {"startTime": "2026-11-01T00:40:00Z", "api_key": "h1", "model_group": "b", "prompt_tokens": 5, "completion_tokens": 5, "spend": 0.05},
        {"startTime": "2026-10-31T23:00:00Z", "team_id": "t1", "model_group": "a", "prompt_tokens": 999, "completion_tokens": 0},
        {"startTime": "2026-11-01T00:50:00Z", "team_id": "t1", "model_group": "a", "status": "failure", "prompt_tokens": 7},
    ]
    teams = [{"team_id": "t1", "team_alias": "one", "max_budget": 2.0, "spend": 0.5}, {"team_id": "t2", "max_budget": None}]
    rows = {r["name"]: r for r in er.team_rows(logs, teams, [{"token": "h1", "team_id": None}], models, START, END)}
    # model a: 30 + 60 tokens -> t1 1/3 of 3.0, t2 2/3; model b: 10 + 10 -> t2 and "(no team)" half of 1.0 each
    assert rows["one"]["gpu_cost_share_usd"] == 1.0 and rows["t2"]["gpu_cost_share_usd"] == 2.5
    assert rows["(no team)"]["gpu_cost_share_usd"] == 0.5
    assert rows["one"]["total_tokens"] == 30 and rows["one"]["budget_used_pct"] == 25.0
    assert rows["t2"]["requests"] == 2 and rows["t2"]["budget_used_pct"] is None
