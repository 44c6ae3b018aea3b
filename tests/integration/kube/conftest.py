import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from fixtures.kube import KubeLocal, kube_local  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position
from kube_helpers import Runner  # noqa: E402  pylint: disable=wrong-import-position
from site_lane import Site  # noqa: E402  pylint: disable=wrong-import-position

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def kube_extra_crds():
    return [HERE / "standin-crds"]


@pytest.fixture(scope="session")
def ansible(kube_local):
    return Runner(kube_local)


@pytest.fixture(scope="session")
def site(kube_local):
    """The shared staging converge and everything run on it (site_lane.py), in a background thread
    with its own API client."""
    lane = Site(KubeLocal(kube_local.kl_home, kube_local.dir)).start()
    yield lane
    lane.join()


@pytest.fixture(scope="session", autouse=True)
def _site_starts_first(request):
    """Start the site lane with the first test of this directory when any selected test needs it."""
    if any("site" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("site")


def pytest_collection_modifyitems(items):
    """The tests that wait for the site lane run after the other tests of this directory."""
    here = [i for i, item in enumerate(items) if Path(item.path).parent == HERE]
    block = [items[i] for i in here]
    block.sort(key=lambda item: "site" in getattr(item, "fixturenames", ()))
    for i, item in zip(here, block):
        items[i] = item
