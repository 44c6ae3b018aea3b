#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litemaas_api_key
short_description: API keys of LiteMaaS users (create, update, rotate, revoke, deliver)
version_added: "0.1.0"
description:
  - Ensures an API key named O(name) of the LiteMaaS 0.4.0 user O(owner), with its models, budget and
    limits, through the admin API.
  - LiteMaaS does not make key names unique per user; this module does. It refuses to act when the
    owner already has several active keys with this name (made by hand).
  - The secret is known only when a key is created (or rotated). It is returned once in RV(key) (register the
    task with C(no_log)) and written to O(deliver_to_file) if set. Re-runs never regenerate it.
  - A managed key never keeps an empty model list (in LiteLLM an empty list means all models); a key
    whose models were stripped (for example by making a model restricted) is given its models back.
  - An owner who has not logged in yet is reported as pending (C(changed=false)).
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.litemaas
options:
  name:
    description: The key's name, unique per owner.
    type: str
    required: true
  owner:
    description: Username of the key's owner.
    type: str
    required: true
  models:
    description: Model names the key may use (at least one). Required when O(state=present).
    type: list
    elements: str
  max_budget:
    description: Maximum spend per budget period.
    type: float
  soft_budget:
    description: Spend at which LiteLLM warns.
    type: float
  budget_duration:
    description: Budget period, C(daily), C(weekly), C(monthly), C(yearly) or C(<n>s|m|h|d|mo).
    type: str
  tpm_limit:
    description: Tokens per minute.
    type: int
  rpm_limit:
    description: Requests per minute.
    type: int
  max_parallel_requests:
    description: Maximum number of parallel requests.
    type: int
  expires_at:
    description: Expiry, an ISO 8601 date or date-time (UTC if no zone is given).
    type: str
  duration:
    description:
      - Lifetime of the key from its creation or rotation, C(<n>s|m|h|d|mo) (for example C(90d); C(mo) is 30 days). Sets the expiry of a new
        key only; it is not compared on later runs (use O(expires_at) for a fixed date). Ignored when O(expires_at) is set.
    type: str
  rotate:
    description:
      - Issue a new secret for an existing key (a new key with the same name and settings is created, then the old
        one is revoked). Always reports a change.
    type: bool
    default: false
  deliver_to_file:
    description:
      - Write the new secret to this file (mode 0600) as C(OPENAI_API_KEY=...) and C(OPENAI_BASE_URL=...) lines.
      - On later runs the file keeps its key; only the base URL line is corrected.
    type: path
  base_url:
    description: The OpenAI-compatible base URL consumers use (C(OPENAI_BASE_URL) in the delivered file).
    type: str
  state:
    description: V(present) ensures the key, V(absent) revokes every active key of the owner with this name.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
author:
  - redwood.maas engineers (@redwood-maas)
"""

EXAMPLES = r"""
- name: A key for alice's notebook, delivered to a file
  redwood.maas.litemaas_api_key:
    gateway_url: https://litemaas.apps.example.com
    jwt_secret: "{{ maas_litemaas_jwt_secret }}"
    automation_user: "{{ maas_litemaas_automation_user }}"
    name: alice-notebook
    owner: alice
    models: [granite-3-1-8b-instruct]
    max_budget: 20
    budget_duration: monthly
    deliver_to_file: /home/alice/.config/maas.env
    base_url: https://litellm.apps.example.com/v1
  no_log: true

- name: Revoke it
  redwood.maas.litemaas_api_key:
    name: alice-notebook
    owner: alice
    state: absent
"""

RETURN = r"""
pending:
  description: True when the owner has not logged in yet (nothing was changed).
  returned: always
  type: bool
key:
  description: The new secret. Only when a key was created or rotated (not in check mode). Register with no_log.
  returned: when created or rotated
  type: str
api_key:
  description: The key's managed fields after the run (never the secret).
  returned: when present
  type: dict
  sample: {name: alice-notebook, id: 7d0c..., models: [granite-3-1-8b-instruct], max_budget: 20.0}
operation:
  description: What was done, one of V(create), V(update), V(rotate), V(delete), V(none).
  returned: always
  type: str
