"""Rotation without downtime: ``rotate: true`` with ``rotation: {overlap: ...}`` (real LiteLLM, real
kube-apiserver). Two consumers call the model in a loop, each re-reading its key before every call
(one from the delivered env file, one from the delivered Kubernetes Secret, as a mounted Secret is
refreshed): while the keys rotate no call fails; the old secrets keep working during the overlap;
the first run after it revokes them, and they get 401. (That a run during the overlap revokes nothing
is unit-tested: tests/unit/rotation.)
"""
import base64
import threading
import time

import httpx

from test_tenants_playbook import env_file, tenants

OVERLAP = 45    # long enough for the status checks after the rotation run on a loaded machine


class Consumer(threading.Thread):
    def __init__(self, read_secret, base_url, model):
        super(Consumer, self).__init__(daemon=True)
        self.read_secret, self.base_url, self.model = read_secret, base_url, model
        self.calls, self.stop = [], threading.Event()

    def run(self):
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                secret = self.read_secret()
                r = client.post(self.base_url + "/chat/completions", headers={"Authorization": "Bearer " + secret},
                                json={"model": self.model, "messages": [{"role": "user", "content": "hi"}]})
                self.calls.append((secret, r.status_code))
                time.sleep(0.2)


def status(gateway, secret, model):
    r = httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": "Bearer " + secret}, timeout=60,
                   json={"model": model, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code in (200, 401), r.text[:400]
    return r.status_code


def test_rotation_with_overlap_no_failed_call_then_the_old_secret_gets_401(gateway, play, uid, tmp_path, kube_local):
    ns = uid + "-ns"
    kube_local.resource("v1", "Namespace").create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    inv = tenants(gateway, uid, tmp_path)
    model = uid + "-model"
    inv["maas_api_keys"][1]["deliver_to"] = {"secret": {"namespace": ns, "name": "bob-credentials"}}
    for key in inv["maas_api_keys"]:      # the consumers' calls must not run into a budget or a rate limit
        key.update(max_budget=1000, rpm_limit=100000)
    inv["maas_budget_defaults"].update(max_budget=1000, rpm_limit=100000, tpm_limit=10 ** 8)
    first = play(inv, extra_env=kube_local.env)
    assert first.rc == 0, first.out[-3000:]

    def from_file():
        return env_file(tmp_path / "team.env")["OPENAI_API_KEY"]

    def from_secret():
        data = kube_local.get("v1", "Secret", "bob-credentials", ns)["data"]
        return base64.b64decode(data["OPENAI_API_KEY"]).decode()

    old = {"file": from_file(), "secret": from_secret()}
    consumers = [Consumer(from_file, gateway.url + "/v1", model), Consumer(from_secret, gateway.url + "/v1", model)]
    for c in consumers:
        c.start()
    try:
        time.sleep(2)
        for key in inv["maas_api_keys"]:
            key.update(rotate=True, rotation={"overlap": "%ds" % OVERLAP})
        second = play(inv, extra_env=kube_local.env)
        rotated_by = time.time()            # the old keys were renamed during that run: revoke_after < this + OVERLAP
        assert second.rc == 0, second.out[-3000:]
        assert sorted(second.summary["api_key"]["rotated"]) == sorted(k["name"] for k in inv["maas_api_keys"])
        new = {"file": from_file(), "secret": from_secret()}
        assert new["file"] != old["file"] and new["secret"] != old["secret"]
        # during the overlap both the old and the new secrets work
        for which in ("file", "secret"):
            assert status(gateway, old[which], model) == 200 and status(gateway, new[which], model) == 200
        # the next run, after the overlap: rotate no longer asked; the retired keys are revoked
        for key in inv["maas_api_keys"]:
            key.pop("rotate")
        assert time.time() < rotated_by + OVERLAP - 10, "the machine is too slow for this test's overlap"
        time.sleep(max(0.0, rotated_by + OVERLAP + 2 - time.time()))
        third = play(inv, extra_env=kube_local.env)
        assert third.rc == 0, third.out[-3000:]
        retired = [n for n in third.summary["api_key"]["deleted"] if ".retired-" in n]
        assert sorted(n.split(".retired-")[0] for n in retired) == sorted(k["name"] for k in inv["maas_api_keys"])
        time.sleep(2)
    finally:
        for c in consumers:
            c.stop.set()
        for c in consumers:
            c.join(120)
    for which in ("file", "secret"):
        assert status(gateway, old[which], model) == 401
        assert status(gateway, new[which], model) == 200
    for c, which in zip(consumers, ("file", "secret")):
        assert c.calls and all(code == 200 for _s, code in c.calls), [x for x in c.calls if x[1] != 200][:5]
        used = {s for s, _code in c.calls}
        assert {old[which], new[which]} <= used, "the consumer switched from the old secret to the new one"
