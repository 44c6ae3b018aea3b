"""Benchmark: bring-up of the portal host (inventories/local-portal), from empty and from warm build caches.

  tests/run-tool python benchmarks/portal_bringup.py [--modes empty,warm] [--keep]

For each mode, in a fresh state directory on free ports: site.yml (all layers: PostgreSQL, vLLM with
the demo model, LiteLLM, LiteMaaS backend + portal, tenants through LiteMaaS), then a no-op re-run,
then teardown (purge).
  empty: maas_host_litemaas_build_root points at an empty directory, so LiteMaaS is built from its
         release archive (npm ci, tsc, vite build; the npm download cache stays warm).
  warm:  the shared build cache ($MAAS_CACHE/litemaas) is reused.
The Python virtualenvs (vLLM, LiteLLM) are the cached ones in both modes. The smoke play is skipped
(its chat needs issue 9's fix of the LiteMaaS flavour). The machine is shared (2 cores): each figure
comes with the load average before and after it. JSON to benchmarks/output/portal_bringup.json.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from journey import REPO, free_port, recap  # noqa: E402
from test_portal_journey import PortalJourney  # noqa: E402


def load():
    with open("/proc/loadavg", encoding="utf-8") as fh:
        return [float(x) for x in fh.read().split()[:3]]


def timed_run(j, *args):
    before = load()
    t0 = time.time()
    proc = j.run("playbooks/site.yml", "-e", "maas_skip_smoke=true", *args)
    took = round(time.time() - t0, 1)
    if proc.returncode:
        raise SystemExit("site.yml failed:\n" + proc.stdout[-4000:])
    return {"seconds": took, "changed": recap(proc.stdout)["changed"], "load_before": before, "load_after": load()}


def bring_up(mode, keep):
    state = tempfile.mkdtemp(prefix="maas-portal-bench-", dir="/tmp")
    os.chmod(state, 0o755)
    j = PortalJourney(state)
    if mode == "empty":
        j.extra_vars["maas_host_litemaas_build_root"] = os.path.join(state, "litemaas-build")
        j.write_vars()
    out = {"mode": mode}
    try:
        out["bring_up"] = timed_run(j)
        out["no_op_rerun"] = timed_run(j)
    finally:
        j.run("playbooks/teardown.yml", "-e", "maas_purge=true", timeout=300)
        if not keep:
            shutil.rmtree(state, ignore_errors=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default="empty,warm")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    assert free_port()
    results = [bring_up(mode, args.keep) for mode in args.modes.split(",")]
    os.makedirs(os.path.join(REPO, "benchmarks", "output"), exist_ok=True)
    with open(os.path.join(REPO, "benchmarks", "output", "portal_bringup.json"), "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=1)
    print(json.dumps(results, indent=1))
    print("\n| build cache | bring-up (s) | changed | no-op re-run (s) | changed | load avg before -> after |")
    print("|---|---|---|---|---|---|")
    for r in results:
        b, n = r["bring_up"], r["no_op_rerun"]
        cells = (r["mode"], b["seconds"], b["changed"], n["seconds"], n["changed"], b["load_before"], n["load_after"])
        print("| %s | %s | %s | %s | %s | %s -> %s |" % cells)


if __name__ == "__main__":
    main()
