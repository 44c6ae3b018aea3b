"""Benchmark: 1,000 users, 100 teams, 2,000 keys applied to a real LiteLLM proxy.

    tests/run-tool python benchmarks/litellm_bench.py [--loop-fraction 0.1]

Reports the first apply (bulk module through playbooks/tenants.yml; every key's secret is written to its
file before the key is created, and the creates are read back), the no-op re-apply (bulk, which also proves
every delivered file holds its key's secret),
and the no-op time of the same inventory with a per-item loop of the single-object modules, with
the HTTP requests (and writes) each made. The loop is measured on a fraction of the inventory
(--loop-fraction, default 0.1) and extrapolated linearly to the full size; the output says so.
Results go to benchmarks/output/litellm_bench.json.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "setup"))
from litellm_stack import LiteLLMStack  # noqa: E402


def inventory(stack, keys_dir, users=1000, teams=100, keys=2000):
    model = "bench-model"
    data = {
        "maas_gateway_url": stack.url, "maas_gateway_token": stack.master_key,
        "maas_models": [{"name": model, "endpoint": stack.upstream_url,
                         "cost": {"input_per_1k": 0.5, "output_per_1k": 1.5}}],
        "maas_budget_defaults": {"max_budget": 50, "budget_duration": "30d", "tpm_limit": 100000, "rpm_limit": 300},
        "maas_users": [{"name": "u%04d" % i, "email": "u%04d@example.edu" % i} for i in range(users)],
        "maas_teams": [{"name": "team%03d" % t, "max_budget": 1000, "budget_duration": "30d", "models": [model],
                        "members": ["u%04d" % (t * 10 + j) for j in range(10) if t * 10 + j < users]}
                       for t in range(teams)],
        "maas_api_keys": [{"name": "key%04d" % k,
                           "owner": {"user": "u%04d" % (k // 2 % users)} if k % 2 else {"team": "team%03d" % (k % teams)},
                           "models": [model], "max_budget": 10,
                           "deliver_to": {"file": os.path.join(keys_dir, "key%04d.env" % k)}}
                          for k in range(keys)],
        "maas_tenants_prune": False,
    }
    return data


def run(playbook, variables, workdir):
    inv = os.path.join(workdir, "inv-%d" % time.time_ns())
    os.makedirs(os.path.join(inv, "group_vars", "maas"))
    with open(os.path.join(inv, "hosts.yml"), "w") as f:
        f.write("maas:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n")
    with open(os.path.join(inv, "group_vars", "maas", "vars.yml"), "w") as f:
        yaml.safe_dump(variables, f)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    t0 = time.monotonic()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(["ansible-playbook", os.path.join(REPO, playbook), "-i", os.path.join(inv, "hosts.yml")],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1))
    if proc.returncode != 0:
        sys.exit("%s failed:\n%s" % (playbook, (proc.stdout + proc.stderr)[-5000:]))
    data = json.loads(proc.stdout[proc.stdout.index("{"):])
    return elapsed, data


CPU = []     # controller CPU seconds (user + system) of each playbook run: hardly moved by other load


def task_result(data, suffix):
    for play in data["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith(suffix):
                return task["hosts"]["localhost"]
    raise KeyError(suffix)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--teams", type=int, default=100)
    ap.add_argument("--keys", type=int, default=2000)
    ap.add_argument("--loop-fraction", type=float, default=0.1)
    args = ap.parse_args()
    out = {"users": args.users, "teams": args.teams, "keys": args.keys, "machine_cores": os.cpu_count(),
           "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="maas-bench-") as work, LiteLLMStack() as stack:
        keys_dir = os.path.join(work, "keys")
        inv = inventory(stack, keys_dir, args.users, args.teams, args.keys)

        secs, data = run("playbooks/tenants.yml", inv, work)
        res = task_result(data, "Reconcile models, teams, users and API keys in LiteLLM")
        out["first_apply_bulk"] = {"seconds": round(secs, 1), "requests": res["requests"], "changed": res["changed"],
                                   "controller_cpu_seconds": CPU[-1]}
        print("first apply (bulk): %.1f s, %s" % (secs, res["requests"]), flush=True)

        runs = []
        for dummy in range(3):   # three no-op runs: the machine may be shared, report each and the median
            secs, data = run("playbooks/tenants.yml", inv, work)
            res = task_result(data, "Reconcile models, teams, users and API keys in LiteLLM")
            runs.append({"seconds": round(secs, 1), "requests": res["requests"], "changed": res["changed"],
                         "controller_cpu_seconds": CPU[-1]})
            print("no-op re-apply (bulk): %.1f s, %s, changed=%s" % (secs, res["requests"], res["changed"]), flush=True)
        out["noop_bulk_runs"] = runs
        out["noop_bulk"] = sorted(runs, key=lambda r: r["seconds"])[1]

        f = args.loop_fraction
        if f <= 0:                # --loop-fraction 0: bulk figures only
            out["load_average_at_end"] = os.getloadavg()
            return finish(out)
        sub = dict(inv)
        sub["maas_users"] = inv["maas_users"][:max(1, int(args.users * f))]
        sub["maas_teams"] = inv["maas_teams"][:max(1, int(args.teams * f))]
        sub["maas_api_keys"] = inv["maas_api_keys"][:max(1, int(args.keys * f))]
        secs, data = run("benchmarks/litellm_loop.yml", sub, work)
        counts = task_result(data, "Count the requests")["ansible_facts"]["loop_requests"]
        total = sum(c["total"] for c in counts)
        writes = sum(c["writes"] for c in counts)
        items = len(counts)
        full_items = 1 + args.users + args.teams + args.keys
        scale = float(full_items) / items
        out["noop_loop_measured"] = {"items": items, "seconds": round(secs, 1),
                                     "requests": {"total": total, "writes": writes}}
        out["noop_loop_extrapolated"] = {"items": full_items, "seconds": round(secs * scale, 1),
                                         "requests": {"total": int(total * scale), "writes": int(writes * scale)},
                                         "note": "linear extrapolation from the measured subset"}
        out["speedup_noop_bulk_vs_loop"] = round(secs * scale / out["noop_bulk"]["seconds"], 1)
        print("no-op per-item loop: %d items in %.1f s (%d requests, %d writes); extrapolated to %d items: %.1f s"
              % (items, secs, total, writes, full_items, secs * scale), flush=True)
    out["load_average_at_end"] = os.getloadavg()
    finish(out)


def finish(out):
    os.makedirs(os.path.join(REPO, "benchmarks", "output"), exist_ok=True)
    with open(os.path.join(REPO, "benchmarks", "output", "litellm_bench.json"), "w") as fh:
        json.dump(out, fh, indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
