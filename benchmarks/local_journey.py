"""Benchmark of the local journey (issue 13): bring-up time, no-op re-run time, gateway overhead.

  tests/run-tool python benchmarks/local_journey.py [--cold-download] [--requests 200] [--keep]
  tests/run-tool python benchmarks/local_journey.py --gateway-only STATE_DIR   # on a running deployment
  tests/run-tool python benchmarks/local_journey.py --noop-only STATE_DIR [--noop-runs 5] [--controller-venv]

1. cold bring-up: `site.yml` on inventories/local into a fresh state directory on free ports, with
   an EMPTY virtualenv directory (maas_host_venv_dir) and uv's download cache as it is (warm once
   anything ran here); --cold-download also points UV_CACHE_DIR at an empty folder (everything is
   downloaded, fully cold).
2. no-op re-run: `site.yml` again, --noop-runs times (each must report changed=0; the median is the figure).
   --controller-venv runs them with the README's controller (./controller-setup, .venv/bin/ansible-playbook)
   instead of the tests' tool chain (which also holds pytest, selenium and their dependencies).
3. gateway overhead of the deployed LiteLLM against the fake OpenAI upstream of litellm-offline
   (vLLM stopped meanwhile, so it does not compete for the CPU): the same chat request straight to
   the upstream and through LiteLLM with a virtual key, at concurrency 1 and 8; p50/p95 of each and
   the difference, LiteLLM's own figure of its overhead (response header x-litellm-overhead-duration-ms) and
   the proxy's CPU time per request (/proc). --before also measures the deployment with the settings of 0.1.0 (gateway
   tuning off, `maas_host_litellm_tuned=false`) first, re-configured by the role.
Then teardown (purge). Every figure carries the load average (1 min) read when it was taken: the
machine is shared. Prints a table and JSON; writes benchmarks/output/local_journey.json.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "setup"))
from journey import REPO, Journey, recap  # noqa: E402  (the e2e harness: state dir, free ports, runner)
from litellm_stack import free_ports, wait_http  # noqa: E402

SHARED = os.environ.get("MAAS_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")


def load():
    return round(os.getloadavg()[0], 2)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def slowest_tasks(stdout, n=8):
    """The n slowest tasks of a run, from the profile_tasks callback's recap: where the time goes."""
    rows = []
    for line in stdout.split("TASKS RECAP", 1)[-1].splitlines():
        name, sep, secs = line.rpartition(" ")
        if sep and secs.endswith("s") and name.rstrip(" -") and secs[:-1].replace(".", "", 1).isdigit():
            rows.append((float(secs[:-1]), name.rstrip(" -")))
    return [{"seconds": t, "task": name} for t, name in sorted(rows, reverse=True)[:n]]


def timed_run(j, label, out, *args):
    l0, t0 = load(), time.time()
    p = j.run("site.yml", *args)
    out.setdefault(label + "_runs", []).append(round(time.time() - t0, 1))
    out[label] = {"seconds": round(time.time() - t0, 1), "load_before": l0, "load_after": load(),
                  "changed": recap(p.stdout)["changed"] if "changed=" in p.stdout else None, "rc": p.returncode,
                  "slowest_tasks": slowest_tasks(p.stdout)}
    if p.returncode:
        sys.exit("site.yml failed (%s), see %s" % (label, os.path.join(j.state_dir, "ansible.log")))