delivered:
  description: Whether the delivery file was written (or would be, in check mode).
  returned: always
  type: bool
requests:
  description: Number of HTTP requests sent.
  returned: always
  type: int
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.redwood.maas.plugins.module_utils import litemaas
from ansible_collections.redwood.maas.plugins.module_utils.reconcile import Kind, execute, plan_kind, summarize

# inventory field -> LiteMaaS API field
FIELDS = (("models", "models"), ("max_budget", "maxBudget"), ("soft_budget", "softBudget"),
          ("budget_duration", "budgetDuration"), ("tpm_limit", "tpmLimit"), ("rpm_limit", "rpmLimit"),
          ("max_parallel_requests", "maxParallelRequests"), ("expires_at", "expiresAt"))


def _body(desired, fields):
    body = {}
    for field, api_field in FIELDS:
        if field in fields and desired.get(field) is not None:
            body["modelIds" if field == "models" else api_field] = desired[field]
    return body


class ApiKeyKind(Kind):
    kind = "api_key"
    fields = tuple(f for f, dummy in FIELDS)
    set_fields = ("models",)

    def __init__(self, api, user):
        self.api = api
        self.user = user
        self.base = "/api/v1/admin/users/%s/api-keys" % user["id"]

    def list(self):
        out = {}
        for row in self.api.keys(self.user["id"], self.user["username"]):
            if not row.get("isActive"):
                continue
            cur = dict(name=row["name"], id=row["id"])
            for field, api_field in FIELDS:
                cur[field] = row.get(api_field)
            cur["expires_at"] = litemaas.to_datetime_str(cur["expires_at"], "key %r" % row["name"])
            if cur["name"] in out:
                raise ValueError("user %r has several active API keys named %r (ids %s, %s); LiteMaaS allows "
                                 "that, this module does not: revoke the extra ones first"
                                 % (self.user["username"], row["name"], out[cur["name"]]["id"], row["id"]))
            out[cur["name"]] = cur
        return out

    def what(self, name):
        return "API key %r of user %r" % (name, self.user["username"])

    def create(self, name, desired):
        body = dict(_body(desired, self.fields), name=name)
        if desired.get("lifetime") and not desired.get("expires_at"):
            body["expiresAt"] = expiry_from(desired["lifetime"])
        return self.api.write("POST", self.base, what=self.what(name), json=body, ok=(201,))

    def update(self, name, desired, current, changes):
        # PATCH always answers 200 and its models are [] whenever a quota field is sent: the caller
        # re-reads the key instead of trusting the response.
        self.api.write("PATCH", "%s/%s" % (self.base, current["id"]), what=self.what(name),
                       json=_body(desired, changes), ok=(200,))

    def delete(self, name, current):
        self.api.write("DELETE", "%s/%s" % (self.base, current["id"]), what=self.what(name), ok=(200,))


def desired_key(params):
    what = "API key %r of user %r" % (params["name"], params["owner"])
    want = dict(name=params["name"], state=params["state"])
    for field, dummy in FIELDS:
        want[field] = params.get(field)
    if params["state"] == "present":
        if not want["models"]:
            raise ValueError("%s: models must list at least one model (an empty list means ALL models "
                             "in LiteLLM)" % what)
        want["models"] = sorted(set(want["models"]))
    litemaas.check_duration(want["budget_duration"], what)
    litemaas.check_non_negative(dict((f, want[f]) for f in ("max_budget", "soft_budget", "tpm_limit", "rpm_limit")),
                                what)
    want["expires_at"] = litemaas.to_datetime_str(want["expires_at"], what)
    duration = params.get("duration")
    if duration is not None and not re.match(r"^\d+(s|m|h|d|mo)$", duration):
        raise ValueError("%s: duration %r must be <n>s|m|h|d|mo, for example 90d" % (what, duration))
    want["lifetime"] = duration
    return want


