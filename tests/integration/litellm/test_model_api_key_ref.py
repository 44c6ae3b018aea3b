"""A model's api_key_ref (litellm_tenants' model_api_key_refs, the tenants role's maas_model_api_key_refs)
against the real proxy: LiteLLM resolves ``os.environ/NAME`` from its own environment and sends that key to
the model server; the reference is compared (diff, check mode, no-op re-run); a value that is not such a
reference fails naming the model before any write and is never shown.

The model server is the session's fake upstream at its ``/secured/v1`` path, which (like ``vllm serve
--api-key``) answers 401 unless the bearer is its key; the proxy has that key in its environment as
MAAS_VLLM_API_KEY, the variable the host roles give it vLLM's key in (tests/e2e covers that with vLLM)."""
import openai
import pytest

from litellm_api import snapshot
from litellm_stack import UPSTREAM_KEY_VAR

REF = "os.environ/" + UPSTREAM_KEY_VAR
REPLY = "Hello from the fake upstream"


def chat(tmp_path, model):
    env = dict(line.split("=", 1) for line in open(tmp_path / "k.env").read().splitlines())
    client = openai.OpenAI(api_key=env["OPENAI_API_KEY"], base_url=env["OPENAI_BASE_URL"], max_retries=0)
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=5)


def test_api_key_ref_reaches_the_model_server_is_compared_and_never_a_secret(api, play, uid, tmp_path, gateway):
    url = gateway.secured_upstream_url
    m = uid + "-keyed"
    inv = {"maas_models": [{"name": m, "endpoint": url}],
           "maas_users": [{"name": uid + "-u"}],
           "maas_api_keys": [{"name": uid + "-k", "owner": {"user": uid + "-u"}, "models": [m],
                              "deliver_to": {"file": str(tmp_path / "k.env")}}]}

    # without a reference LiteLLM sends the placeholder: the keyed server refuses (its own message comes back)
    first = play(inv)
    assert first.rc == 0, first.out[-3000:]
    assert first.summary["model"]["created"] == [m]
    with pytest.raises(openai.APIStatusError) as refused:
        chat(tmp_path, m)
    assert "invalid api key" in str(refused.value), refused.value

    # the reference is a compared field: check mode and diff show it, nothing is written
    keyed = dict(inv, maas_model_api_key_refs={m: REF})
    before = snapshot(api)
    dry = play(keyed, "--check", "--diff")
    assert dry.rc == 0, dry.out[-3000:]
    assert dry.summary["model"]["updated"] == [m] and dry.result["requests"]["writes"] == 0
    label = "model/" + m
    assert dry.result["diff"]["before"][label]["api_key_ref"] is None
    assert dry.result["diff"]["after"][label]["api_key_ref"] == REF
    assert snapshot(api) == before

    run = play(keyed, "--diff")
    assert run.rc == 0, run.out[-3000:]
    assert run.summary["model"]["updated"] == [m] and run.result["requests"]["writes"] == 1
    reply = chat(tmp_path, m)
    assert reply.choices[0].message.content == REPLY
    again = play(keyed)
    assert again.rc == 0 and again.stats["changed"] == 0, again.out[-3000:]
    assert again.result["requests"]["writes"] == 0

    # an inventory that does not name the model's reference leaves it in place, even when the model changes
    other = dict(inv, maas_models=[{"name": m, "endpoint": url, "tpm_limit": 5000}])
    changed = play(other)
    assert changed.rc == 0 and changed.summary["model"]["updated"] == [m], changed.out[-3000:]
    assert chat(tmp_path, m).choices[0].message.content == REPLY
    assert play(other).stats["changed"] == 0

    # a key instead of a reference: fails naming the model before any request; the message never shows the value
    before = snapshot(api)
    literal = "sk-literal-upstream-key-" + uid
    bad = play(dict(inv, maas_model_api_key_refs={m: literal}))
    assert bad.rc != 0
    msg = bad.result["msg"]
    assert msg.startswith("model '%s': model_api_key_refs['%s'] must be a reference os.environ/NAME" % (m, m)), msg
    assert msg.endswith("Nothing was changed.") and literal not in msg
    assert bad.result["requests"] == {"total": 0, "writes": 0}
    assert snapshot(api) == before
