# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The one module base class (in the manner of amazon.aws's AnsibleAWSModule and community.hashi_vault's
HashiVaultModule): connection options declared once as data, the client and the flavour built and
closed here, every MaasError turned into ``fail_json`` with a scrubbed message, and
``requests: {total, writes}`` in every result. A module is its argument spec plus one call:

    MaasModule(argument_spec=..., flavour=LiteLLM).run(lambda m: ...)

``flavour`` is the flavour's class: it brings its own connection options (``Flavour.connection``) and
builds itself from the module's params (``Flavour.from_params``), so a new flavour needs no edit here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.redwood.maas.plugins.module_utils.client import GatewayClient, MaasError
from ansible_collections.redwood.maas.plugins.module_utils.delivery import Kube

CONNECTION = dict(
    gateway_url=dict(type="str", fallback=(env_fallback, ["MAAS_GATEWAY_URL"])),
    token=dict(type="str", no_log=True, fallback=(env_fallback, ["MAAS_GATEWAY_TOKEN"])),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="float", default=30),
    retries=dict(type="int", default=4),
)
KUBERNETES = dict(
    kubeconfig=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG", "KUBECONFIG"])),
    context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
)
# the options of the tenant engine shared by every bulk module
ENGINE = dict(
    adopt=dict(type="bool", default=False),
    prune=dict(type="bool", default=False),
    prune_force=dict(type="bool", default=False),
    public_url=dict(type="str"),
)

# the options of the bulk modules: the whole tenant inventory (as the role's variables) and the engine's switches
BULK = dict(
    ENGINE,
    models=dict(type="list", elements="dict", default=[]),
    model_endpoints=dict(type="dict", default={}),
    budget_defaults=dict(type="dict", default={}),
    teams=dict(type="list", elements="dict", default=[]),
    users=dict(type="list", elements="dict", default=[]),
    api_keys=dict(type="list", elements="dict", default=[], no_log=False),
)
# the options of every single-object module of the LiteLLM flavour
SINGLE = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    adopt=ENGINE["adopt"],
)
LIMITS = dict(max_budget=dict(type="float"), budget_duration=dict(type="str"), tpm_limit=dict(type="int"),
              rpm_limit=dict(type="int"))


class MaasModule(AnsibleModule):
    def __init__(self, argument_spec, flavour=None, kubernetes=False, **kwargs):
        spec = dict(CONNECTION, **flavour.connection) if flavour else {}
        if kubernetes:
            spec.update(KUBERNETES)
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        super(MaasModule, self).__init__(argument_spec=spec, **kwargs)
        self.flavour_class = flavour
        self._client = None
        self._flavour = None

    @property
    def client(self):
        if self._client is None:
            p = self.params
            self._client = GatewayClient(p.get("gateway_url"), token=p.get("token"),
                                         validate_certs=p.get("validate_certs", True), ca_path=p.get("ca_path"),
                                         timeout=p.get("timeout", 30), retries=p.get("retries", 4))
        return self._client

    def flavour(self, **kwargs):
        if self._flavour is None:
            self._flavour = self.flavour_class.from_params(self.client, self.params, **kwargs)
        return self._flavour

    def kube(self):
        return Kube(self.params.get("kubeconfig"), self.params.get("context"))

    def engine_options(self):
        p = self.params
        return dict(kube=self.kube(), check_mode=self.check_mode, prune=p.get("prune", False),
                    prune_force=p.get("prune_force", False), adopt=p.get("adopt", False),
                    public_url=p.get("public_url") or (self.client.base_url if p.get("gateway_url") and not
                                                       self.flavour_class.capabilities.get("public_url") else None),
                    warn=self.warn)

    def run_bulk(self):
        """The body of a bulk module: the whole inventory through the engine."""
        from ansible_collections.redwood.maas.plugins.module_utils.reconcile import run
        inventory = dict((k, self.params[k]) for k in ("models", "teams", "users", "api_keys", "budget_defaults"))
        return run(self.flavour(), inventory, endpoints=self.params["model_endpoints"], **self.engine_options())

    def run_one(self, inventory_list, fields, endpoints=None):
        """The body of a single-object module: the options as a one-entry inventory, through the engine."""
        from ansible_collections.redwood.maas.plugins.module_utils.reconcile import BUCKETS, run
        item = dict((f, self.params[f]) for f in fields if self.params.get(f) is not None)
        for field in ("owner", "deliver_to", "cost"):
            if isinstance(item.get(field), dict):
                item[field] = dict((k, v) for k, v in item[field].items() if v is not None)
        out = run(self.flavour(single=True), {inventory_list: [item]}, endpoints=endpoints, **self.engine_options())
        operation = "none"
        for bucket in out["summary"].values():
            for action, name in BUCKETS.items():
                if item["name"] in bucket.get(name, []):
                    operation = action
        result = dict(changed=out["changed"], operation=operation, diff=out["diff"])
        if inventory_list == "api_keys":
            result.update(delivered=item["name"] in out["delivered"], removed=item["name"] in out["removed"])
        return result

    def apply_kind(self, kind, desired, current, dests=None):
        """One object of ``kind`` through the engine, with ``current`` read by the caller.
        Returns (the plan step, the engine's result)."""
        from ansible_collections.redwood.maas.plugins.module_utils.reconcile import Engine
        engine = Engine(self.flavour(), dests, **self.engine_options())
        plans = engine.plan({kind: [desired]}, {kind: current})
        engine.execute(plans)
        return plans[kind][0], engine.result(plans)

    def counts(self):
        return self._client.counts() if self._client else dict(total=0, writes=0)

    def run(self, body):
        """``body(module)`` returns the result dict; errors become ``fail_json``; the client is closed."""
        try:
            result = body(self)
        except MaasError as exc:
            if exc.pending:
                result = dict(changed=False, pending=True, msg=str(exc))
            else:
                counts = self.counts()
                msg = self._client.scrub(str(exc)) if self._client else str(exc)
                if counts["writes"] == 0:
                    msg += ". Nothing was changed."
                self.fail_json(msg=msg, requests=counts, status=exc.status)
        finally:
            if self._client is not None:
                self._client.close()
        if self.flavour_class and self.flavour_class.capabilities.get("pending_users"):
            result.setdefault("pending", False)
        result["requests"] = self.counts()
        if not self._diff:
            result.pop("diff", None)
        self.exit_json(**result)
