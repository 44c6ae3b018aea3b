import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from fixtures.kube import kube_local  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position
from kube_helpers import Runner  # noqa: E402  pylint: disable=wrong-import-position

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def kube_extra_crds():
    return [HERE / "standin-crds"]


@pytest.fixture(scope="session")
def ansible(kube_local):
    return Runner(kube_local)
