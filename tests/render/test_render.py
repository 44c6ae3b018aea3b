# Copyright: redwood.maas contributors. Apache License 2.0.
"""Render mode over the example inventories: no cluster, every manifest valid."""
import re
import stat

import pytest
import yaml

from render_helpers import ENVIRONMENTS, run_playbook
from render_manifests import validate


def _docs(directory):
    for f in sorted(directory.glob("*/manifests.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            if doc:
                yield f, doc


def _find(directory, kind, name):
    found = [d for _f, d in _docs(directory) if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_rendered_manifest_validates(rendered, env):
    directory, _out = rendered[env]
    docs = list(_docs(directory))
    assert len(docs) > 15
    failures = []
    for f, doc in docs:
        try:
            validate(doc)
        except AssertionError as exc:
            failures.append("%s: %s" % (f.relative_to(directory), exc))
    assert not failures, "\n".join(failures)


def test_render_covers_every_kind(rendered):
    kinds = {doc["kind"] for env in ENVIRONMENTS for _f, doc in _docs(rendered[env][0])}
    assert {"Namespace", "OperatorGroup", "Subscription", "NodeFeatureDiscovery", "ClusterPolicy",
            "StatefulSet", "Job", "Deployment", "Service", "PersistentVolumeClaim", "ConfigMap",
            "ServingRuntime", "InferenceService", "ServiceMonitor", "Route", "NetworkPolicy",
            "ServiceAccount", "Group"} <= kinds


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_kustomization_lists_exactly_the_rendered_layers(rendered, env):
    directory, _out = rendered[env]
    top = yaml.safe_load((directory / "kustomization.yaml").read_text())
    layers = {str(p.relative_to(directory)) for p in directory.glob("*/manifests.yaml")}
    assert sorted(top["resources"]) == sorted(layers)
    assert not any(r.startswith("secrets") for r in top["resources"])
    assert top["resources"][0].startswith("gpu-operators-nfd/")  # operators sync first


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secrets_rendered_aside_private_and_never_printed(rendered, env):
    directory, output = rendered[env]
    secret_files = sorted((directory / "secrets").glob("*.yaml"))
    assert secret_files
    values = []
    for f in secret_files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        doc = yaml.safe_load(f.read_text())
        values += [v for v in (doc.get("stringData") or {}).values() if isinstance(v, str) and len(v) >= 16]
        if doc["kind"] == "OAuthClient":
            values.append(doc["secret"])
    assert values
    public = "".join(p.read_text() for p in directory.glob("*/manifests.yaml"))
    for v in values:
        assert v not in output, "a generated secret was printed"
        assert v not in public, "a generated secret is in the kustomization"


def test_litemaas_secrets_and_admin_key_prefix(rendered):
    directory, _out = rendered["staging"]
    data = yaml.safe_load((directory / "secrets" / "maas-staging-maas-litemaas.yaml").read_text())["stringData"]
    assert data["admin-api-key"].startswith("ltm_admin_") and len(data["admin-api-key"]) > 30
    assert re.fullmatch(r"[0-9a-f-]{36}", data["automation-user-id"])
    assert len(data["jwt-secret"]) >= 64


def test_prod_uses_manual_approval_and_oauthclient(rendered):
    directory, _out = rendered["prod"]
    sub = _find(directory, "Subscription", "gpu-operator-certified")
    assert sub["spec"]["installPlanApproval"] == "Manual"
    assert sub["spec"]["startingCSV"] == "gpu-operator-certified.v24.9.0"
    assert (directory / "secrets" / "oauthclient-litemaas-maas.yaml").exists()
    cp = _find(directory, "ClusterPolicy", "gpu-cluster-policy")
    assert cp["spec"]["driver"]["useOpenKernelModules"] is True  # override merged
    assert cp["spec"]["driver"]["enabled"] is True  # base kept
    dep = _find(directory, "Deployment", "llama-3-3-70b-instruct-awq")
    vllm = dep["spec"]["template"]["spec"]["containers"][0]
    assert "--tensor-parallel-size=2" in vllm["args"] and "--quantization=awq" in vllm["args"]
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert dep["spec"]["replicas"] == 2
    shm = [v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "shm"][0]
    assert shm["emptyDir"]["medium"] == "Memory"


def test_dev_subscription_leaves_channel_to_olm_default(rendered):
    directory, _out = rendered["dev"]
    sub = _find(directory, "Subscription", "nfd")
    assert "channel" not in sub["spec"]  # OLM then uses the PackageManifest's defaultChannel


def test_rerender_keeps_secrets_and_changes_nothing(rendered):
    directory, _out = rendered["dev"]
    before = {f.name: f.read_text() for f in (directory / "secrets").glob("*.yaml")}
    proc = run_playbook("playbooks/site.yml", "-i", "inventories/dev", "-e", "maas_delivery=render",
                        "-e", "maas_render_dir=%s" % directory, check=True)
    assert re.search(r"localhost\s*:.*changed=0 ", proc.stdout), proc.stdout[-3000:]
    after = {f.name: f.read_text() for f in (directory / "secrets").glob("*.yaml")}
    assert before == after


BAD_MODELS = {
    "serving": ({"name": "m1", "source": "oci://quay.io/x/y:1", "serving": "triton"}, "serving"),
    "gpus": ({"name": "m1", "source": "oci://quay.io/x/y:1", "gpus": 0}, "gpus must be at least 1"),
    "source": ({"name": "m1", "source": "s3://bucket/model"}, "source s3://bucket/model is malformed"),
    "hf_source": ({"name": "m1", "source": "hf://just-a-name"}, "is malformed"),
    "name": ({"name": "Granite_8B", "source": "oci://quay.io/x/y:1"}, "not a valid Kubernetes name"),
}


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_fails_before_anything_is_written(tmp_path, case):
    import json
    model, message = BAD_MODELS[case]
    out = tmp_path / "out"
    proc = run_playbook("playbooks/site.yml", "-i", "inventories/dev", "-e", "maas_delivery=render",
                        "-e", "maas_render_dir=%s" % out, "-e", json.dumps({"maas_models": [model]}))
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout[-3000:]
    assert not out.exists(), "something was written before the error"
