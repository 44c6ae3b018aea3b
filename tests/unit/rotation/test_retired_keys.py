"""Rotation with overlap (LiteLLM flavour): which retired keys a run keeps and which it revokes, and the
staged delivery that never shows a consumer a secret the gateway does not hold yet."""
import datetime

from ansible_collections.redwood.maas.plugins.module_utils import litellm
from ansible_collections.redwood.maas.plugins.module_utils.delivery import FileDestination
from ansible_collections.redwood.maas.plugins.module_utils.reconcile import plan_kind
from ansible_collections.redwood.maas.plugins.module_utils.tenants import InputError, validate_inventory

NOW = datetime.datetime(2026, 12, 5, 12, 0, 0, tzinfo=datetime.timezone.utc)


def retired(alias, revoke_after, marker=True):
    meta = {"rotated_from": alias.split(".retired-")[0], "revoke_after": revoke_after}
    if marker:
        meta["managed_by"] = "redwood.maas"
    return alias, dict(name=alias, token="h-" + alias, metadata=meta)


def test_retired_keys_are_kept_during_the_overlap_and_revoked_after_it(monkeypatch):
    monkeypatch.setattr(litellm, "_utcnow", lambda: NOW)
    keys = dict([retired("ci.retired-20261205110000", "2026-12-05T12:00:01Z"),
                 retired("cs.retired-20261204110000", "2026-12-05T12:00:00Z"),
                 retired("hand.retired-20261204110000", "2026-12-01T00:00:00Z", marker=False),
                 ("ci", dict(name="ci", token="h-ci", metadata={"managed_by": "redwood.maas"}))])
    assert litellm.LiteLLM.retired_keys({"api_key": keys}) == [
        {"name": "ci.retired-20261205110000", "state": "present"},
        {"name": "cs.retired-20261204110000", "state": "absent"}]
    # with prune on, a retired key still in its overlap is not pruned; the expired one is deleted
    kind = litellm.KeyKind(client=None)
    plan = plan_kind(kind, [dict(name="ci", state="present")] + litellm.LiteLLM.retired_keys({"api_key": keys}),
                     keys, prune=False)
    assert dict((s["name"], s["action"]) for s in plan) == {
        "ci": "none", "ci.retired-20261205110000": "none", "cs.retired-20261204110000": "delete"}


def test_overlap_durations():
    assert [litellm.duration_seconds(d) for d in ("45s", "30m", "24h", "2d", "1mo")] == [45, 1800, 86400, 172800, 2592000]


def test_staged_file_delivery_swaps_in_one_rename(tmp_path):
    dest = FileDestination("ci", str(tmp_path / "ci.env"))
    dest.write("sk-old", "http://gw")
    dest.stage("sk-new", "http://gw")
    assert dest.secret() == "sk-old" and dest.staged() == "sk-new"
    dest.publish()
    assert dest.secret() == "sk-new" and dest.staged() is None
    assert oct((tmp_path / "ci.env").stat().st_mode & 0o777) == "0o600"


def test_overlap_is_refused_where_the_gateway_cannot_keep_the_old_key():
    key = {"name": "k", "owner": {"user": "u"}, "rotation": {"overlap": "24h"}}
    try:
        validate_inventory(keys=[key], capabilities={"gateway": "LiteMaaS"})
    except InputError as exc:
        assert "api key 'k': rotation.overlap is not possible with LiteMaaS" in str(exc)
    else:
        raise AssertionError("accepted")
    validate_inventory(keys=[key], capabilities=litellm.LiteLLM.capabilities)
    try:
        validate_inventory(keys=[dict(key, rotation={"overlap": "soon"})], capabilities=litellm.LiteLLM.capabilities)
    except InputError as exc:
        assert "rotation.overlap 'soon' is malformed" in str(exc)
