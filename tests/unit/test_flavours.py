"""The Flavour interface with both flavours, the engine's guards and the client's retries, against
in-process fakes (httpx.MockTransport): no gateway. The real behaviour is proven by the integration
tests; these pin the contract (order of writes, what is refused before any write)."""
import hashlib
import json
import os

import httpx
import pytest

from ansible_collections.redwood.maas.plugins.module_utils import litemaas, reconcile
from ansible_collections.redwood.maas.plugins.module_utils.client import GatewayClient, MaasError
from ansible_collections.redwood.maas.plugins.module_utils.litellm import LiteLLM
from ansible_collections.redwood.maas.plugins.module_utils.tenants import validate_inventory

USER = dict(id="3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", username="maas-automation", email="a@localhost")
MARK = {"managed_by": "redwood.maas"}


class FakeLiteLLM(object):
    """Just enough of LiteLLM 1.106.2's management API; ``fail`` maps a path to statuses to answer first
    (after applying the request, as a proxy that loses the answer would)."""

    def __init__(self, dests=None):
        self.models, self.users, self.teams, self.keys = {}, {}, {}, {}
        self.log = []
        self.fail = {}
        self.dests = dests or {}
        self.seen_at_create = {}

    def __call__(self, request):
        path, body = request.url.path, json.loads(request.content or b"{}")
        self.log.append((request.method, path))
        status = 200
        if path == "/model/info":
            return httpx.Response(200, json={"data": list(self.models.values())})
        if path == "/user/list":
            return httpx.Response(200, json={"users": list(self.users.values()), "total_pages": 1})
        if path == "/v2/team/list":
            return httpx.Response(200, json={"teams": list(self.teams.values()), "total_pages": 1})
        if path == "/key/list":
            alias = request.url.params.get("key_alias")
            rows = [k for k in self.keys.values() if alias in (None, k["key_alias"])]
            return httpx.Response(200, json={"keys": rows, "total_pages": 1})
        if path == "/model/new":
            self.models[body["model_name"]] = dict(model_name=body["model_name"], litellm_params=body["litellm_params"],
                                                   model_info=body["model_info"])
        elif request.method == "PATCH" and path.startswith("/model/") and path.endswith("/update"):
            row = self.models[path.split("/")[2]]         # PATCH merges (POST /model/update keeps model_info)
            row["litellm_params"].update(body["litellm_params"])
            row["model_info"].update(body["model_info"])
        elif path == "/user/new":
            self.users[body["user_id"]] = dict(body)
        elif path == "/key/generate":
            dest = self.dests.get(body["key_alias"])
            self.seen_at_create[body["key_alias"]] = open(dest).read() if dest and os.path.exists(dest) else None
            if any(k["key_alias"] == body["key_alias"] for k in self.keys.values()):
                return httpx.Response(400, json={"error": {"message": "Unique key aliases across all keys are required"}})
            token = hashlib.sha256(body["key"].encode()).hexdigest()
            self.keys[token] = dict(body, token=token, user_id=body.get("user_id"), team_id=body.get("team_id"))
            self.keys[token].pop("key")
        elif path == "/key/delete":
            for token in body["keys"]:
                self.keys.pop(token, None)
        if self.fail.get(path):
            status = self.fail[path].pop(0)
        return httpx.Response(status, json={})


def client_for(handler, **kw):
    return GatewayClient("http://gw", token="sk-master", transport=httpx.MockTransport(handler), sleep=lambda s: None,
                         **kw)


def inventory(tmp_path, keys=2):
    return dict(models=[dict(name="m", endpoint="http://up/v1")], users=[dict(name="u1", email="u1@x")],
                api_keys=[dict(name="k%d" % i, owner=dict(user="u1"), models=["m"],
                               deliver_to=dict(file=str(tmp_path / ("k%d.env" % i)))) for i in range(keys)])


def env(path):
    return dict(line.split("=", 1) for line in open(path).read().splitlines())


def test_both_flavours_describe_themselves_as_data():
    for flavour in (LiteLLM(client_for(FakeLiteLLM())),
                    litemaas.LiteMaaS(client_for(FakeLiteLLM()), "s" * 32, USER)):
        assert issubclass(type(flavour), reconcile.Flavour)
        assert set(flavour.order) == set(flavour.kinds) and flavour.order[-1] == "api_key"
        assert set(flavour.capabilities["roles"]) == {"admin", "admin-readonly", "user"}
        for key in ("teams", "prune", "delete_users", "duration_words", "gateway"):
            assert key in flavour.capabilities
        assert flavour.kinds["api_key"].secret in ("controller", "gateway")
    inv = dict(teams=[dict(name="t")], users=[dict(name="u", budget_duration="monthly")])
    with pytest.raises(MaasError, match="malformed"):
        validate_inventory(**inv, capabilities=LiteLLM.capabilities)
    with pytest.raises(MaasError, match="no teams API"):
        validate_inventory(**inv, capabilities=litemaas.LiteMaaS.capabilities)


