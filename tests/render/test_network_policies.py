# Copyright: redwood.maas contributors. Apache License 2.0.
"""The rendered NetworkPolicies, checked by a real analyzer (network-config-analyzer from PyPI,
installed by tests/setup/netpol.sh): the connections INTO the MaaS namespace must be exactly the
declared ones, per environment.

The cluster around the render: the OpenShift router (namespace labelled
policy-group.network.openshift.io/ingress), the platform Prometheus (openshift-monitoring,
network.openshift.io/policy-group=monitoring), a consumer in another namespace, and KServe's
predictor Deployments (the InferenceService's labels, as KServe copies them). Empty label values
are replaced by a sentinel on both sides (the analyzer reads an empty value as a wildcard).
"""
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from render_helpers import ENVIRONMENTS, REPO

SENTINEL = "redwood-empty"
CLUSTER = [
    {"kind": "Namespace", "name": "openshift-ingress", "labels": {"policy-group.network.openshift.io/ingress": ""}},
    {"kind": "Namespace", "name": "openshift-monitoring", "labels": {"network.openshift.io/policy-group": "monitoring",
                                                                     "openshift.io/cluster-monitoring": "true"}},
    {"kind": "Namespace", "name": "consumer", "labels": {}},
]
OUTSIDE = {"router": "openshift-ingress", "prometheus": "openshift-monitoring", "consumer": "consumer"}


def _fill(obj):
    """Replace empty label values (selectors and labels) by the sentinel, everywhere."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ("labels", "matchLabels") and isinstance(v, dict):
                out[k] = {lk: (lv if lv != "" else SENTINEL) for lk, lv in v.items()}
            else:
                out[k] = _fill(v)
        return out
    if isinstance(obj, list):
        return [_fill(i) for i in obj]
    return obj


def _deployment(name, ns, labels):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels},
                     "spec": {"containers": [{"name": "c", "image": "x"}]}}}}


def _model(directory, env):
    docs = [d for f in sorted(Path(directory).glob("*/manifests.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    ns = {d["metadata"]["namespace"] for d in docs if d["kind"] == "Deployment"}.pop()
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": n["name"], "labels": dict(n["labels"], **{"kubernetes.io/metadata.name": n["name"]})}} for n in CLUSTER]
    nsdoc = [d for d in docs if d["kind"] == "Namespace" and d["metadata"]["name"] == ns][0]
    nsdoc["metadata"]["labels"]["kubernetes.io/metadata.name"] = ns
    namespaces.append(nsdoc)
    workloads = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")]
    workloads += [_deployment(d["metadata"]["name"] + "-predictor", ns, dict(
        d["metadata"]["labels"], **{"serving.kserve.io/inferenceservice": d["metadata"]["name"]}))
        for d in docs if d["kind"] == "InferenceService"]
    workloads += [_deployment(name, n, {"app": name}) for name, n in OUTSIDE.items()]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    return ns, namespaces, workloads, policies, docs


def _intended(ns, docs):
    """Declared connectivity into the namespace: {(src, dst, port)} with src/dst workload names."""
    names = {d["metadata"]["name"] for d in docs if d["kind"] in ("Deployment", "StatefulSet")}
    models = [d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"
              and d["metadata"]["labels"].get("app.kubernetes.io/component") == "model"]
    models += [d["metadata"]["name"] + "-predictor" for d in docs if d["kind"] == "InferenceService"]
    jobs = [d["metadata"]["name"] for d in docs if d["kind"] == "Job"]
    litemaas = "litemaas-backend" in names
    monitoring = any(d["kind"] == "ServiceMonitor" for d in docs)
    want = {("router", "litellm", 4000), ("litellm", "postgres", 5432)}
    if litemaas:
        want |= {("router", "litemaas-frontend", 8080), ("router", "litemaas-backend", 8080),
                 ("litemaas-frontend", "litemaas-backend", 8080), ("litemaas-backend", "litellm", 4000),
                 ("litemaas-backend", "postgres", 5432)}
    want |= {(job, "postgres", 5432) for job in jobs}
    want |= {("litellm", m, 8080) for m in models}
    if monitoring:
        want |= {("prometheus", m, 8080) for m in models}
    return want


def _analyze(nca, workdir, ns, namespaces, workloads, policies):
    (workdir / "ns.yaml").write_text(yaml.safe_dump_all(_fill(namespaces)))
    (workdir / "pods.yaml").write_text(yaml.safe_dump_all(_fill(workloads)))
    (workdir / "policies.yaml").write_text(yaml.safe_dump_all(_fill(policies)))
    proc = subprocess.run([nca, "--connectivity", str(workdir / "policies.yaml"), "--ns_list", str(workdir / "ns.yaml"),
                           "--pod_list", str(workdir / "pods.yaml"), "--output_format", "txt_no_fw_rules",
                           "--output_endpoints", "deployments"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    got = set()
    line_re = re.compile(r"^(\S+) => (\S+) : (.*)$")
    for line in proc.stdout.splitlines():
        m = line_re.match(line.strip())
        if not m or not m[2].startswith(ns + "/"):
            continue
        src = m[1].split("/", 1)[1].split("[")[0] if "/" in m[1] else m[1]
        dst = m[2].split("/", 1)[1].split("[")[0]
        ports = re.findall(r"dst_ports:([0-9,\-]+)", m[3])
        if m[3] == "All connections" or not ports:
            got.add((src, dst, "all"))
            continue
        for p in ports[0].split(","):
            got.add((src, dst, int(p)) if "-" not in p else (src, dst, p))
    return got, proc.stdout


@pytest.fixture(scope="session")
def nca():
    return subprocess.run([str(REPO / "tests" / "setup" / "netpol.sh")], check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_network_policies_admit_exactly_the_declared_connections(rendered, nca, tmp_path, env):
    ns, namespaces, workloads, policies, docs = _model(rendered[env][0], env)
    got, report = _analyze(nca, tmp_path, ns, namespaces, workloads, policies)
    want = _intended(ns, docs)
    assert got == want, "missing: %s\nunexpected: %s\n%s" % (sorted(want - got, key=str), sorted(got - want, key=str),
                                                             report[-4000:])
