# Copyright: redwood.maas contributors. Apache License 2.0.
"""Apply mode against a real kube-apiserver (../shared/kube-local) with the real CRDs loaded.

Nothing runs in that API server (no controllers): the converge runs with maas_k8s_wait=false,
and the waits are covered by the *_standin_status_patched tests, which patch .status through the API
the way the controllers would.
"""
import base64

import pytest

from fixtures.kube import shared_crds, started_kube_local
from kube_helpers import Runner, recap

NS = "maas-staging"
SITE = ("playbooks/site.yml", "-i", "inventories/staging", "--tags", "platform,serving,gateway")
PINNED = {
    "maas_k8s_wait": False,
    "gpu_operators_nfd": {"package": "nfd", "source": "redhat-operators", "namespace": "openshift-nfd",
                          "channel": "stable"},
    "gpu_operators_nvidia": {"package": "gpu-operator-certified", "source": "certified-operators",
                             "namespace": "nvidia-gpu-operator", "channel": "v24.9"},
}
SECRETS = ["maas-postgres", "maas-litellm", "maas-litemaas"]


def secret_data(kube, name, ns=NS):
    obj = kube.get("v1", "Secret", name, ns)
    return {k: base64.b64decode(v).decode() for k, v in (obj["data"] or {}).items()}


