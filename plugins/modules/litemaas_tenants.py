#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litemaas_tenants
short_description: Apply the whole tenant inventory (models, users, subscriptions, API keys) to LiteMaaS in one call
version_added: "0.1.0"
description:
  - The bulk form of M(redwood.maas.litemaas_model), M(redwood.maas.litemaas_user),
    M(redwood.maas.litemaas_subscription) and M(redwood.maas.litemaas_api_key), with the same behaviour, for the
    C(tenants) role with C(maas_gateway=litemaas). It validates the whole inventory first (as
    M(redwood.maas.litemaas_inventory_info)) and sends no request if anything is wrong; it reads every user and
    model once.
  - A user's roles are set only when the inventory gives the user a C(role) (C(admin-readonly) becomes C(adminReadonly);
    C(user) is always kept); otherwise the roles LiteMaaS took from OpenShift groups are left alone.
  - Users who have not logged in yet are reported in RV(pending_users) (with the keys they own) and handled on a
    later run.
  - New secrets of keys delivered to a file are written there (mode 0600); new secrets of keys delivered to a
    Kubernetes Secret are returned in RV(secrets) (register the task with C(no_log)).
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.litemaas
  - redwood.maas.attributes
options:
  models:
    description: As C(maas_models).
    type: list
    elements: dict
    default: []
  model_endpoints:
    description: As C(maas_model_endpoints).
    type: dict
    default: {}
  budget_defaults:
    description: As C(maas_budget_defaults); limits of users that do not set their own.
    type: dict
    default: {}
  teams:
    description: As C(maas_teams); must be empty (LiteMaaS 0.4.0 has no teams API).
    type: list
    elements: dict
    default: []
  users:
    description: As C(maas_users).
    type: list
    elements: dict
    default: []
  api_keys:
    description: As C(maas_api_keys); every key owned by a user.
    type: list
    elements: dict
    default: []
  public_url:
    description: What consumers use as C(OPENAI_BASE_URL) (delivered files and RV(secrets)).
    type: str
author:
  - redwood.maas engineers (@redwood-maas)
"""

EXAMPLES = r"""
- name: Apply the tenants to LiteMaaS
  redwood.maas.litemaas_tenants:
    gateway_url: "{{ maas_litemaas_url }}"
    jwt_secret: "{{ maas_litemaas_jwt_secret }}"
    automation_user: "{{ maas_litemaas_automation_user }}"
    models: "{{ maas_models }}"
    model_endpoints: "{{ maas_model_endpoints }}"
    budget_defaults: "{{ maas_budget_defaults }}"
    users: "{{ maas_users }}"
    api_keys: "{{ maas_api_keys }}"
    public_url: https://litellm.apps.example.com/v1
  register: tenants
  no_log: true
"""

RETURN = r"""
summary:
  description: Per kind (C(model), C(user), C(api_key), C(subscription)), the names created, updated, deleted, unchanged.
  returned: always
  type: dict
pending_users:
  description: Users (and key owners) who have not logged in yet; nothing was applied for them.
  returned: always
  type: list
  elements: str
secrets:
  description: New secrets of keys delivered to a Kubernetes Secret, by key name. Register with no_log.
  returned: always
  type: dict
pending:
  description: True when some users are pending.
  returned: always
  type: bool
requests:
  description: Number of HTTP requests sent.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.redwood.maas.plugins.module_utils import litemaas
from ansible_collections.redwood.maas.plugins.module_utils.litemaas_kinds import (
    ApiKeyKind, ModelKind, UserKind, apply_key, apply_subscriptions, check_inventory, desired_key, desired_model,
    desired_user)
from ansible_collections.redwood.maas.plugins.module_utils.reconcile import execute, plan_kind, summarize
from ansible_collections.redwood.maas.plugins.module_utils.tenants import InputError

ROLES = {"admin": "admin", "admin-readonly": "adminReadonly", "user": "user"}
LIMITS = ("max_budget", "budget_duration", "tpm_limit", "rpm_limit")


def model_params(item, endpoints):
    cost = item.get("cost") or {}
    return dict(name=item["name"], state=item.get("state") or "present",
                endpoint=item.get("endpoint") or endpoints.get(item["name"]), backend_model_name=None, description=None,
                input_cost_per_1k=float(cost.get("input_per_1k") or 0), output_cost_per_1k=float(cost.get("output_per_1k") or 0),
                tpm=item.get("tpm_limit") or 1000000, rpm=item.get("rpm_limit") or 10000,
                max_tokens=item.get("max_model_len") or 4096, supports_vision=False, supports_function_calling=False,
                supports_parallel_function_calling=False, supports_tool_choice=False, restricted_access=False)