def test_litellm_secret_is_delivered_before_the_key_is_created(tmp_path):
    inv = inventory(tmp_path)
    fake = FakeLiteLLM(dict((k["name"], k["deliver_to"]["file"]) for k in inv["api_keys"]))
    out = reconcile.run(LiteLLM(client_for(fake)), inv, public_url="http://gw")
    assert out["summary"]["api_key"]["created"] == ["k0", "k1"] and out["delivered"] == ["k0", "k1"]
    for k in ("k0", "k1"):
        secret = env(tmp_path / ("%s.env" % k))["OPENAI_API_KEY"]
        assert fake.seen_at_create[k] == "OPENAI_API_KEY=%s\nOPENAI_BASE_URL=http://gw/v1\n" % secret
        assert hashlib.sha256(secret.encode()).hexdigest() in fake.keys
        assert os.stat(tmp_path / ("%s.env" % k)).st_mode & 0o777 == 0o600
    assert "sk-" not in json.dumps(out)


def test_litellm_create_applied_then_503_is_retried_and_proven_by_reading_back(tmp_path):
    inv = inventory(tmp_path, keys=1)
    fake = FakeLiteLLM()
    fake.fail["/key/generate"] = [503]          # applied, then the answer is lost: the retry meets alias-exists
    fake.fail["/user/new"] = [502]
    out = reconcile.run(LiteLLM(client_for(fake)), inv, public_url="http://gw")
    assert out["summary"]["api_key"]["created"] == ["k0"] and len(fake.keys) == 1
    secret = env(tmp_path / "k0.env")["OPENAI_API_KEY"]
    assert list(fake.keys) == [hashlib.sha256(secret.encode()).hexdigest()]
    assert fake.log.count(("POST", "/key/generate")) == 2


def test_litellm_refuses_a_hand_made_object_then_adopts_it_and_never_reowns_a_key(tmp_path):
    inv = inventory(tmp_path, keys=1)
    fake = FakeLiteLLM()
    fake.users["u1"] = dict(user_id="u1", user_email="u1@x", metadata={})
    with pytest.raises(MaasError, match="user 'u1' exists in the gateway but was not made by redwood.maas"):
        reconcile.run(LiteLLM(client_for(fake)), inv)
    assert [m for m, p in fake.log if m == "POST"] == []
    fake.keys["h"] = dict(token="h", key_alias="k0", user_id="someone-else", metadata={})
    with pytest.raises(MaasError, match="api key 'k0' belongs to user 'someone-else'.*never changes owner"):
        reconcile.run(LiteLLM(client_for(fake)), inv, adopt=True)
    assert [m for m, p in fake.log if m == "POST"] == []


def test_prune_guard_stops_a_prune_of_more_than_half(tmp_path):
    fake = FakeLiteLLM()
    for n in range(3):
        fake.users["u%d" % n] = dict(user_id="u%d" % n, metadata=dict(MARK))
    with pytest.raises(MaasError, match="prune would delete 3 of the 3 managed user objects"):
        reconcile.run(LiteLLM(client_for(fake)), dict(users=[]), prune=True)
    out = reconcile.run(LiteLLM(client_for(fake)), dict(users=[dict(name="u0")]), prune=True, check_mode=True,
                        prune_force=True)
    assert out["summary"]["user"]["deleted"] == ["u1", "u2"]
    assert not [m for m, p in fake.log if m == "POST"]


def test_rotation_is_planned_predicted_and_shown_and_diff_shows_real_changes_only(tmp_path):
    inv = inventory(tmp_path, keys=1)
    fake = FakeLiteLLM()
    reconcile.run(LiteLLM(client_for(fake)), inv, public_url="http://gw")
    fake.users["u1"]["max_budget"] = 100.0
    inv["users"][0]["max_budget"] = 100
    inv["api_keys"][0]["rotate"] = True
    inv["api_keys"][0]["max_budget"] = 5
    before = env(tmp_path / "k0.env")
    out = reconcile.run(LiteLLM(client_for(fake)), inv, check_mode=True, public_url="http://gw")
    assert out["summary"]["api_key"]["rotated"] == ["k0"] and out["summary"]["user"]["unchanged"] == ["u1"]
    assert out["diff"]["before"] == {"api_key/k0": dict(out["diff"]["before"]["api_key/k0"], secret="(old secret)")}
    assert out["diff"]["after"]["api_key/k0"]["secret"] == "(new secret)"
    assert out["diff"]["after"]["api_key/k0"]["max_budget"] == 5
    assert env(tmp_path / "k0.env") == before
    out = reconcile.run(LiteLLM(client_for(fake)), inv, public_url="http://gw")
    assert out["summary"]["api_key"]["rotated"] == ["k0"] and env(tmp_path / "k0.env") != before


