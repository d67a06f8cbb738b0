"""Root pytest configuration: make this checkout importable as ansible_collections.computenest.mlflow."""
import os
import sys

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
