"""Helpers the LiteLLM integration tests import (a module of its own: another test directory's
conftest would shadow ``from conftest import ...`` when both run in one session)."""
import json
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VOLATILE = ("spend", "last_active", "updated_at", "budget_reset_at", "key_count", "members_count", "keys_count")


def _stable(value):
    """Drop what LiteLLM itself rewrites in the background (spend batches of earlier chats)."""
    if isinstance(value, dict):
        return dict((k, _stable(v)) for k, v in value.items() if not any(w in k for w in VOLATILE))
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def snapshot(api):
    """Everything the gateway holds (raw listings minus spend bookkeeping), to prove that nothing was
    written: any create, delete or change of a managed field shows up."""
    out = {}
    for path, key, size in (("/user/list", "users", "page_size"), ("/v2/team/list", "teams", "page_size"),
                            ("/key/list", "keys", "size")):
        rows, page = [], 1
        while True:
            params = {"page": page, size: 100}
            if key == "keys":
                params["return_full_object"] = "true"
            body = api.get(path, params=params).raise_for_status().json()
            rows += body[key]
            if page >= (body.get("total_pages") or 1):
                break
            page += 1
        out[key] = sorted((_stable(r) for r in rows), key=lambda r: json.dumps(r, sort_keys=True))
    out["models"] = _stable(api.get("/model/info").raise_for_status().json()["data"])
    return out


def tenants(gateway, uid, tmp_path, **over):
    """A small inventory whose names all start with ``uid``."""
    m = uid + "-model"
    data = {
        "maas_models": [{"name": m, "endpoint": gateway.upstream_url, "source": "demo",
                         "cost": {"input_per_1k": 0.5, "output_per_1k": 1.5}}],
        "maas_budget_defaults": {"max_budget": 50, "budget_duration": "30d", "tpm_limit": 100000,
                                 "rpm_limit": 300},
        "maas_users": [{"name": uid + "-alice", "email": uid + "-alice@example.edu", "role": "admin", "max_budget": 100},
                       {"name": uid + "-bob", "email": uid + "-bob@example.edu"}],
        "maas_teams": [{"name": uid + "-cs", "max_budget": 2000, "budget_duration": "30d", "models": [m],
                        "members": [uid + "-alice", uid + "-bob"]}],
        "maas_api_keys": [
            {"name": uid + "-team-key", "owner": {"team": uid + "-cs"}, "models": [m], "max_budget": 200,
             "budget_duration": "30d", "rpm_limit": 60, "deliver_to": {"file": str(tmp_path / "team.env")}},
            {"name": uid + "-bob-key", "owner": {"user": uid + "-bob"}, "models": [m], "max_budget": 5,
             "duration": "30d", "deliver_to": {"file": str(tmp_path / "bob.env")}},
        ],
    }
    data.update(over)
    return data
