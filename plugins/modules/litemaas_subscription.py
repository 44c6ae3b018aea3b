#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litemaas_subscription
short_description: A LiteMaaS user's model subscriptions; approve or deny pending ones
version_added: "0.1.0"
description:
  - Ensures a LiteMaaS 0.4.0 user is subscribed to O(models) (V(present)) or not (V(absent)).
  - Subscriptions to restricted models wait for an admin (status C(pending)); O(pending=approve) or O(pending=deny)
    decides them. LiteMaaS answers HTTP 200 even when every approval failed, so the module reads
    C(successful), C(failed) and C(errors) and fails on any failure.
  - A user who has not logged in yet is reported as pending (C(changed=false)).
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.litemaas
  - redwood.maas.attributes
options:
  user:
    description: Username of the subscriber.
    type: str
    required: true
  models:
    description: Model names.
    type: list
    elements: str
    required: true
  pending:
    description: What to do with this user's C(pending) subscriptions to O(models).
    type: str
    choices: [approve, deny, keep]
    default: keep
  reason:
    description: Reason recorded with a denial, approval or cancellation.
    type: str
    default: managed by redwood.maas
  state:
    description: V(present) subscribes, V(absent) removes the subscriptions to O(models).
    type: str
    choices: [present, absent]
    default: present
author:
  - redwood.maas engineers (@redwood-maas)
"""

EXAMPLES = r"""
- name: Bob may use granite, approved by the automation
  redwood.maas.litemaas_subscription:
    user: bob
    models: [granite-3-1-8b-instruct]
    pending: approve
"""

RETURN = r"""
subscriptions:
  description: Status of the user's subscription to each of O(models) after the run (V(none) if not subscribed).
  returned: when the user exists
  type: dict
  sample: {granite-3-1-8b-instruct: active}
subscribed:
  description: Models subscribed by this run.
  returned: always
  type: list
  elements: str
approved:
  description: Models whose pending subscription was approved.
  returned: always
  type: list
  elements: str
denied:
  description: Models whose pending subscription was denied.
  returned: always
  type: list
  elements: str
removed:
  description: Models whose subscription was removed.
  returned: always
  type: list
  elements: str
pending:
  description: True when the user has not logged in yet (nothing was changed).
  returned: always
  type: bool
requests:
  description: Number of HTTP requests sent.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.redwood.maas.plugins.module_utils import litemaas
from ansible_collections.redwood.maas.plugins.module_utils.litemaas_kinds import apply_subscriptions


def main():
    spec = dict(litemaas.LITEMAAS_ARGUMENT_SPEC)
    spec.update(
        user=dict(type="str", required=True),
        models=dict(type="list", elements="str", required=True),
        pending=dict(type="str", choices=["approve", "deny", "keep"], default="keep"),
        reason=dict(type="str", default="managed by redwood.maas"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    models = sorted(set(p["models"]))
    if not models:
        module.fail_json(msg="subscriptions of user %r: models must not be empty" % p["user"])
    check = module.check_mode
    what = "subscriptions of user %r" % p["user"]

    def body(api):
        user = api.require_user(p["user"])
        known = api.models()
        unknown = [m for m in models if m not in known]
        if unknown and p["state"] == "present" and check:
            module.warn("%s: model(s) %s do not exist yet (check mode: an earlier task may create them)"
                        % (what, ", ".join(unknown)))
        elif unknown and p["state"] == "present":
            raise ValueError("%s: unknown model(s) %s" % (what, ", ".join(unknown)))
        out, view_before, view_after = apply_subscriptions(api, user, models, known, pending=p["pending"],
                                                           reason=p["reason"], state=p["state"], check=check)
        result = dict(out, changed=any(out.values()), subscriptions=view_after)
        if module._diff:
            result["diff"] = {"before": view_before, "after": view_after}
        return result

    litemaas.run(module, body)


if __name__ == "__main__":
    main()