def ensure_namespace_with_hf_token(kube, ns):
    if kube.get("v1", "Namespace", ns) is None:
        kube.resource("v1", "Namespace").create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    if kube.get("v1", "Secret", "hf-token", ns) is None:
        kube.resource("v1", "Secret").create(namespace=ns, body={
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hf-token"}, "stringData": {"HF_TOKEN": "hf_test"}})


@pytest.fixture(scope="module")
def converged(kube_local, ansible):
    ensure_namespace_with_hf_token(kube_local, NS)
    _rc, first = ansible.run(*SITE, extra=PINNED)
    secrets1 = {n: secret_data(kube_local, n) for n in SECRETS}
    _rc, second = ansible.run(*SITE, extra=PINNED)
    secrets2 = {n: secret_data(kube_local, n) for n in SECRETS}
    return {"first": first, "second": second, "secrets1": secrets1, "secrets2": secrets2}


def test_full_converge_creates_every_component(converged, kube_local):
    assert recap(converged["first"])["changed"] > 10
    k = kube_local
    assert k.get("apps/v1", "StatefulSet", "postgres", NS)
    assert [j["metadata"]["name"] for j in k.list("batch/v1", "Job", NS) if j["metadata"]["name"].startswith("postgres-init-")]
    dep = k.get("apps/v1", "Deployment", "granite-3-1-8b-instruct", NS)
    assert dep["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    isvc = k.get("serving.kserve.io/v1beta1", "InferenceService", "mistral-7b-instruct", NS)
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "hf://mistralai/Mistral-7B-Instruct-v0.3"
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    assert k.get("serving.kserve.io/v1alpha1", "ServingRuntime", "vllm-runtime", NS)
    assert k.get("monitoring.coreos.com/v1", "ServiceMonitor", "granite-3-1-8b-instruct", NS)
    for name in ("litellm", "litemaas-backend", "litemaas-frontend"):
        assert k.get("apps/v1", "Deployment", name, NS), name
    assert k.get("route.openshift.io/v1", "Route", "litemaas", NS)
    # Consumers call LiteLLM through its Route with either gateway (the URL their keys carry).
    assert k.get("route.openshift.io/v1", "Route", "litellm", NS)["spec"]["host"] == "litellm-maas-staging.apps.cluster.example.com"
    isvc_sa = k.get("v1", "ServiceAccount", "mistral-7b-instruct-storage", NS)
    assert isvc_sa["secrets"] == [{"name": "hf-token"}]  # KServe's storage-initializer reads HF_TOKEN from it
    assert isvc["spec"]["predictor"]["serviceAccountName"] == "mistral-7b-instruct-storage"
    admins = k.get("user.openshift.io/v1", "Group", "litemaas-admins")
    assert admins["users"] == ["alice"]
    sub = k.get("operators.coreos.com/v1alpha1", "Subscription", "gpu-operator-certified", "nvidia-gpu-operator")
    assert sub["spec"]["channel"] == "v24.9"
    assert k.get("nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy")
    pols = {p["metadata"]["name"] for p in k.list("networking.k8s.io/v1", "NetworkPolicy", NS)}
    assert {"postgres-clients", "litellm-ingress", "litemaas-ingress", "models-ingress"} <= pols
    assert all(o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "redwood.maas"
               for o in k.list("apps/v1", "Deployment", NS))


def test_second_run_changes_nothing(converged):
    assert recap(converged["second"])["changed"] == 0, converged["second"][-5000:]


def test_secrets_generated_once_and_kept(converged):
    s1, s2 = converged["secrets1"], converged["secrets2"]
    assert s1 == s2
    assert s1["maas-litemaas"]["admin-api-key"].startswith("ltm_admin_")
    assert s1["maas-litellm"]["master-key"].startswith("sk-")
    assert set(s1["maas-postgres"]) == {"admin-password", "litellm-password", "litemaas-password"}
    for out in (converged["first"], converged["second"]):
        for data in s1.values():
            for value in data.values():
                assert value not in out, "a secret value was printed"


def test_check_mode_writes_nothing(converged, kube_local, ansible):
    before = {o["metadata"]["name"]: o["metadata"]["resourceVersion"]
              for kind in ("Deployment", "StatefulSet") for o in kube_local.list("apps/v1", kind, NS)}
    secrets_before = {n: secret_data(kube_local, n) for n in SECRETS}
    extra = dict(PINNED, litellm_replicas=3, litellm_redis_host="redis.example", litellm_redis_secret="redis",
                 litemaas_rotate_secrets=True,
                 model_serving_overrides={"granite-3-1-8b-instruct": {"replicas": 4, "cache_volume": "emptyDir"},
                                          "mistral-7b-instruct": {"hf_token_secret": "hf-token"}})
    _rc, out = ansible.run(*SITE, "--check", "--diff", extra=extra)
    assert recap(out)["changed"] > 0  # the change is reported...
    after = {o["metadata"]["name"]: o["metadata"]["resourceVersion"]
             for kind in ("Deployment", "StatefulSet") for o in kube_local.list("apps/v1", kind, NS)}
    assert after == before  # ... but nothing was written
    assert kube_local.get("apps/v1", "Deployment", "litellm", NS)["spec"]["replicas"] == 1
    assert {n: secret_data(kube_local, n) for n in SECRETS} == secrets_before


def test_rotation_only_when_asked(converged, kube_local, ansible):
    before = secret_data(kube_local, "maas-litellm")
    ansible.run(*SITE[:3], "--tags", "gateway", extra=dict(PINNED, litellm_rotate_secrets=True))
    after = secret_data(kube_local, "maas-litellm")
    assert after["master-key"] != before["master-key"] and after["master-key"].startswith("sk-")
    assert secret_data(kube_local, "maas-postgres") == converged["secrets2"]["maas-postgres"]


def test_broken_manifest_is_rejected_by_the_server(converged, ansible):
    rc, out = ansible.run(*SITE[:3], "--tags", "gateway", ok=False, extra=dict(PINNED, litellm_replicas=-1))
    assert rc != 0
    assert "Deployment" in out and "must be greater than or equal to 0" in out, out[-4000:]


def test_missing_hf_token_secret_fails_before_anything_is_applied(kube_local, ansible):
    ns = "maas-nohf"
    rc, out = ansible.run(*SITE, ok=False, extra=dict(PINNED, maas_namespace=ns))
    assert rc != 0
    assert "Secret(s) hf-token not found in namespace maas-nohf" in out, out[-4000:]
    assert kube_local.get("v1", "Namespace", ns) is None


def test_teardown_keeps_data_unless_purged(converged, kube_local, ansible):
    k = kube_local
    keep = {n: secret_data(k, n) for n in SECRETS}
    pvcs = {p["metadata"]["name"] for p in k.list("v1", "PersistentVolumeClaim", NS)}
    assert "granite-3-1-8b-instruct-cache" in pvcs
    ansible.run("playbooks/teardown.yml", "-i", "inventories/staging")
    assert k.list("apps/v1", "Deployment", NS) == []
    assert k.get("apps/v1", "StatefulSet", "postgres", NS) is None
    assert k.get("serving.kserve.io/v1beta1", "InferenceService", "mistral-7b-instruct", NS) is None
    assert k.get("user.openshift.io/v1", "Group", "litemaas-admins") is None
    assert {p["metadata"]["name"] for p in k.list("v1", "PersistentVolumeClaim", NS)} == pvcs
    assert {n: secret_data(k, n) for n in SECRETS} == keep
    # A new converge reuses the kept Secrets.
    ansible.run(*SITE[:3], "--tags", "platform,gateway", extra=dict(PINNED, gpu_operators_enabled=False))
    assert {n: secret_data(k, n) for n in SECRETS} == keep
    assert k.get("apps/v1", "StatefulSet", "postgres", NS)


def test_serving_kserve_without_kserve_crds_fails_before_anything_is_applied(tmp_path, kube_extra_crds):
    """Defect 3: a cluster with OLM, Routes, the GPU operator's CRDs... but no KServe/OpenShift AI.
    Its own API server (kube-local keeps a deleted CRD while it finalises, so the session one
    cannot lose KServe): the check runs before the first change (no namespace, no Subscription)."""
    crds = [*shared_crds(exclude=("serving.kserve.io",)), *kube_extra_crds]
    with started_kube_local(tmp_path / "kube-nokserve", crds) as kube:
        assert kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "inferenceservices.serving.kserve.io") is None
        assert kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "subscriptions.operators.coreos.com")
        rc, out = Runner(kube).run(*SITE, ok=False, extra=PINNED)
        assert rc != 0
        assert "use serving: kserve, but the cluster has no KServe CRDs" in out and "OpenShift AI" in out, out[-4000:]
        assert "mistral-7b-instruct" in out
        assert kube.get("v1", "Namespace", NS) is None
        assert kube.list("operators.coreos.com/v1alpha1", "Subscription") == []
        assert recap(out)["changed"] == 0


def test_multi_replica_model_on_rwo_cache_fails_before_anything_is_applied(kube_local, ansible):
    ns = "maas-rwo"
    extra = dict(PINNED, maas_namespace=ns, model_serving_overrides={"granite-3-1-8b-instruct": {"replicas": 2}})
    rc, out = ansible.run(*SITE, ok=False, extra=extra)
    assert rc != 0
    assert "Multi-Attach" in out and "cache_volume: emptyDir" in out, out[-4000:]
    assert kube_local.get("v1", "Namespace", ns) is None


def test_check_mode_first_install_writes_nothing(kube_local, ansible):
    ns = "maas-firstcheck"
    extra = dict(PINNED, maas_namespace=ns, gpu_operators_enabled=False,
                 model_serving_overrides={"mistral-7b-instruct": {"hf_token_secret": ""}},
                 model_serving_hf_token_secret="")
    _rc, out = ansible.run(*SITE, "--check", "--diff", extra=extra)
    assert recap(out)["changed"] > 0
    assert "Would create (in a namespace that does not exist yet)" in out
    assert kube_local.get("v1", "Namespace", ns) is None
    assert kube_local.get("v1", "Secret", "maas-litellm", ns) is None
