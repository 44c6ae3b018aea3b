"""Fixtures of the end-to-end tests; the harness (Journey, recap, ...) is in journey.py."""
import pytest

from journey import Journey, journey_in_own_state_dir


@pytest.fixture(scope="session")
def journey():
    yield from journey_in_own_state_dir(Journey, "maas-e2e-")


def pytest_collection_modifyitems(items):
    """Teardown last: tests in other files that use the running journey (e.g. the owner's economics,
    test_local_owner.py) are collected after test_local_journey.py but need the services up."""
    last = [i for i in items if i.name == "test_teardown_stops_every_process_and_keeps_data"]
    items[:] = [i for i in items if i not in last] + last
