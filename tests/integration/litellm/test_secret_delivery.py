"""Keys delivered to Kubernetes Secrets (deliver_to.secret) through the tenants role: a real
LiteLLM proxy and a real kube-apiserver (../shared/kube-local, nothing runs in it)."""
import base64

import httpx

from test_tenants_playbook import tenants


def test_key_delivered_to_a_kubernetes_secret_once(gateway, api, play, uid, tmp_path, kube_local):
    ns = uid + "-ns"
    kube_local.resource("v1", "Namespace").create(body={"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": ns}})
    inv = tenants(gateway, uid, tmp_path)
    inv["maas_api_keys"][0]["deliver_to"] = {"secret": {"namespace": ns, "name": "maas-credentials"}}
    first = play(inv, "-v", extra_env=kube_local.env)
    assert first.rc == 0, first.out[-3000:]
    assert first.result["delivered"] == [uid + "-bob-key", uid + "-team-key"]   # a file and a Secret
    secret = kube_local.get("v1", "Secret", "maas-credentials", ns)
    data = dict((k, base64.b64decode(v).decode()) for k, v in secret["data"].items())
    assert sorted(data) == ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
    assert data["OPENAI_BASE_URL"] == gateway.url + "/v1"
    assert data["OPENAI_API_KEY"] not in first.out
    chat = httpx.post(data["OPENAI_BASE_URL"] + "/chat/completions",
                      headers={"Authorization": "Bearer " + data["OPENAI_API_KEY"]},
                      json={"model": uid + "-model", "messages": [{"role": "user", "content": "hi"}]}, timeout=60)
    assert chat.status_code == 200, chat.text

    version = secret["metadata"]["resourceVersion"]
    second = play(inv, extra_env=kube_local.env)
    assert second.rc == 0 and second.stats["changed"] == 0
    assert second.result["delivered"] == [] and second.result["undelivered"] == []
    assert kube_local.get("v1", "Secret", "maas-credentials", ns)["metadata"]["resourceVersion"] == version