def test_bad_destinations_fail_before_any_request(tmp_path):
    fake = FakeLiteLLM()
    (tmp_path / "dir").mkdir()
    for deliver, words in (({"file": "relative.env"}, "absolute"), ({"file": str(tmp_path / "dir")}, "directory")):
        inv = inventory(tmp_path, keys=1)
        inv["api_keys"][0]["deliver_to"] = deliver
        with pytest.raises(MaasError, match=words):
            reconcile.run(LiteLLM(client_for(fake)), inv)
    inv = inventory(tmp_path)
    inv["api_keys"][1]["deliver_to"] = inv["api_keys"][0]["deliver_to"]
    with pytest.raises(MaasError, match="'k0' and 'k1' are both delivered to"):
        reconcile.run(LiteLLM(client_for(fake)), inv)
    assert fake.log == []


class FakeLiteMaaS(object):
    def __init__(self, dest):
        self.dest = dest
        self.log = []
        self.keys = []

    def __call__(self, request):
        path = request.url.path
        self.log.append((request.method, path, os.path.exists(self.dest) and open(self.dest).read()))
        if path == "/api/v1/models/":
            return httpx.Response(200, json={"data": [{"id": "m", "apiBase": "http://up/v1"}]})
        if path == "/api/v1/users/":
            return httpx.Response(200, json={"data": [{"id": "u1id", "username": "u1"}]})
        if path == "/api/v1/admin/users/u1id":
            return httpx.Response(200, json={"roles": ["user"]})
        if path.endswith("/api-keys") and request.method == "GET":
            return httpx.Response(200, json={"data": self.keys})
        if path.endswith("/api-keys") and request.method == "POST":
            self.keys.append({"id": "key1", "name": "k0", "isActive": True, "models": ["m"]})
            return httpx.Response(201, json={"id": "key1", "name": "k0", "key": "sk-made-by-litemaas"})
        if path.endswith("/subscriptions") and request.method == "POST":
            return httpx.Response(201, json={"created": [], "activated": [], "alreadyActive": []})
        return httpx.Response(200, json={})


def test_litemaas_secret_is_delivered_before_any_other_request(tmp_path):
    dest = str(tmp_path / "k0.env")
    fake = FakeLiteMaaS(dest)
    flavour = litemaas.LiteMaaS(client_for(fake, retries=0), "s" * 32, USER)
    inv = dict(models=[dict(name="m", endpoint="http://up/v1")], users=[dict(name="u1")],
               api_keys=[dict(name="k0", owner=dict(user="u1"), models=["m"], deliver_to=dict(file=dest))])
    out = reconcile.run(flavour, inv, public_url="http://gw", endpoints={})
    assert out["summary"]["api_key"]["created"] == ["k0"] and out["delivered"] == ["k0"]
    create = [i for i, (m, p, d) in enumerate(fake.log) if m == "POST" and p.endswith("/api-keys")][0]
    assert fake.log[create][2] is False and "sk-made-by-litemaas" in fake.log[create + 1][2]
    assert "sk-made-by-litemaas" not in json.dumps(out)


def test_client_timeout_says_timed_out_and_429_honours_retry_after():
    def slow(request):
        raise httpx.ReadTimeout("read timed out", request=request)
    with pytest.raises(MaasError, match="timed out after 2 s"):
        client_for(slow, timeout=2, retries=1).get("/x")
    waits, answers = [], [httpx.Response(429, headers={"retry-after": "3"}), httpx.Response(200, json={"ok": 1})]
    client = GatewayClient("http://gw", transport=httpx.MockTransport(lambda r: answers.pop(0)), sleep=waits.append)
    assert client.post("/create", safe=True) == {"ok": 1} and waits[0] >= 3 and client.writes == 2
    answers = [httpx.Response(503)]
    client = GatewayClient("http://gw", transport=httpx.MockTransport(lambda r: answers.pop(0)), sleep=waits.append)
    with pytest.raises(MaasError, match="HTTP 503"):
        client.post("/not-safe")                 # a write not marked safe is sent once