def expiry_from(duration, now=None):
    """``now + duration`` (``90d``, ``12h``, ...) as an ISO 8601 UTC date-time."""
    import datetime
    if duration.endswith("mo"):     # a month is 30 days here
        delta = datetime.timedelta(days=30 * int(duration[:-2]))
    else:
        unit = dict(s="seconds", m="minutes", h="hours", d="days")[duration[-1]]
        delta = datetime.timedelta(**{unit: int(duration[:-1])})
    start = now or datetime.datetime.now(datetime.timezone.utc)
    return (start + delta).replace(microsecond=0).isoformat()


def main():
    spec = dict(litemaas.LITEMAAS_ARGUMENT_SPEC)
    spec.update(
        name=dict(type="str", required=True),
        owner=dict(type="str", required=True),
        models=dict(type="list", elements="str"),
        max_budget=dict(type="float"),
        soft_budget=dict(type="float"),
        budget_duration=dict(type="str"),
        tpm_limit=dict(type="int"),
        rpm_limit=dict(type="int"),
        max_parallel_requests=dict(type="int"),
        expires_at=dict(type="str"),
        duration=dict(type="str"),
        rotate=dict(type="bool", default=False),
        deliver_to_file=dict(type="path"),
        base_url=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        want = desired_key(module.params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    check = module.check_mode

    def body(api):
        user = api.require_user(module.params["owner"])
        kind = ApiKeyKind(api, user)
        current = kind.list()
        if want["state"] == "present":
            known = api.models()
            unknown = [m for m in want["models"] if m not in known]
            if unknown and check:
                module.warn("%s: model(s) %s do not exist yet (check mode: an earlier task may create them)"
                            % (kind.what(want["name"]), ", ".join(unknown)))
            elif unknown:
                raise ValueError("%s: unknown model(s) %s (known: %s)"
                                 % (kind.what(want["name"]), ", ".join(unknown), ", ".join(sorted(known))))
        plan = plan_kind(kind, [want], current)
        step = plan[0]
        action = step["action"]
        result = dict(delivered=False)
        secret = None
        if action != "delete" and module.params["rotate"] and step["before"] is not None:
            action = "rotate"
            step["after"] = dict(step["before"], **dict((k, v) for k, v in want.items()
                                                        if k in kind.fields and v is not None))
            if not check:
                created = kind.create(want["name"], want)
                secret = created["key"]
                kind.delete(want["name"], step["before"])
        else:
            outcome = execute(kind, plan, check)
            if action == "create" and not check:
                secret = outcome[want["name"]]["key"]
        if secret is not None:
            result["key"] = secret
        if action in ("update", "create", "rotate") and not check:
            after = kind.list().get(want["name"])
            if not after or not after.get("models"):
                raise ValueError("%s: LiteMaaS reports an empty model list after the %s; refusing to leave it "
                                 "(that would allow ALL models)" % (kind.what(want["name"]), action))
            step["after"] = after
        path = module.params["deliver_to_file"]
        if path and want["state"] == "present":
            if secret is not None or (check and action in ("create", "rotate")):
                result["delivered"] = litemaas.write_env_file(path, secret or "(new key)", module.params["base_url"],
                                                              check_mode=check)
            else:
                result["delivered"] = litemaas.write_env_file(path, None, module.params["base_url"], check_mode=check)
                if not result["delivered"] and not _has_key(path):
                    module.warn("%s exists but %s holds no key: the secret is only known when a key is created; "
                                "set rotate: true to issue and deliver a new one" % (kind.what(want["name"]), path))
        changed = action != "none" or result["delivered"]
        result.update(changed=changed, operation=action, api_key=kind.view(step["after"]))
        if step["after"] is not None:
            result["api_key"]["id"] = step["after"].get("id")
        if module._diff:
            result["diff"] = summarize([(kind, plan)])[2]
            if action == "rotate":
                label = "api_key/%s" % want["name"]
                result["diff"] = {"before": {label: dict(kind.view(step["before"]), secret="(old)")},
                                  "after": {label: dict(kind.view(step["after"]), secret="(rotated)")}}
        return result

    litemaas.run(module, body)


def _has_key(path):
    try:
        with open(path) as handle:
            return any(line.startswith("OPENAI_API_KEY=") for line in handle)
    except (IOError, OSError):
        return False


if __name__ == "__main__":
    main()
