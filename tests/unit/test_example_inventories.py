"""Every inventory the collection ships passes the tenant validation of its own gateway flavour.

The tenants role runs the same checks before its first write; this catches an example inventory
that a real run would refuse (e.g. teams in a LiteMaaS environment) without any gateway.
"""
import json
import os
import subprocess

import pytest

from ansible_collections.redwood.maas.plugins.module_utils.litemaas import LiteMaaS
from ansible_collections.redwood.maas.plugins.module_utils.litellm import LiteLLM
from ansible_collections.redwood.maas.plugins.module_utils.tenants import InputError, validate_inventory

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORIES = ["dev", "staging", "prod", "local", "example-litellm"]


def host_vars(inventory):
    res = subprocess.run(["ansible-inventory", "-i", os.path.join(REPO, "inventories", inventory),
                          "--host", "localhost"], capture_output=True, text=True, check=False, cwd=REPO)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_inventory_passes_its_gateway_validation(inventory):
    hv = host_vars(inventory)
    models = hv.get("maas_models", [])
    assert models, "%s lists no models" % inventory
    flavour = LiteMaaS if hv.get("maas_gateway", "litellm") == "litemaas" else LiteLLM
    validate_inventory(models, hv.get("maas_teams"), hv.get("maas_users"), hv.get("maas_api_keys"),
                       hv.get("maas_budget_defaults"), capabilities=flavour.capabilities,
                       prune=hv.get("maas_tenants_prune", False))
    smoke = hv.get("maas_smoke_key")
    if hv.get("maas_target") == "openshift" or smoke:
        keys = dict((k["name"], k) for k in hv.get("maas_api_keys", []))
        assert smoke in keys and (keys[smoke].get("deliver_to") or {}).get("file"), \
            "%s: maas_smoke_key must name a key delivered to a file (smoke.yml reads it)" % inventory


def test_litemaas_validation_refuses_teams():
    """The check above can fail: LiteMaaS refuses teams (it has no teams API)."""
    with pytest.raises(InputError, match="no teams API"):
        validate_inventory([{"name": "m", "endpoint": "http://m/v1"}], [{"name": "t"}], capabilities=LiteMaaS.capabilities)
