# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Budget and rate limit options of the LiteLLM user, team and key modules.
    DOCUMENTATION = r"""
options:
  max_budget:
    description: Spend limit in USD (>= 0).
    type: float
  budget_duration:
    description: Budget reset period, a number followed by C(s), C(m), C(h), C(d) or C(mo) (C(30d), C(1mo)).
    type: str
  tpm_limit:
    description: Tokens per minute.
    type: int
  rpm_limit:
    description: Requests per minute.
    type: int
"""