def user_params(item, defaults):
    # roles are managed only when the inventory sets one (LiteMaaS merges group roles back at each login)
    p = dict(username=item["name"], roles=[ROLES[item["role"]]] if item.get("role") else None)
    for field in LIMITS:
        p[field] = item.get(field) if item.get(field) is not None else defaults.get(field)
    return p


def key_params(item):
    if not (item.get("owner") or {}).get("user"):
        raise InputError("api key '%s': owner.user is needed (LiteMaaS keys belong to a user)" % item["name"])
    p = dict(name=item["name"], owner=item["owner"]["user"], state=item.get("state") or "present",
             models=item.get("models"), duration=item.get("duration"), soft_budget=None, max_parallel_requests=None,
             expires_at=None)
    for field in LIMITS:
        p[field] = item.get(field)
    return p


def main():
    spec = dict(litemaas.LITEMAAS_ARGUMENT_SPEC)
    spec.update(models=dict(type="list", elements="dict", default=[]),
                model_endpoints=dict(type="dict", default={}),
                budget_defaults=dict(type="dict", default={}),
                teams=dict(type="list", elements="dict", default=[]),
                users=dict(type="list", elements="dict", default=[]),
                api_keys=dict(type="list", elements="dict", default=[], no_log=False),
                public_url=dict(type="str"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    check = module.check_mode
    try:
        check_inventory(dict(p, prune=False))
        models = [desired_model(model_params(m, p["model_endpoints"])) for m in p["models"]]
        users = [desired_user(user_params(u, p["budget_defaults"])) for u in p["users"]]
        keys = [(k, desired_key(key_params(k))) for k in p["api_keys"]]
    except (InputError, ValueError) as exc:
        module.fail_json(msg="maas_gateway=litemaas: %s. Nothing was changed." % exc)

    def body(api):
        # models: one read, create once, update in place; deletions last
        mkind = ModelKind(api)
        current_models = mkind.list()
        mplan = plan_kind(mkind, models, current_models)
        execute(mkind, mplan, check, actions=("create", "update"))
        known = dict((m, {"restrictedAccess": current_models.get(m, {}).get("restricted_access")})
                     for m in set(current_models) | set(m["name"] for m in models))
        # users: one paged read of all users, then one detail read each
        rows = dict((row["username"], row) for row in api.paged("/api/v1/users/", "users"))
        ukind = UserKind(api)
        pending = sorted(u["name"] for u in users if u["name"] not in rows)
        present = [u for u in users if u["name"] in rows]
        uplan = plan_kind(ukind, present, dict((u["name"], ukind.current(u["name"], rows[u["name"]])) for u in present))
        execute(ukind, uplan, check)
        # subscriptions of the users that list models (pending ones approved)
        subs = {"created": [], "updated": [], "deleted": [], "unchanged": []}
        for item in p["users"]:
            if item.get("models") and item["name"] in rows:
                out, dummy, dummy2 = apply_subscriptions(api, rows[item["name"]], sorted(set(item["models"])), known,
                                                         pending="approve", check=check)
                subs["updated" if any(out.values()) else "unchanged"].append(item["name"])
        # API keys, per owner: one list read each
        kinds, current_keys, secrets, key_results = {}, {}, {}, []
        for item, want in keys:
            owner = item["owner"]["user"]
            if owner not in rows:
                pending.append(owner)
                continue
            if owner not in kinds:
                kinds[owner] = ApiKeyKind(api, rows[owner])
                current_keys[owner] = kinds[owner].list()
            res = apply_key(kinds[owner], current_keys[owner], want, rotate=bool(item.get("rotate")),
                            path=(item.get("deliver_to") or {}).get("file"), base_url=p["public_url"], check=check,
                            warn=module.warn, diff=module._diff)
            if "key" in res and (item.get("deliver_to") or {}).get("secret"):
                secrets[item["name"]] = res["key"]
            key_results.append((item["name"], res))
        execute(mkind, mplan, check, actions=("delete",))
        changed, summary, diff = summarize([(mkind, mplan), (ukind, uplan)])
        summary["subscription"] = subs
        summary["api_key"] = {"created": [], "updated": [], "deleted": [], "unchanged": [], "rotated": []}
        bucket = dict(create="created", update="updated", delete="deleted", none="unchanged", rotate="rotated")
        for name, res in key_results:
            summary["api_key"][bucket[res["operation"]]].append(name)
            if res.get("diff"):
                diff["before"].update(res["diff"]["before"])
                diff["after"].update(res["diff"]["after"])
        changed = changed or bool(subs["updated"]) or any(res["changed"] for dummy, res in key_results)
        result = dict(changed=changed, summary=summary, pending_users=sorted(set(pending)), pending=bool(pending),
                      secrets=secrets)
        if module._diff:
            result["diff"] = diff
        return result

    litemaas.run(module, body)


if __name__ == "__main__":
    main()
