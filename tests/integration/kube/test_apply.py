# Copyright: redwood.maas contributors. Apache License 2.0.
"""Apply mode against a real kube-apiserver (../shared/kube-local) with the real CRDs loaded.

Nothing runs in that API server (no controllers): the converge runs with maas_k8s_wait=false,
and the waits are covered by the *_standin_status_patched tests, which patch .status through the API
the way the controllers would.

The staging namespace is converged once per session (site_lane.py, in the background): its tests
assert on what that one life recorded; the tests with their own namespace or server run meanwhile.
"""
from fixtures.kube import shared_crds, started_kube_local
from kube_helpers import Runner, recap
from site_lane import NS, PINNED, SITE


def test_full_converge_creates_every_component(site):
    rec = site.wait("converge")
    assert rec["rc"] == 0, rec["out"][-8000:]
    assert recap(rec["out"])["changed"] > 10
    k = rec["state"]  # the cluster as this run left it (the lane has moved on since)
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


def test_second_run_changes_nothing(site):
    rec = site.wait("second")
    assert rec["rc"] == 0, rec["out"][-8000:]
    assert recap(rec["out"])["changed"] == 0, rec["out"][-5000:]


def test_secrets_generated_once_and_kept(site):
    first, second = site.wait("converge"), site.wait("second")
    s1, s2 = first["secrets"], second["secrets"]
    assert s1 == s2
    assert s1["maas-litemaas"]["admin-api-key"].startswith("ltm_admin_")
    assert s1["maas-litellm"]["master-key"].startswith("sk-")
    assert set(s1["maas-postgres"]) == {"admin-password", "litellm-password", "litemaas-password"}
    for out in (first["out"], second["out"]):
        for data in s1.values():
            for value in data.values():
                assert value not in out, "a secret value was printed"


def test_check_mode_writes_nothing(site):
    """litellm x3 with Redis, LiteMaaS secrets rotated, granite x4 on emptyDir caches: --check --diff."""
    rec = site.wait("check")
    assert rec["rc"] == 0, rec["out"][-8000:]
    assert recap(rec["out"])["changed"] > 0  # the change is reported...
    assert rec["after"] == rec["before"]  # ... but nothing was written
    assert rec["litellm_replicas"] == 1
    assert rec["secrets_after"] == rec["secrets_before"]


def test_rotation_only_when_asked(site):
    rec = site.wait("rotation")
    assert rec["rc"] == 0, rec["out"][-8000:]
    before, after = rec["before"]["maas-litellm"], rec["after"]["maas-litellm"]
    assert after["master-key"] != before["master-key"] and after["master-key"].startswith("sk-")
    assert rec["after"]["maas-postgres"] == site.wait("second")["secrets"]["maas-postgres"]


def test_broken_manifest_is_rejected_by_the_server(site):
    rec = site.wait("broken")
    assert rec["rc"] != 0
    assert "Deployment" in rec["out"] and "must be greater than or equal to 0" in rec["out"], rec["out"][-4000:]


def test_teardown_keeps_data_unless_purged(site):
    rec = site.wait("teardown")
    assert "granite-3-1-8b-instruct-cache" in rec["pvcs"]
    assert rec["rc"] == 0, rec["out"][-8000:]
    gone = rec["gone"]
    assert gone["deployments"] == []
    assert gone["postgres"] is None
    assert gone["isvc"] is None
    assert gone["group"] is None
    assert gone["pvcs"] == rec["pvcs"]
    assert gone["secrets"] == rec["keep"]
    # A new converge reuses the kept Secrets.
    assert rec["again_rc"] == 0, rec["again_out"][-8000:]
    assert rec["again_secrets"] == rec["keep"]
    assert rec["again_postgres"]


def test_missing_hf_token_secret_fails_before_anything_is_applied(kube_local, ansible):
    ns = "maas-nohf"
    rc, out = ansible.run(*SITE, ok=False, extra=dict(PINNED, maas_namespace=ns))
    assert rc != 0
    assert "Secret(s) hf-token not found in namespace maas-nohf" in out, out[-4000:]
    assert kube_local.get("v1", "Namespace", ns) is None


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
