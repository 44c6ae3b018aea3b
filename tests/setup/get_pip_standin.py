"""Stand-in for the get-pip bootstrap script ansible-test downloads (unreachable here).

ansible-test runs it as ``python quiet_pip.py <pip options> <packages>`` with GET_PIP pointing
at this file. It bootstraps pip from the interpreter's own ``ensurepip`` instead of a download,
then installs the requested packages (e.g. ``pip==24.2``) from the package index as usual.
"""
import ensurepip
import importlib
import os
import runpy
import sys

saved_env = dict(os.environ)
ensurepip.bootstrap()  # it disables pip's configuration in os.environ: undo that afterwards
os.environ.clear()
os.environ.update(saved_env)
importlib.invalidate_caches()
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.argv = ["pip", "install"] + args
runpy.run_module("pip", run_name="__main__", alter_sys=True)
