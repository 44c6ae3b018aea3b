# Copyright: redwood.maas contributors. Apache License 2.0.
"""The condition-based waits, driven by a test "controller" that patches .status through the
API server (kube-local runs no operators, no kubelet): *_status_patched."""
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


def test_gpu_operators_waits_and_manual_approval_status_patched(kube_local, ansible):
    k = kube_local
    for ns in ("openshift-marketplace",):
        ensure_ns(k, ns)
    pm = k.resource("packages.operators.coreos.com/v1", "PackageManifest")
    pm.create(namespace="openshift-marketplace", body={
        "apiVersion": "packages.operators.coreos.com/v1", "kind": "PackageManifest", "metadata": {"name": "nfd"}})
    k.patch_status("packages.operators.coreos.com/v1", "PackageManifest", "nfd",
                   {"defaultChannel": "stable-from-catalog"}, "openshift-marketplace")
    pinned = "gpu-operator-certified.v24.9.0"
    extra = {
        "role_under_test": "gpu_operators", "maas_k8s_wait": True, "maas_k8s_wait_delay": 1,
        "maas_k8s_wait_timeout": 240,
        "gpu_operators_nfd": {"package": "nfd", "source": "redhat-operators", "namespace": "openshift-nfd"},
        "gpu_operators_nvidia": {"package": "gpu-operator-certified", "source": "certified-operators",
                                 "namespace": "nvidia-gpu-operator", "channel": "v24.9",
                                 "approval": "Manual", "starting_csv": pinned},
        "gpu_operators_clusterpolicy_overrides": {"driver": {"useOpenKernelModules": True}},
        "gpu_operators_clusterpolicy_name": "gpu-policy-waits",
    }
    proc = ansible.start("tests/integration/kube/role.yml", "-i", "inventories/dev",
                         *sum((["-e", json.dumps({a: b})] for a, b in extra.items()), []))
    try:
        # NFD: the Subscription appears; OLM would resolve it and install the CSV.
        wait_for(lambda: k.get(OLM, "Subscription", "nfd", "openshift-nfd"), what="NFD Subscription")
        create_csv(k, "openshift-nfd", "nfd.v4.17.0")
        time.sleep(2)
        assert proc.poll() is None, "the role did not wait for the NFD CSV"
        succeed(k, "openshift-nfd", "nfd", "nfd.v4.17.0")

        # NVIDIA, Manual approval: two InstallPlans, only the pinned CSV's may be approved.
        ns = "nvidia-gpu-operator"
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
        k.patch_status("nvidia.com/v1", "ClusterPolicy", "gpu-policy-waits", {"state": "ready"})
        out = proc.communicate(timeout=240)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-6000:]
    assert recap(out)["failed"] == 0
    assert k.get(OLM, "Subscription", "nfd", "openshift-nfd")["spec"]["channel"] == "stable-from-catalog"
    assert k.get(OLM, "InstallPlan", "install-newer", ns)["spec"]["approved"] is False
    assert cp["spec"]["dcgm"]["enabled"] is False  # from the CSV's alm-examples
    assert cp["spec"]["driver"]["useOpenKernelModules"] is True  # inventory override merged


def test_model_waits_status_patched(kube_local, ansible):
    k = kube_local
    ns = "maas-waits"
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
        k.patch_status("apps/v1", "Deployment", "small", {"conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}, ns)
        time.sleep(3)
        assert proc.poll() is None, "the role did not wait for the InferenceService"
        k.patch_status("serving.kserve.io/v1beta1", "InferenceService", "big", {"conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": now()}]}, ns)
        out = proc.communicate(timeout=240)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-6000:]
