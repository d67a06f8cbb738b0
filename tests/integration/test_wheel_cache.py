"""The mlflow_server role's controller wheel cache: the first host builds MLflow's wheels once and sends them back,
the next host installs from them without reaching any package index.

Two fresh Debian 12 systemd containers, the whole role (local PostgreSQL) with `serial: 1`. The second host's pip
index is an address nothing listens on, so its MLflow can only have come from the controller's archive.
"""
import glob
import os
import re
import subprocess
import uuid

import pytest

from local_cloud import ROOT, docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# The apt archive is shared with nothing else that runs at the same time (the hosts are configured one by one).
APT_CACHE = os.path.join(ROOT, ".cache", "apt-wheel-cache-test")
PLAYBOOK = """
- name: MLflow on two hosts, one after the other, through the controller's wheel cache
  hosts: all
  serial: 1
  gather_facts: true
  roles:
    - role: computenest.mlflow.mlflow_server
"""


@pytest.fixture(name="two_hosts")
def two_hosts_fixture():
    image = os.environ.get("MLFLOW_TEST_IMAGE")
    assert image, "MLFLOW_TEST_IMAGE is not set: source scripts/env.sh (scripts/test.sh does)"
    os.makedirs(APT_CACHE, exist_ok=True)
    prefix = "wheel-cache-" + uuid.uuid4().hex[:8]
    names = [prefix + "-1", prefix + "-2"]
    try:
        for name in names:
            docker("run", "--detach", "--name", name, "--hostname", name, "--cap-add", "SYS_ADMIN",
                   "--cgroupns", "host", "--tmpfs", "/run", "--tmpfs", "/run/lock",
                   "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                   "--volume", APT_CACHE + ":/var/cache/apt/archives:rw",
                   image, "/lib/systemd/systemd")
        yield names
    finally:
        for name in names:
            docker("rm", "--force", "--volumes", name, check=False)


def test_second_host_installs_from_the_first_hosts_wheels(two_hosts, run_playbook, tmp_path):
    first, second = two_hosts
    cache_dir = tmp_path / "wheel-cache"
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n"
        "  vars:\n"
        "    ansible_connection: community.docker.docker\n"
        "    ansible_python_interpreter: /usr/bin/python3\n"
        "    mlflow_server_postgresql_local: true\n"
        "    mlflow_server_health_timeout: 420\n"
        "    mlflow_server_db_password: Wheel-db-2026Q\n"
        "    mlflow_server_auth_admin_password: Wheel-admin-2026Q\n"
        f"    mlflow_server_wheel_cache_dir: {cache_dir}\n"
        "  hosts:\n"
        f"    {first}: {{}}\n"
        f"    {second}:\n"
        # Nothing listens there: any attempt to reach an index fails.
        "      mlflow_server_pip_index_url: http://127.0.0.1:9/simple/\n")
    playbook = tmp_path / "site.yml"
    playbook.write_text(PLAYBOOK)

    run = run_playbook(str(playbook), inventory=str(inventory), timeout=2400)
    output = run.stdout + run.stderr
    assert run.rc == 0, "\n".join(output.splitlines()[-120:])

    # One archive, published under its final name; no partial download left behind.
    archives = sorted(os.path.basename(path) for path in glob.glob(str(cache_dir / "*")))
    hidden = sorted(os.path.basename(path) for path in glob.glob(str(cache_dir / ".*")))
    assert len(archives) == 1 and re.match(r"mlflow-wheels-cp3\d+-linux-x86_64-glibc[\d.]+-[0-9a-f]{16}\.tar$",
                                           archives[0]), archives
    assert not hidden, hidden
    members = subprocess.run(["tar", "--list", "--file", str(cache_dir / archives[0])], capture_output=True,
                             text=True, check=True).stdout.split()
    assert any(re.search(r"/mlflow-3\.17\.2-py3-none-any\.whl$", member) for member in members), members[:20]

    # The first host built the wheels, the second only unpacked them.
    def task_result(task, host):
        match = re.search(r"TASK \[[^\]]*: %s\][^\n]*\n(?:(?!TASK \[).*\n)*?(ok|changed|skipping|fatal): \[%s\]"
                          % (re.escape(task), re.escape(host)), output)
        return match.group(1) if match else None

    assert task_result("Build the wheels of every requirement on the host", first) == "changed"
    assert task_result("Unpack the controller's wheels on the host", first) == "skipping"
    assert task_result("Build the wheels of every requirement on the host", second) == "skipping"
    assert task_result("Unpack the controller's wheels on the host", second) == "changed"

    for host in two_hosts:
        version = docker("exec", host, "/opt/mlflow/venv/bin/python", "-c",
                         "import mlflow; print(mlflow.__version__)").stdout.strip()
        assert version == "3.17.2", (host, version)
        assert docker("exec", host, "systemctl", "is-active", "mlflow", check=False).stdout.strip() == "active"
        # The scratch wheels are gone from the host.
        assert docker("exec", host, "ls", "/opt/mlflow").stdout.split() == ["libexec", "venv"], host

    # With the pins satisfied, a second run neither builds nor unpacks anything and changes nothing.
    again = run_playbook(str(playbook), inventory=str(inventory), timeout=1200)
    assert again.rc == 0, "\n".join((again.stdout + again.stderr).splitlines()[-80:])
    assert sorted(again.recap) == sorted(two_hosts), again.recap
    assert all(again.stat(host, "changed") == 0 for host in two_hosts), again.recap