def test_client_429_repeats_any_method_honours_retry_after_up_to_60_s_and_keeps_the_retries_budget():
    """A 429 is answered before the gateway does anything (LiteMaaS's @fastify/rate-limit runs onRequest): a create
    is repeated too; a LiteMaaS Retry-After is up to 60 s; waiting does not use up ``retries`` (a long run meets
    many 429s); a 429 that never ends still fails, naming the status."""
    waits = []
    answers = [httpx.Response(429, headers={"retry-after": "45"})] * 5 + [httpx.Response(503), httpx.Response(201)]
    client = GatewayClient("http://gw", transport=httpx.MockTransport(lambda r: answers.pop(0)), sleep=waits.append,
                           retries=1)
    assert client.post("/create", safe=True) is None and not answers
    assert [int(w) for w in waits[:5]] == [45] * 5 and client.rate_limited == 5
    answers = [httpx.Response(429, headers={"retry-after": "3600"}), httpx.Response(201, json={"id": 1})]
    waits = []
    client = GatewayClient("http://gw", transport=httpx.MockTransport(lambda r: answers.pop(0)), sleep=waits.append,
                           retries=0)
    assert client.post("/not-marked-safe") == {"id": 1} and 60 <= waits[0] < 61
    client = GatewayClient("http://gw", transport=httpx.MockTransport(lambda r: httpx.Response(429)),
                           sleep=lambda s: None, retries=0)
    with pytest.raises(MaasError, match="HTTP 429"):
        client.get("/x")
    assert client.requests == 11


def test_client_waits_for_a_drained_rate_limit_window_before_the_next_request():
    waits = []
    drained = {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "7"}
    answers = [httpx.Response(200, json={}, headers=drained), httpx.Response(200, json={})]
    client = GatewayClient("http://gw", transport=httpx.MockTransport(lambda r: answers.pop(0)), sleep=waits.append)
    client.get("/a")
    assert waits == []                           # the answer is returned at once ...
    client.get("/b")
    assert len(waits) == 1 and 6 < waits[0] <= 7 and client.rate_limited == 0   # ... the next request waits


def test_litellm_model_api_key_ref_is_compared_kept_and_checked_before_any_request(tmp_path):
    fake = FakeLiteLLM()
    inv = dict(models=[dict(name="m", endpoint="http://up/v1")])
    ref = "os.environ/MAAS_VLLM_API_KEY"
    reconcile.run(LiteLLM(client_for(fake)), inv)
    assert fake.models["m"]["litellm_params"]["api_key"] == "none"
    assert "redwood_api_key_ref" not in fake.models["m"]["model_info"]
    out = reconcile.run(LiteLLM(client_for(fake), api_key_refs={"m": ref}), inv, check_mode=True)
    assert out["summary"]["model"]["updated"] == ["m"]
    assert (out["diff"]["before"]["model/m"]["api_key_ref"], out["diff"]["after"]["model/m"]["api_key_ref"]) == (None, ref)
    reconcile.run(LiteLLM(client_for(fake), api_key_refs={"m": ref}), inv)
    assert fake.models["m"]["litellm_params"]["api_key"] == ref
    assert fake.models["m"]["model_info"]["redwood_api_key_ref"] == ref
    assert not reconcile.run(LiteLLM(client_for(fake), api_key_refs={"m": ref}), inv)["changed"]
    # not named: kept, also when another field of the model changes
    inv["models"][0]["tpm_limit"] = 10
    assert reconcile.run(LiteLLM(client_for(fake)), inv)["summary"]["model"]["updated"] == ["m"]
    assert fake.models["m"]["litellm_params"]["api_key"] == ref
    # a key, not a reference: refused before any request, without showing it; from the module options too
    fake.log = []
    for refs in ({"m": "sk-0123456789"}, {"m": "os.environ/"}, {"m": 12}, {"m": "os.environ/A B"}):
        with pytest.raises(MaasError, match=r"model 'm': model_api_key_refs\['m'\] must be a reference") as err:
            reconcile.run(LiteLLM(client_for(fake), api_key_refs=refs), inv)
        assert "sk-0123456789" not in str(err.value)
    assert fake.log == []
    assert LiteLLM.from_params(None, dict(model_api_key_refs={"m": ref})).api_key_refs == {"m": ref}
    assert LiteLLM.from_params(None, dict(name="m", api_key_ref=ref), single=True).api_key_refs == {"m": ref}
    assert LiteLLM.from_params(None, dict(name="u")).api_key_refs == {}
