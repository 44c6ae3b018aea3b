"""Unit tests import the collection as ansible_collections.redwood.maas (tests/run sets the path)."""
import os
import sys

for _p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
    if _p and _p not in sys.path:
        sys.path.insert(0, _p)
