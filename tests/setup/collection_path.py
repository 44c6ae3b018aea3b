"""Expose this checkout as the collection redwood.maas and print the collections path.

Ansible finds collections only below ``ansible_collections/<namespace>/<name>``; a symlink
in a per-checkout temporary directory points there, so playbooks run the code under test.
"""
import hashlib
import os
import tempfile

repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
base = os.path.join(tempfile.gettempdir(), "redwood-maas-" + hashlib.sha256(repo.encode()).hexdigest()[:12])
ns = os.path.join(base, "ansible_collections", "redwood")
os.makedirs(ns, exist_ok=True)
link = os.path.join(ns, "maas")
if os.path.islink(link) and os.readlink(link) != repo:
    os.unlink(link)
if not os.path.lexists(link):
    os.symlink(repo, link)
print(base)
