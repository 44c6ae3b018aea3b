# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options of the tenant engine shared by every module that writes tenants.
    DOCUMENTATION = r"""
options:
  adopt:
    description:
      - Take over objects that have an inventory name but were not made by this collection (they
        lack the C(managed_by=redwood.maas) marker). They get the marker and are managed from now on.
      - Without it such an object is an error naming it, and nothing is written.
      - Adoption never changes a key's owner (a key with another owner is refused either way).
    type: bool
    default: false
"""

    # Options of the bulk modules only.
    BULK = r"""
options:
  prune:
    description:
      - Delete objects carrying the C(managed_by=redwood.maas) marker that are not listed. Objects
        without the marker (made by hand) are never deleted.
    type: bool
    default: false
  prune_force:
    description:
      - A prune that would delete more than half of the managed objects of a kind (for example
        after an inventory file failed to load) stops before any write and says how many,
        unless this is true.
    type: bool
    default: false
  public_url:
    description:
      - Base URL consumers use, written as C(OPENAI_BASE_URL) (C(/v1) appended once) with each
        delivered key. With LiteLLM it defaults to O(gateway_url). With LiteMaaS it has no default and
        is required when a key is delivered (consumers call LiteLLM, not LiteMaaS).
    type: str
"""

    # How keys are delivered (the bulk modules and the key modules).
    DELIVERY = r"""
options:
  kubeconfig:
    description:
      - Kubeconfig used to write keys delivered to a Kubernetes Secret (C(deliver_to.secret)), as in
        kubernetes.core.
      - If not set, E(K8S_AUTH_KUBECONFIG), then E(KUBECONFIG), then C(~/.kube/config) (or the
        in-cluster service account).
    type: path
  context:
    description:
      - Kubeconfig context. If not set, E(K8S_AUTH_CONTEXT), else the current context.
    type: str
notes:
  - A new key's secret is written to its destination (env file with mode 0600, written
    atomically, or the keys C(OPENAI_API_KEY) and C(OPENAI_BASE_URL) of a Kubernetes Secret) and
    never returned, so no task needs C(no_log) for it and C(--diff) always shows.
  - With LiteLLM the secret is made on the controller and delivered B(before) the key is created
    (a retried create is then harmless); with LiteMaaS, which makes the secret itself, it is
    delivered as soon as the create answers. Every key in the gateway has its working secret at
    its destination whatever fails later in the run.
  - A deleted or revoked key's secret is removed from its destination.
requirements:
  - kubernetes >= 12 (Python library, only for C(deliver_to.secret))
"""
