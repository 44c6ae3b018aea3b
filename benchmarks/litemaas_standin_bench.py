# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Benchmark: the tenants role with maas_gateway=litemaas against the STAND-IN LiteMaaS.

    tests/run-tool python benchmarks/litemaas_standin_bench.py [--users 20] [--keys-per-user 2]

LiteMaaS 0.4.0 cannot run on this machine, so this measures the collection's side only (Ansible,
the per-item module loop, the request pattern), not LiteMaaS's own latency. Reports wall time and
HTTP requests / writes of the first apply, the no-op re-apply and a check-mode run.
Results go to benchmarks/output/litemaas_standin_bench.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration", "litemaas"))
from standin_litemaas import JWT_SECRET, SPEC, StandInLiteMaaS, serve  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--keys-per-user", type=int, default=2)
    args = ap.parse_args()
    standin = StandInLiteMaaS(SPEC, JWT_SECRET)
    auto = standin.login("maas-automation", "maas-automation@localhost", roles=("admin", "user"))
    users = ["user%03d" % i for i in range(args.users)]
    for name in users:
        standin.login(name)
    server, url = serve(standin)
    work = tempfile.mkdtemp(prefix="litemaas-bench-")
    inv = dict(
        maas_gateway="litemaas", maas_gateway_url="http://litellm.example:4000", maas_litemaas_url=url,
        maas_litemaas_jwt_secret=JWT_SECRET,
        maas_litemaas_automation_user=dict(id=auto["id"], username=auto["username"], email=auto["email"]),
        maas_models=[dict(name="bench-model", endpoint="http://127.0.0.1:9/v1")],
        maas_budget_defaults=dict(max_budget=50, budget_duration="30d", tpm_limit=100000, rpm_limit=300),
        maas_users=[dict(name=u, models=["bench-model"]) for u in users],
        maas_api_keys=[dict(name="%s-k%d" % (u, k), owner=dict(user=u), models=["bench-model"], max_budget=10,
                            deliver_to=dict(file=os.path.join(work, "%s-k%d.env" % (u, k))))
                       for u in users for k in range(args.keys_per_user)],
        ansible_python_interpreter=sys.executable,
    )
    with open(os.path.join(work, "vars.json"), "w") as handle:
        json.dump(inv, handle)
    with open(os.path.join(work, "play.yml"), "w") as handle:
        yaml.safe_dump([dict(hosts="all", gather_facts=False, roles=["redwood.maas.tenants"])], handle)
    results = {}
    for label, extra in (("first_apply", []), ("noop_reapply", []), ("check_mode", ["--check"])):
        before = (len(standin.exchanges), standin.writes)
        start = time.monotonic()
        proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", "play.yml", "-e", "@vars.json"]
                              + extra, cwd=work, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - start
        if proc.returncode != 0:
            sys.exit("%s failed:\n%s" % (label, proc.stdout[-4000:]))
        results[label] = dict(seconds=round(elapsed, 1), requests=len(standin.exchanges) - before[0],
                              writes=standin.writes - before[1])
    server.shutdown()
    out = dict(users=args.users, keys=args.users * args.keys_per_user, models=1, results=results,
               note="stand-in LiteMaaS (contract-validated); measures the collection side only")
    os.makedirs(os.path.join(REPO, "benchmarks", "output"), exist_ok=True)
    with open(os.path.join(REPO, "benchmarks", "output", "litemaas_standin_bench.json"), "w") as handle:
        json.dump(out, handle, indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
