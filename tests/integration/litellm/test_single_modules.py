"""The single-object modules (litellm_model/user/team/key/info) in a playbook against the real proxy."""
import os
import stat

from litellm_api import snapshot


def test_single_object_modules_create_then_change_nothing(gateway, api, play, uid, tmp_path):
    key_file = str(tmp_path / "dora.env")
    variables = {"uid": uid, "upstream": gateway.upstream_url, "key_file": key_file, "dora_budget": 20}
    pb = "tests/integration/litellm/playbooks/single_modules.yml"

    before = snapshot(api)
    dry = play(variables, "--check", playbook=pb)
    assert dry.rc == 0, dry.out[-3000:]
    assert [dry.task(n)["operation"] for n in ("Model", "User", "Team", "Key")] == ["create"] * 4, dry.out[-3000:]
    assert snapshot(api) == before and not os.path.exists(key_file)

    first = play(variables, playbook=pb)
    assert first.rc == 0, first.out[-3000:]
    assert [first.task(n)["changed"] for n in ("Model", "User", "Team", "Key")] == [True] * 4, first.out[-3000:]
    assert first.task("Key")["delivered"] is True
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    info = first.task("Info")
    assert [u["name"] for u in info["users"]] == [uid + "-dora"] and info["users"][0]["max_budget"] == 20
    assert info["api_keys"][0]["user"] == uid + "-dora" and info["api_keys"][0]["managed"] is True
    assert "token" not in info["api_keys"][0] and "spend" in info["api_keys"][0]
    secret = open(key_file).read().split("OPENAI_API_KEY=")[1].split()[0]
    assert secret not in first.out

    second = play(variables, playbook=pb)
    assert second.rc == 0 and second.stats["changed"] == 0, second.out[-6000:]
    assert all(second.task(n)["requests"]["writes"] == 0 for n in ("Model", "User", "Team", "Key"))

    third = play(dict(variables, dora_budget=25), "--diff", playbook=pb)
    assert third.stats["changed"] == 1 and third.task("User")["operation"] == "update", third.out[-6000:]
    assert third.task("User")["diff"]["after"]["user/%s-dora" % uid]["max_budget"] == 25
    assert api.get("/user/info", params={"user_id": uid + "-dora"}).json()["user_info"]["max_budget"] == 25
