# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The tenants role with maas_gateway=litemaas, run against the STAND-IN LiteMaaS (0.4.0 cannot run here)."""

import json
import os
import stat

import pytest

from standin_litemaas import JWT_SECRET


def inventory(standin, tmp_path, **over):
    data = dict(
        maas_gateway="litemaas",
        maas_gateway_url="http://litellm.example:4000",
        maas_litemaas_url=standin.url,
        maas_litemaas_jwt_secret=JWT_SECRET,
        maas_litemaas_automation_user=standin.automation,
        maas_models=[dict(name="granite-standin", endpoint="http://127.0.0.1:9/v1", max_model_len=2048,
                          cost=dict(input_per_1k=0.5, output_per_1k=1.5))],
        maas_budget_defaults=dict(max_budget=50, budget_duration="30d", tpm_limit=100000, rpm_limit=300),
        maas_users=[dict(name="alice", email="alice@example.edu", role="admin", max_budget=100,
                         models=["granite-standin"]),
                    dict(name="carol", email="carol@example.edu")],
        maas_api_keys=[dict(name="alice-notebook", owner=dict(user="alice"), models=["granite-standin"],
                            max_budget=20, duration="90d", deliver_to=dict(file=str(tmp_path / "alice.env"))),
                       dict(name="carol-key", owner=dict(user="carol"), models=["granite-standin"])],
    )
    data.update(over)
    return data


def stats(stdout):
    return json.loads(stdout[stdout.index("\n{") if not stdout.startswith("{") else 0:])["stats"]["localhost"]


def test_tenants_role_litemaas_apply_rerun_check_pending_standin(standin, standin_play, tmp_path):
    standin.login("alice")          # carol has not logged in yet
    inv = inventory(standin, tmp_path)
    before = standin.snapshot()
    rc, res, out = standin_play(roles=["redwood.maas.tenants"], extra_vars=inv, check=True, connection=False)
    assert rc == 0, out
    assert standin.snapshot() == before and standin.writes == 0, "check mode wrote"
    assert not (tmp_path / "alice.env").exists()

    rc, res, out = standin_play(roles=["redwood.maas.tenants"], extra_vars=inv, connection=False, verbose=True)
    assert rc == 0, out
    assert res["redwood.maas.tenants : Apply models, users, subscriptions and API keys (new secrets delivered once; never printed)"]["changed"]
    alice = standin.user_by_name("alice")
    assert sorted(alice["roles"]) == ["admin", "user"] and alice["maxBudget"] == 100
    assert alice["budgetDuration"] == "30d" and alice["rpmLimit"] == 300
    assert standin.user_defaults == {"maxBudget": 50, "tpmLimit": 100000, "rpmLimit": 300}
    (key,) = standin.keys.values()
    assert key["name"] == "alice-notebook" and key["expiresAt"] and key["models"] == ["granite-standin"]
    env = (tmp_path / "alice.env").read_text()
    assert env == "OPENAI_API_KEY=%s\nOPENAI_BASE_URL=http://litellm.example:4000/v1\n" % key["key"]
    assert stat.S_IMODE(os.stat(tmp_path / "alice.env").st_mode) == 0o600
    assert key["key"] not in out and JWT_SECRET not in out, "a secret leaked into the -vvv output"
    assert "eyJhbGciOiJIUzI1NiIs" not in out, "a minted JWT leaked into the -vvv output"
    assert "carol" in out and "Pending" in out

    writes = standin.writes
    rc, res, out = standin_play(roles=["redwood.maas.tenants"], extra_vars=inv, connection=False)
    assert rc == 0 and stats(out)["changed"] == 0, out
    assert standin.writes == writes and standin.deployments["granite-standin"] == 1

    standin.login("carol")          # the next run picks carol up
    rc, res, out = standin_play(roles=["redwood.maas.tenants"], extra_vars=inv, connection=False)
    assert rc == 0 and stats(out)["changed"] > 0
    assert standin.user_by_name("carol")["maxBudget"] == 50
    assert [k["name"] for k in standin.keys.values() if k["isActive"]] == ["alice-notebook", "carol-key"]


@pytest.mark.parametrize("override,message", [
    (dict(maas_teams=[dict(name="cs", members=["alice"])]), "has no teams API"),
    (dict(maas_api_keys=[dict(name="k", owner=dict(team="cs"), models=["granite-standin"])]), "has no teams API"),
    (dict(maas_users=[dict(name="alice", state="absent")]), "no API to delete users"),
    (dict(maas_tenants_prune=True), "ownership marker"),
    (dict(maas_api_keys=[dict(name="k", owner=dict(user="alice"), models=["granite-standin"], max_budget=-1)]),
     "max_budget must be >= 0"),
    (dict(maas_api_keys=[dict(name="k", owner=dict(user="alice"), models=["llama"])]), "not in maas_models"),
    (dict(maas_users=[dict(name="alice", colour="red")]), "unknown field"),
])
def test_tenants_role_litemaas_refuses_before_any_write_standin(standin, standin_play, tmp_path, override, message):
    standin.login("alice")
    rc, res, out = standin_play(roles=["redwood.maas.tenants"], extra_vars=inventory(standin, tmp_path, **override),
                        connection=False)
    assert rc != 0 and message in out and "Nothing was changed" in out
    assert standin.exchanges == [], "a request was sent before the inventory was checked"


def test_tenants_role_litemaas_delivers_keys_to_kubernetes_secret_kube_standin(standin, standin_play, tmp_path, kube_local):
    """Key delivery to a Secret in a real kube-apiserver (kube-local); LiteMaaS itself is the stand-in."""
    import base64
    standin.login("alice")
    ns = "canopy-litemaas-%s" % tmp_path.name[-6:].lower().replace("_", "-")
    kube_local.resource("v1", "Namespace").create(body={"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": ns}})
    inv = inventory(standin, tmp_path, maas_users=[dict(name="alice")],
                    maas_api_keys=[dict(name="canopy", owner=dict(user="alice"), models=["granite-standin"],
                                        deliver_to=dict(secret=dict(namespace=ns, name="maas-credentials")))])
    env = {"K8S_AUTH_KUBECONFIG": kube_local.kubeconfig}
    rc, res, out = standin_play(roles=["redwood.maas.tenants"], extra_vars=inv, connection=False, env=env, check=True)
    assert rc == 0, out
    assert kube_local.get("v1", "Secret", "maas-credentials", ns) is None, "check mode wrote a Secret"
    rc, res, out = standin_play(roles=["redwood.maas.tenants"], extra_vars=inv, connection=False, env=env)
    assert rc == 0, out
    (key,) = standin.keys.values()
    secret = kube_local.get("v1", "Secret", "maas-credentials", ns)
    data = dict((k, base64.b64decode(v).decode()) for k, v in secret["data"].items())
    assert data == {"OPENAI_API_KEY": key["key"], "OPENAI_BASE_URL": "http://litellm.example:4000/v1"}
    assert key["key"] not in out
    rc, res, out = standin_play(roles=["redwood.maas.tenants"], extra_vars=inv, connection=False, env=env)
    assert rc == 0 and stats(out)["changed"] == 0, out
    assert kube_local.get("v1", "Secret", "maas-credentials", ns)["metadata"]["resourceVersion"] == \
        secret["metadata"]["resourceVersion"]
