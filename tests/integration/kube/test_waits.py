# Copyright: redwood.maas contributors. Apache License 2.0.
"""The condition-based waits, driven by a test "controller" that patches .status through the
API server (kube-local runs no operators, no kubelet): *_standin_status_patched."""
import json
import time
from datetime import datetime, timezone

from kube_helpers import recap

OLM = "operators.coreos.com/v1alpha1"


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_for(fn, timeout=180, what="object"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("timed out waiting for %s" % what)


def ensure_ns(kube, ns):
    if kube.get("v1", "Namespace", ns) is None:
        kube.resource("v1", "Namespace").create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})


def create_csv(kube, ns, name, annotations=None):
    kube.resource(OLM, "ClusterServiceVersion").create(namespace=ns, body={
        "apiVersion": OLM, "kind": "ClusterServiceVersion", "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {"displayName": name, "install": {"strategy": "deployment", "spec": {"deployments": []}}}})


def succeed(kube, ns, sub_name, csv):
    kube.patch_status(OLM, "Subscription", sub_name, {"currentCSV": csv, "lastUpdated": now()}, ns)
    kube.patch_status(OLM, "ClusterServiceVersion", csv, {"phase": "Succeeded"}, ns)


def test_gpu_operators_waits_and_manual_approval_standin_status_patched(kube_local, ansible):
    """Own package and namespace names: the staging converge (site_lane.py) runs meanwhile with
    the real ones."""
    k = kube_local
    for ns in ("openshift-marketplace",):
        ensure_ns(k, ns)
    pm = k.resource("packages.operators.coreos.com/v1", "PackageManifest")
    pm.create(namespace="openshift-marketplace", body={
        "apiVersion": "packages.operators.coreos.com/v1", "kind": "PackageManifest", "metadata": {"name": "nfd-waits"}})
    k.patch_status("packages.operators.coreos.com/v1", "PackageManifest", "nfd-waits",
                   {"defaultChannel": "stable-from-catalog",
                    "channels": [{"name": "stable-from-catalog", "currentCSV": "nfd.v4.17.0"}]},
                   "openshift-marketplace")
    pinned = "gpu-operator-certified.v24.9.0"
    extra = {
        "role_under_test": "gpu_operators", "maas_k8s_wait": True, "maas_k8s_wait_delay": 1,
        "maas_k8s_wait_timeout": 240,
        "gpu_operators_nfd": {"package": "nfd-waits", "source": "redhat-operators", "namespace": "openshift-nfd-waits"},
        "gpu_operators_nvidia": {"package": "gpu-operator-certified", "source": "certified-operators",
                                 "namespace": "nvidia-gpu-operator-waits", "channel": "v24.9",
                                 "approval": "Manual", "starting_csv": pinned},
        "gpu_operators_clusterpolicy_overrides": {"driver": {"useOpenKernelModules": True}},
        "gpu_operators_clusterpolicy_name": "gpu-policy-waits",
    }
    proc = ansible.start("tests/integration/kube/role.yml", "-i", "inventories/dev",
                         *sum((["-e", json.dumps({a: b})] for a, b in extra.items()), []))
    try:
        # NFD: the Subscription appears; OLM would resolve it and install the CSV.
        wait_for(lambda: k.get(OLM, "Subscription", "nfd-waits", "openshift-nfd-waits"), what="NFD Subscription")
        create_csv(k, "openshift-nfd-waits", "nfd.v4.17.0")
        time.sleep(2)
        assert proc.poll() is None, "the role did not wait for the NFD CSV"
        succeed(k, "openshift-nfd-waits", "nfd-waits", "nfd.v4.17.0")

        # NVIDIA, Manual approval: two InstallPlans, only the pinned CSV's may be approved.
        ns = "nvidia-gpu-operator-waits"
        wait_for(lambda: k.get(OLM, "Subscription", "gpu-operator-certified", ns), what="NVIDIA Subscription")
        ip = k.resource(OLM, "InstallPlan")
        for name, csv in (("install-newer", "gpu-operator-certified.v25.3.0"), ("install-pinned", pinned)):
            ip.create(namespace=ns, body={"apiVersion": OLM, "kind": "InstallPlan", "metadata": {"name": name}, "spec": {
                "approval": "Manual", "approved": False, "clusterServiceVersionNames": [csv]}})
        wait_for(lambda: k.get(OLM, "InstallPlan", "install-pinned", ns)["spec"]["approved"],
                 what="approval of the pinned InstallPlan")
        example = [{"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "x"},
                    "spec": {"operator": {"defaultRuntime": "crio"}, "daemonsets": {}, "dcgm": {"enabled": False},
                             "dcgmExporter": {"enabled": True}, "devicePlugin": {"enabled": True},
                             "driver": {"enabled": True, "useOpenKernelModules": False}, "gfd": {"enabled": True},
                             "nodeStatusExporter": {"enabled": True}, "toolkit": {"enabled": True}}}]
        create_csv(k, ns, pinned, {"alm-examples": json.dumps(example)})
        succeed(k, ns, "gpu-operator-certified", pinned)

        # The ClusterPolicy is created from alm-examples; the GPU operator would make it ready.
        cp = wait_for(lambda: k.get("nvidia.com/v1", "ClusterPolicy", "gpu-policy-waits"), what="ClusterPolicy")
        time.sleep(2)
        assert proc.poll() is None, "the role did not wait for the ClusterPolicy"
        k.patch_status("nvidia.com/v1", "ClusterPolicy", "gpu-policy-waits", {"state": "ready", "conditions": [
            {"type": "Ready", "status": "True", "reason": "Reconciled", "message": "all operands ready", "lastTransitionTime": now()}]})
        out = proc.communicate(timeout=240)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-6000:]
    assert recap(out)["failed"] == 0
    assert k.get(OLM, "Subscription", "nfd-waits", "openshift-nfd-waits")["spec"]["channel"] == "stable-from-catalog"
    assert "startingCSV" not in k.get(OLM, "Subscription", "nfd-waits", "openshift-nfd-waits")["spec"]  # Automatic: OLM picks
    assert k.get(OLM, "InstallPlan", "install-newer", ns)["spec"]["approved"] is False
    assert cp["spec"]["dcgm"]["enabled"] is False  # from the CSV's alm-examples
    assert cp["spec"]["driver"]["useOpenKernelModules"] is True  # inventory override merged


def test_manual_approval_pin_missing_from_catalog_standin_fails_before_any_change(kube_local, ansible):
    k = kube_local
    ensure_ns(k, "openshift-marketplace")
    pm = k.resource("packages.operators.coreos.com/v1", "PackageManifest")
    if k.get("packages.operators.coreos.com/v1", "PackageManifest", "nfd-pinned", "openshift-marketplace") is None:
        pm.create(namespace="openshift-marketplace", body={
            "apiVersion": "packages.operators.coreos.com/v1", "kind": "PackageManifest", "metadata": {"name": "nfd-pinned"}})
    k.patch_status("packages.operators.coreos.com/v1", "PackageManifest", "nfd-pinned", {
        "defaultChannel": "stable",
        "channels": [{"name": "stable", "currentCSV": "nfd.4.15.0-202501010000", "entries": [{"name": "nfd.4.15.0-202501010000"}]}]},
        "openshift-marketplace")
    extra = {"role_under_test": "gpu_operators", "maas_k8s_wait": False,
             "gpu_operators_nfd": {"package": "nfd-pinned", "source": "redhat-operators", "namespace": "nfd-pinned-ns",
                                   "channel": "stable", "approval": "Manual", "starting_csv": "nfd.4.17.0-202411081506"}}
    rc, out = ansible.run("tests/integration/kube/role.yml", "-i", "inventories/dev", extra=extra, ok=False)
    assert rc != 0
    assert "does not offer CSV nfd.4.17.0-202411081506" in out and "nfd.4.15.0-202501010000" in out, out[-3000:]
    assert k.get("v1", "Namespace", "nfd-pinned-ns") is None  # nothing applied


def deployment_rolled_out(kube, name, ns, generation=None):
    dep = kube.get("apps/v1", "Deployment", name, ns)
    gen = dep["metadata"]["generation"] if generation is None else generation
    n = dep["spec"]["replicas"]
    kube.patch_status("apps/v1", "Deployment", name, {
        "observedGeneration": gen, "replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n,
        "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}, ns)


def test_model_waits_standin_status_patched(kube_local, ansible):
    k = kube_local
    ns = "maas-waits"
    if k.get("v1", "Node", "gpu-node-1") is None:  # the GPU node check before the waits
        k.resource("v1", "Node").create(body={"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": "gpu-node-1", "labels": {"nvidia.com/gpu.present": "true"}}})
    models = [{"name": "small", "source": "oci://quay.io/example/modelcar:1", "serving": "deployment"},
              {"name": "big", "source": "pvc://models/big", "serving": "kserve", "gpus": 2}]
    extra = {"role_under_test": "model_serving", "maas_namespace": ns, "maas_models": models,
             "maas_k8s_wait": True, "maas_k8s_wait_delay": 1, "maas_k8s_wait_timeout": 240,
             "maas_monitoring": False, "model_serving_overrides": {}}
    proc = ansible.start("tests/integration/kube/role.yml", "-i", "inventories/dev",
                         *sum((["-e", json.dumps({a: b})] for a, b in extra.items()), []))
    try:
        wait_for(lambda: k.get("apps/v1", "Deployment", "small", ns), what="Deployment")
        wait_for(lambda: k.get("serving.kserve.io/v1beta1", "InferenceService", "big", ns), what="InferenceService")
        time.sleep(3)
        assert proc.poll() is None, "the role did not wait for the Deployment"
        # Available, but the controller has not seen the new generation yet: still rolling out.
        deployment_rolled_out(k, "small", ns, generation=0)
        time.sleep(3)
        assert proc.poll() is None, "the wait took an old generation's status for the rollout"
        deployment_rolled_out(k, "small", ns)
        time.sleep(3)
        assert proc.poll() is None, "the role did not wait for the InferenceService"
        k.patch_status("serving.kserve.io/v1beta1", "InferenceService", "big", {"conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": now()}]}, ns)
        out = proc.communicate(timeout=240)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-6000:]


def test_model_waits_need_a_gpu_node_first(kube_local, ansible):
    if kube_local.get("v1", "Node", "gpu-node-1") is not None:
        kube_local.resource("v1", "Node").delete(name="gpu-node-1")
    models = [{"name": "nogpu", "source": "oci://quay.io/example/modelcar:1", "serving": "deployment"}]
    extra = {"role_under_test": "model_serving", "maas_namespace": "maas-nogpu", "maas_models": models,
             "maas_k8s_wait": True, "maas_k8s_wait_timeout": 5, "model_serving_overrides": {}}
    rc, out = ansible.run("tests/integration/kube/role.yml", "-i", "inventories/dev", extra=extra, ok=False)
    assert rc != 0
    assert "No node is labelled nvidia.com/gpu.present=true" in out, out[-3000:]
