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
  - A subscription this module creates is C(active) at once, also for a restricted model (LiteMaaS 0.4.0's admin
    API bypasses approval). Subscriptions that wait for an admin (status C(pending), asked for in the portal, or
    moved there when the model was made restricted) are decided by O(pending=approve) or O(pending=deny).
    LiteMaaS answers HTTP 200 even when every approval failed, so the module reads C(successful), C(failed) and
    C(errors) and fails on any failure. A C(denied) subscription stays denied (the bulk module
    M(redwood.maas.litemaas_tenants) makes every listed one active, as LiteMaaS itself does when an admin gives a
    key the model). A C(cancelled) one is made active again.
  - V(absent) DELETES the active or pending subscriptions (LiteMaaS 0.4.0 has no admin cancel); LiteMaaS also
    removes the model from the user's keys and revokes keys left without a model.
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
    description: V(present) subscribes, V(absent) deletes the subscriptions to O(models) (see above).
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
  description: Models whose subscription was deleted.
  returned: always
  type: list
  elements: str
pending:
  description: True when the user has not logged in yet (nothing was changed).
  returned: always
  type: bool
requests:
  description: HTTP requests sent, and how many of them were writes.
  returned: always
  type: dict
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.client import MaasError
from ansible_collections.redwood.maas.plugins.module_utils.litemaas import LiteMaaS, changes_of, subscription_targets


def apply(m):
    p = m.params
    models = sorted(set(p["models"]))
    what = "subscriptions of user %r" % p["user"]
    if not models:
        raise MaasError("%s: models must not be empty" % what)
    flavour = m.flavour()
    user = flavour.api.require_user(p["user"])
    flavour.check_models(models, m.check_mode or p["state"] == "absent", m.warn, what)
    kind = flavour.kinds["subscription"]
    kind.reason = p["reason"]
    current = kind.current(user)
    want = subscription_targets(models, current, p["pending"], p["state"])
    moves = changes_of(want, current)
    step, out = m.apply_kind("subscription", want, {user["username"]: current})
    after = want["subscriptions"] if m.check_mode or not moves else kind.current(user)["subscriptions"]
    return dict(changed=out["changed"], diff=out["diff"],
                subscriptions=dict((mo, after.get(mo, "none")) for mo in models),
                subscribed=sorted(mo for mo, (old, t) in moves.items() if t == "active" and old != "pending"),
                approved=sorted(mo for mo, (old, t) in moves.items() if t == "active" and old == "pending"),
                denied=sorted(mo for mo, (old, t) in moves.items() if t == "denied"),
                removed=sorted(mo for mo, (old, t) in moves.items() if t == "none"))


def main():
    MaasModule(dict(
        user=dict(type="str", required=True),
        models=dict(type="list", elements="str", required=True),
        pending=dict(type="str", choices=["approve", "deny", "keep"], default="keep"),
        reason=dict(type="str", default="managed by redwood.maas"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    ), flavour=LiteMaaS).run(apply)


if __name__ == "__main__":
    main()
