"""Benchmark: 200 users / 400 API keys applied through the REAL LiteMaaS 0.4.0 with its default rate limit.

    tests/run-tool python benchmarks/litemaas_bench.py [--users 200] [--keys-per-user 2] [--noop-runs 2]

Starts the real LiteMaaS 0.4.0 (tests/setup/litemaas_stack.py: built from the release archive, own PostgreSQL,
real LiteLLM, fake upstream) with LiteMaaS's DEFAULT global rate limit (RATE_LIMIT_MAX=100 requests per minute
per client), then runs playbooks/tenants.yml (maas_gateway=litemaas): the first apply, then no-op re-applies.
Users exist in LiteMaaS only after their first login and the mock OAuth of a test backend has only three users,
so the 200 users are INSERTED with SQL as a first login inserts them (tests/setup/litemaas_stack.py insert_user);
LiteMaaS creates each in LiteLLM when its first key is made. Every figure comes from the backend's own request
log (requests with the collection's User-Agent): requests, writes, 429 answers, per object. Results go to
benchmarks/output/litemaas_bench.json; the load average is recorded (the machine is shared, 2 cores).
"""
import argparse
import collections
import json
import os
import sys
import tempfile


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "setup"))
sys.path.insert(0, os.path.join(REPO, "tests"))
from fixtures.ansible_run import run_playbook  # noqa: E402
from litemaas_stack import LiteMaaSStack  # noqa: E402


def inventory(lm, keys_dir, users, keys_per_user):
    model = "bench-model"
    names = ["bench-u%03d" % i for i in range(users)]
    return {
        "maas_gateway": "litemaas", "maas_litemaas_url": lm.url, "maas_litemaas_jwt_secret": lm.jwt_secret,
        "maas_litemaas_automation_user": lm.automation, "maas_gateway_public_url": lm.litellm.url,
        "maas_models": [{"name": model, "endpoint": lm.litellm.upstream_url,
                         "cost": {"input_per_1k": 0.5, "output_per_1k": 1.5}}],
        "maas_budget_defaults": {"max_budget": 50, "budget_duration": "30d", "tpm_limit": 100000, "rpm_limit": 300},
        "maas_users": [{"name": n, "email": "%s@example.edu" % n, "models": [model]} for n in names],
        "maas_api_keys": [{"name": "%s-k%d" % (n, k), "owner": {"user": n}, "models": [model], "max_budget": 10,
                           "deliver_to": {"file": os.path.join(keys_dir, "%s-k%d.env" % (n, k))}}
                          for n in names for k in range(keys_per_user)],
    }


def run(variables, workdir):
    result = run_playbook(workdir, variables)
    if result.rc != 0:
        sys.exit("tenants.yml failed:\n%s" % result.out[-5000:])
    return result.seconds, result.data


def figures(lm, mark, seconds, data, objects):
    sent = lm.requests(mark, "redwood.maas")
    kinds = collections.Counter()
    for r in sent:
        path = r["url"].split("?")[0]
        kinds["%s %s" % (r["method"], "/".join("{id}" if len(p) == 36 else p for p in path.split("/")))] += 1
    stats = data["stats"]["localhost"]
    return {"seconds": round(seconds, 1), "requests": len(sent),
            "writes": sum(1 for r in sent if r["method"] not in ("GET", "HEAD")),
            "rate_limited_429": sum(1 for r in sent if r["status"] == 429),
            "errors": sum(1 for r in sent if r["status"] >= 400 and r["status"] != 429),
            "requests_per_object": round(len(sent) / float(objects), 2), "changed": stats["changed"],
            "by_endpoint": dict(kinds.most_common())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--keys-per-user", type=int, default=2)
    ap.add_argument("--noop-runs", type=int, default=2)
    ap.add_argument("--rate-limit", type=int, default=100, help="RATE_LIMIT_MAX of the backend (LiteMaaS default 100)")
    args = ap.parse_args()
    objects = 1 + args.users + args.users * args.keys_per_user
    out = {"users": args.users, "keys": args.users * args.keys_per_user, "models": 1, "objects": objects,
           "rate_limit_per_minute": args.rate_limit, "machine_cores": os.cpu_count(),
           "users_made_by": "SQL insert as a first login makes them (mock OAuth has 3 users only)",
           "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="maas-lm-bench-") as work, \
            LiteMaaSStack(rate_limit_max=args.rate_limit) as lm:
        out["stack_start_seconds"] = lm.timings
        inv = inventory(lm, os.path.join(work, "keys"), args.users, args.keys_per_user)
        for user in inv["maas_users"]:
            lm.insert_user(user["name"], user["email"])
        mark = lm.mark()
        secs, data = run(inv, work)
        out["first_apply"] = figures(lm, mark, secs, data, objects)
        print("first apply: %s" % json.dumps(out["first_apply"]), flush=True)
        out["noop_runs"] = []
        for dummy in range(args.noop_runs):
            mark = lm.mark()
            secs, data = run(inv, work)
            out["noop_runs"].append(figures(lm, mark, secs, data, objects))
            print("no-op: %s" % json.dumps(out["noop_runs"][-1]), flush=True)
    out["load_average_at_end"] = os.getloadavg()
    os.makedirs(os.path.join(REPO, "benchmarks", "output"), exist_ok=True)
    with open(os.path.join(REPO, "benchmarks", "output", "litemaas_bench.json"), "w") as fh:
        json.dump(out, fh, indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
