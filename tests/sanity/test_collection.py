"""Collection-level checks: ansible-lint (production profile), ansible-test sanity, build and install, ansible-doc."""
import glob
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import base_env  # noqa: E402  pylint: disable=wrong-import-position


def _run(cmd, cwd=ROOT, timeout=1800, env=None):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env or base_env(), timeout=timeout,
                          check=False)
    return proc.returncode, proc.stdout + proc.stderr


def _tail(text, lines=80):
    return "\n".join(text.splitlines()[-lines:])


def _tracked_files():
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return [path for path in out.split("\0") if path and os.path.exists(os.path.join(ROOT, path))]


@pytest.fixture(scope="module")
def collection_copy(tmp_path_factory):
    """The checkout's files at a path ending ansible_collections/computenest/mlflow, as ansible-test requires."""
    dest = tmp_path_factory.mktemp("sanity") / "ansible_collections" / "computenest" / "mlflow"
    for path in _tracked_files():
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, path), target)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    return dest


def test_ansible_lint_production_profile():
    rc, out = _run([os.path.join(BIN, "ansible-lint"), "--profile", "production", "--offline"])
    assert rc == 0, _tail(out)


@pytest.mark.slow
def test_ansible_test_sanity(collection_copy):
    rc, out = _run([os.path.join(BIN, "ansible-test"), "sanity", "--color", "no", "--python", "3.11", "--venv"],
                   cwd=str(collection_copy), timeout=3000)
    assert rc == 0, _tail(out, 150)
    # No ignore file may hide a finding.
    assert not glob.glob(str(collection_copy / "tests" / "sanity" / "ignore-*.txt"))


def test_collection_builds_and_installs(tmp_path):
    rc, out = _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), ROOT])
    assert rc == 0, out
    tarballs = glob.glob(str(tmp_path / "computenest-mlflow-*.tar.gz"))
    assert len(tarballs) == 1, out
    listing = subprocess.run(["tar", "-tzf", tarballs[0]], capture_output=True, text=True, check=True).stdout
    assert "roles/mlflow_server/tasks/main.yml" in listing
    assert "plugins/module_utils/alicloud.py" in listing
    # Development-only trees stay out of the tarball.
    assert not any(name.startswith(("emulator/", ".venv/", ".cache/", "bench/")) for name in listing.split())
    install_dir = tmp_path / "installed"
    # Only the fresh install path: the development checkout on the usual path would count as "already installed".
    env = base_env({"ANSIBLE_COLLECTIONS_PATH": str(install_dir)})
    env.pop("PYTHONPATH", None)
    rc, out = _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-p", str(install_dir),
                    tarballs[0]], env=env)
    assert rc == 0, out
    installed = install_dir / "ansible_collections" / "computenest" / "mlflow"
    assert (installed / "MANIFEST.json").is_file(), out
    rc, out = _run([os.path.join(BIN, "ansible-doc"), "-l", "computenest.mlflow"], env=env)
    assert rc == 0 and "computenest.mlflow.alicloud_vpc" in out, out


def _plugin_names(kind_dir):
    return sorted(os.path.splitext(os.path.basename(path))[0]
                  for path in glob.glob(os.path.join(ROOT, "plugins", kind_dir, "*.py"))
                  if not os.path.basename(path).startswith("_"))


@pytest.mark.parametrize("module", _plugin_names("modules"))
def test_module_documentation_renders(module):
    rc, out = _run([os.path.join(BIN, "ansible-doc"), "computenest.mlflow." + module])
    assert rc == 0, out
    for section in ("OPTIONS", "EXAMPLES", "RETURN VALUES"):
        assert section in out, "%s missing from ansible-doc output of %s" % (section, module)
    assert "[WARNING]" not in out, out


@pytest.mark.parametrize("plugin", _plugin_names("inventory"))
def test_inventory_documentation_renders(plugin):
    rc, out = _run([os.path.join(BIN, "ansible-doc"), "-t", "inventory", "computenest.mlflow." + plugin])
    assert rc == 0, out
    assert "OPTIONS" in out and "[WARNING]" not in out, out
