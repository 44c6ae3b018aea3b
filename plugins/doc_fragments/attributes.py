# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # check_mode / diff_mode attributes of the modules that change things and support both fully.
    # A module that documents an attribute itself (for example diff_mode support none) overrides
    # that attribute of the fragment.

    # Wording of the litemaas_* modules.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
"""

    # Wording of the litellm_* modules (redwood.maas.attributes.litellm).
    LITELLM = r"""
attributes:
  check_mode:
    description: Reports what would change and writes nothing.
    support: full
  diff_mode:
    description: Shows before and after of the compared fields (never secrets).
    support: full
"""
