"""Root pytest configuration: make this checkout importable as ansible_collections.computenest.mlflow."""
import os
import sys

import pytest
from ansible.plugins.loader import init_plugin_loader

_ROOT = os.path.dirname(os.path.abspath(__file__))
_COLLECTIONS = os.path.join(_ROOT, ".cache", "collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

# Install Ansible's collection finder before any test imports the collection, as ansible-test units does: a finder
# installed later (by a test that needs the plugin loader) cannot serve modules already imported the plain way.
init_plugin_loader([_COLLECTIONS])

# The local Alibaba Cloud emulator's fixtures (alicloud_emulator, alicloud_emulator_factory) for every test.
pytest_plugins = ["alicloud_emulator.pytest_plugin"]


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group markers
def pytest_collection_modifyitems(items):
    """Under xdist (scripts/test.sh runs -n 2 --dist loadgroup) every docker test goes to one worker, in order:
    they share the Docker engine, container names and VSwitch subnets, and one session-wide local deployment.
    Everything else spreads over the other workers."""
    for item in items:
        if item.get_closest_marker("docker"):
            item.add_marker(pytest.mark.xdist_group("docker"))
