"""Run each molecule scenario of the mlflow_server role end to end (`molecule test -s <scenario>`).

Needs the Docker engine and the local systemd image ($MLFLOW_TEST_IMAGE, built by scripts/build-image.sh); both are
treated as hard requirements: without them the test fails and says so, it does not skip.
"""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

MOLECULE_DIR = os.path.join(ROOT, "molecule")
SCENARIOS = ("default", "reconfigure", "tls")
TAIL_LINES = 200


def molecule_env():
    """The environment scripts/env.sh gives a shell: the venv first on PATH, this checkout as the collection."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    venv_bin = os.path.dirname(sys.executable)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = os.path.dirname(venv_bin)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, ".cache", "collections")
    env["ANSIBLE_ROLES_PATH"] = os.path.join(ROOT, "roles")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["NO_COLOR"] = "1"
    env["PY_COLORS"] = "0"
    return env


def test_every_scenario_is_exercised():
    found = sorted(name for name in os.listdir(MOLECULE_DIR)
                   if os.path.isfile(os.path.join(MOLECULE_DIR, name, "molecule.yml")))
    assert found == sorted(SCENARIOS)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario):
    env = molecule_env()
    assert env.get("MLFLOW_TEST_IMAGE"), "MLFLOW_TEST_IMAGE is not set: source scripts/env.sh (scripts/test.sh does)"
    docker = shutil.which("docker", path=env["PATH"])
    assert docker, "the docker client is not on PATH"
    image = subprocess.run([docker, "image", "inspect", env["MLFLOW_TEST_IMAGE"]], capture_output=True, text=True,
                           check=False, timeout=60)
    assert image.returncode == 0, (
        f"image {env['MLFLOW_TEST_IMAGE']} is missing (run scripts/build-image.sh): {image.stderr.strip()}")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "molecule"), "test", "-s", scenario],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=2700, check=False,
    )
    # Ansible's output (the failing task) is on stdout, molecule's own summary on stderr: show the end of both.
    assert proc.returncode == 0, "\n".join(
        [f"molecule test -s {scenario} failed (rc {proc.returncode}); end of its output:"]
        + proc.stdout.splitlines()[-TAIL_LINES:] + ["--- stderr ---"] + proc.stderr.splitlines()[-40:])