def hammer(url, headers, concurrency, total):
    """`total` chat requests from `concurrency` threads, each with its own client; latencies in ms, errors, seconds,
    and LiteLLM's own figure of its overhead per request (header x-litellm-overhead-duration-ms, when it sends one)."""
    body = {"model": "bench-fake", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8}
    lat, errors, own, lock, todo = [], [], [], threading.Lock(), [total]

    def worker():
        with httpx.Client(timeout=60) as c:
            while True:
                with lock:
                    if todo[0] == 0:
                        return
                    todo[0] -= 1
                t0 = time.perf_counter()
                r = c.post(url, json=body, headers=headers)
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    (lat if r.status_code == 200 else errors).append(dt if r.status_code == 200 else r.status_code)
                    if "x-litellm-overhead-duration-ms" in r.headers:
                        own.append(float(r.headers["x-litellm-overhead-duration-ms"]))

    threads = [threading.Thread(target=worker) for dummy in range(concurrency)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors, time.time() - t0, own


def cpu_seconds(pid):
    """User + system CPU seconds a process has used (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid, encoding="utf-8") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gateway_overhead(state, ports, requests, label):
    """Measure LiteLLM (as deployed in `state`) against the fake upstream, vLLM stopped meanwhile."""
    venvs = os.environ.get("MAAS_CACHE", os.path.expanduser("~/.cache/redwood-maas")) + "/host-venvs"
    ctl = [os.path.join(venvs, "supervisor-4.3.0", "bin", "supervisorctl"), "-c", os.path.join(state, "supervisor", "supervisord.conf")]
    vllm = [l.split()[0] for l in subprocess.run(ctl + ["status"], capture_output=True, text=True, check=False).stdout.splitlines()
            if l.startswith("maas-vllm-")]
    subprocess.run(ctl + ["stop", *vllm], capture_output=True, check=False)
    proxy_pid = int(subprocess.run(ctl + ["pid", "maas-litellm"], capture_output=True, text=True, check=False).stdout.strip() or 0)
    with open(os.path.join(state, "secrets", "litellm-master-key"), encoding="utf-8") as fh:
        master = {"Authorization": "Bearer " + fh.read().strip()}
    gw = "http://127.0.0.1:%d" % ports["litellm"]
    up_port = free_ports(1)[0]
    venv = subprocess.check_output([os.path.join(REPO, "tests", "setup", "litellm.sh")], text=True).strip()
    up = subprocess.Popen([os.path.join(venv, "bin", "python"), os.path.join(SHARED, "litellm-offline", "lib", "fake_openai.py"),
                           str(up_port)], start_new_session=True)
    result = {}
    try:
        wait_http("http://127.0.0.1:%d/v1/models" % up_port, 30, up)
        with httpx.Client(base_url=gw, headers=master, timeout=60) as c:
            c.post("/model/delete", json={"id": "bench-fake"})
            c.post("/model/new", json={"model_name": "bench-fake", "model_info": {"id": "bench-fake"}, "litellm_params": {
                "model": "openai/bench-fake", "api_base": "http://127.0.0.1:%d/v1" % up_port, "api_key": "none",
                "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}}).raise_for_status()   # priced, as served models are
            old = c.get("/key/list", params={"key_alias": "bench-fake", "return_full_object": "true"}).json().get("keys") or []
            if old:
                c.post("/key/delete", json={"keys": [k["token"] for k in old]})
            key = c.post("/key/generate", json={"key_alias": "bench-fake", "models": ["bench-fake"]}).json()["key"]
        auth = {"Authorization": "Bearer " + key}
        hammer(gw + "/v1/chat/completions", auth, 2, 30)                                 # warm-up
        hammer("http://127.0.0.1:%d/v1/chat/completions" % up_port, {}, 2, 30)
        for conc in (1, 8):
            row = {"load_before": load()}
            for name, url, headers in (("upstream", "http://127.0.0.1:%d/v1/chat/completions" % up_port, {}),
                                       ("litellm", gw + "/v1/chat/completions", auth)):
                cpu0 = cpu_seconds(proxy_pid) if proxy_pid and name == "litellm" else None
                lat, errors, secs, own = hammer(url, headers, conc, requests)
                row[name] = {"p50_ms": round(statistics.median(lat), 1), "p95_ms": round(pct(lat, 95), 1),
                             "errors": len(errors), "req_per_s": round(len(lat) / secs, 1)}
                if own:
                    row[name]["own_overhead_p50_ms"] = round(statistics.median(own), 1)
                if cpu0 is not None:      # the proxy's CPU time per request: its floor on one core
                    row[name]["cpu_ms_per_request"] = round((cpu_seconds(proxy_pid) - cpu0) * 1000 / requests, 1)
            row["overhead_p50_ms"] = round(row["litellm"]["p50_ms"] - row["upstream"]["p50_ms"], 1)
            row["overhead_p95_ms"] = round(row["litellm"]["p95_ms"] - row["upstream"]["p95_ms"], 1)
            row["load_after"] = load()
            result["c%d" % conc] = row
        with httpx.Client(base_url=gw, headers=master, timeout=60) as c:
            c.post("/key/delete", json={"key_aliases": ["bench-fake"]})
            c.post("/model/delete", json={"id": "bench-fake"})
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        up.wait(10)
        subprocess.run(ctl + ["start", *vllm], capture_output=True, check=False)
    result["label"] = label
    return result


def noop_reruns(j, out, args):
    """Time --noop-runs re-runs of site.yml, with the README's controller virtualenv if asked."""
    path = os.environ["PATH"]
    if args.controller_venv:
        subprocess.run([os.path.join(REPO, "controller-setup")], check=True, capture_output=True)
        os.environ["PATH"] = os.path.join(REPO, ".venv", "bin") + os.pathsep + path
        out["controller"] = "./controller-setup (.venv)"
    os.environ.update(ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="12")
    try:
        for dummy in range(args.noop_runs):
            timed_run(j, "noop_rerun", out)
    finally:
        os.environ["PATH"] = path


def table(out):
    rows = [("figure", "value", "load 1 min")]
    for k in ("cold_bring_up", "noop_rerun"):
        if k in out:
            runs = out[k + "_runs"]
            rows.append((k.replace("_", " "), "%.1f s (changed=%s; median of %s: %s)" % (
                statistics.median(runs), out[k]["changed"], len(runs), " / ".join("%.1f" % r for r in runs)),
                "%s -> %s" % (out[k]["load_before"], out[k]["load_after"])))
    for g in out.get("gateway", []):
        for conc in ("c1", "c8"):
            r = g[conc]
            rows.append(("gateway overhead %s, concurrency %s" % (g["label"], conc[1:]),
                         "p50 %.1f ms, p95 %.1f ms (LiteLLM p50 %.1f / p95 %.1f, %s req/s, its own header p50 %s, "
                         "CPU %s ms/request; upstream p50 %.1f)" % (
                             r["overhead_p50_ms"], r["overhead_p95_ms"], r["litellm"]["p50_ms"], r["litellm"]["p95_ms"],
                             r["litellm"]["req_per_s"], r["litellm"].get("own_overhead_p50_ms", "-"),
                             r["litellm"].get("cpu_ms_per_request", "-"), r["upstream"]["p50_ms"]),
                         "%s -> %s" % (r["load_before"], r["load_after"])))
    widths = [max(len(str(r[i])) for r in rows) for i in range(3)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200, help="requests per concurrency level and target")
    ap.add_argument("--cold-download", action="store_true", help="also empty uv's download cache (fully cold)")
    ap.add_argument("--before", action="store_true", help="also measure the gateway with the 0.1.0 settings")
    ap.add_argument("--gateway-only", metavar="STATE_DIR", help="only measure the gateway of a running deployment")
    ap.add_argument("--keep", action="store_true", help="leave the deployment running")
    ap.add_argument("--noop-only", metavar="STATE_DIR", help="only time no-op re-runs of a running deployment")
    ap.add_argument("--noop-runs", type=int, default=3, help="no-op re-runs to time (the median is reported)")
    ap.add_argument("--controller-venv", action="store_true",
                    help="time the no-op re-runs with the README's controller (./controller-setup, .venv)")
    args = ap.parse_args()
    out = {"nproc": os.cpu_count(), "load_start": load(), "controller": "tests' tool chain"}
    if args.noop_only:
        j = Journey.__new__(Journey)
        j.state_dir, j.vars_file = args.noop_only, os.path.join(args.noop_only, "e2e-vars.json")
        noop_reruns(j, out, args)
        print(table(out))
        print(json.dumps(out, indent=2))
        return
    if args.gateway_only:
        with open(os.path.join(args.gateway_only, "e2e-vars.json"), encoding="utf-8") as fh:
            v = json.load(fh)
        out["gateway"] = [gateway_overhead(args.gateway_only, {"litellm": v["maas_host_litellm_port"]}, args.requests, "as deployed")]
        print(table(out))
        print(json.dumps(out, indent=2))
        return
    os.environ.update(ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="12")
    state = tempfile.mkdtemp(prefix="maas-bench-", dir="/tmp")
    os.chmod(state, 0o755)
    j = Journey(state)
    j.extra_vars["maas_host_venv_dir"] = os.path.join(state, "venvs")            # empty: every venv is installed
    if args.cold_download:
        j.extra_vars["maas_host_uv_cache_dir"] = os.path.join(state, "uv-cache")  # empty: every package downloaded
    j.write_vars()
    out.update(state_dir=state, ports=j.ports, cold_download=args.cold_download)
    try:
        timed_run(j, "cold_bring_up", out)
        noop_reruns(j, out, args)
        out["gateway"] = []
        if args.before:
            for tuned in ("false", "true"):      # re-configure the deployed proxy (the role restarts it)
                if j.run("site.yml", "--tags", "gateway", "-e", "maas_host_litellm_tuned=" + tuned).returncode:
                    sys.exit("re-configuring the gateway failed, see " + os.path.join(state, "ansible.log"))
                if tuned == "false":
                    out["gateway"].append(gateway_overhead(state, j.ports, args.requests, "before (0.1.0 settings)"))
        out["gateway"].append(gateway_overhead(state, j.ports, args.requests, "after (tuned)" if args.before else "as deployed"))
    finally:
        if not args.keep:
            j.run("playbooks/teardown.yml", "-e", "maas_purge=true", timeout=300)
            if j.supervisord_pid():  # teardown did not finish: stop supervisord and its services
                try:
                    os.kill(j.supervisord_pid(), signal.SIGTERM)
                except ProcessLookupError:
                    pass
    out["load_end"] = load()
    os.makedirs(os.path.join(REPO, "benchmarks", "output"), exist_ok=True)
    with open(os.path.join(REPO, "benchmarks", "output", "local_journey.json"), "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=2)
    print(table(out))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
