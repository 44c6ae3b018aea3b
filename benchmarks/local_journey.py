"""Benchmark of the local journey (issue 5), measured in one run on this machine.

  tests/run-tool python benchmarks/local_journey.py [--requests 30] [--keep]

1. cold bring-up: site.yml on inventories/local into a fresh state directory (free ports). The
   virtualenvs are cached under $MAAS_CACHE/host-venvs (keyed on their pins); pass
   --cold-venvs to point maas_host_venv_dir at an empty directory and include their install.
2. no-op re-run: site.yml again (reports changed=0).
3. gateway overhead: the same chat request N times straight to vLLM and N times through LiteLLM
   (interleaved, same prompt, max_tokens fixed), p50/p95 latency of each and the difference.
Then teardown (purge). Prints a JSON summary and writes it to benchmarks/output/local_journey.json.
"""
import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time

import httpx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from conftest import REPO, Journey, recap  # noqa: E402  (the e2e harness: state dir, free ports, runner)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def timed(client, url, headers, model):
    body = {"model": model, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8,
            "temperature": 0}
    t0 = time.perf_counter()
    r = client.post(url, json=body, headers=headers)
    dt = time.perf_counter() - t0
    r.raise_for_status()
    return dt * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--cold-venvs", action="store_true")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    state = tempfile.mkdtemp(prefix="maas-bench-", dir="/tmp")
    os.chmod(state, 0o755)
    j = Journey(state)
    if args.cold_venvs:
        j.extra_vars["maas_host_venv_dir"] = os.path.join(state, "venvs")
    j.write_vars()
    out = {"ports": j.ports, "state_dir": state}
    try:
        t0 = time.time()
        p = j.run("playbooks/site.yml")
        out["cold_bring_up_s"] = round(time.time() - t0, 1)
        if p.returncode:
            sys.exit("site.yml failed, see " + os.path.join(state, "ansible.log"))
        t0 = time.time()
        p = j.run("playbooks/site.yml")
        out["noop_rerun_s"] = round(time.time() - t0, 1)
        out["noop_rerun_changed"] = recap(p.stdout)["changed"]

        env = dict(line.strip().split("=", 1) for line in open(os.path.join(state, "keys", "smoke.env")) if "=" in line)
        model = "demo-smoke-test"
        direct = f"http://127.0.0.1:{j.ports['vllm']}/v1/chat/completions"
        gateway = env["OPENAI_BASE_URL"] + "/chat/completions"
        auth = {"Authorization": "Bearer " + env["OPENAI_API_KEY"]}
        lat = {"vllm": [], "litellm": []}
        with httpx.Client(timeout=120) as c:
            timed(c, direct, {}, model), timed(c, gateway, auth, model)  # warm-up
            for _request in range(args.requests):
                lat["vllm"].append(timed(c, direct, {}, model))
                lat["litellm"].append(timed(c, gateway, auth, model))
        for k, v in lat.items():
            out[f"{k}_p50_ms"] = round(statistics.median(v), 1)
            out[f"{k}_p95_ms"] = round(pct(v, 95), 1)
        out["gateway_overhead_p50_ms"] = round(out["litellm_p50_ms"] - out["vllm_p50_ms"], 1)
        out["gateway_overhead_p95_ms"] = round(out["litellm_p95_ms"] - out["vllm_p95_ms"], 1)
        out["requests_each"] = args.requests
    finally:
        if not args.keep:
            j.run("playbooks/teardown.yml", "-e", "maas_purge=true", timeout=300)
            if j.supervisord_pid():  # teardown did not finish: stop supervisord and its services
                try:
                    os.kill(j.supervisord_pid(), signal.SIGTERM)
                except ProcessLookupError:
                    pass
    os.makedirs(os.path.join(REPO, "benchmarks", "output"), exist_ok=True)
    with open(os.path.join(REPO, "benchmarks", "output", "local_journey.json"), "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
