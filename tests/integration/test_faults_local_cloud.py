"""deploy.yml on a flaky cloud: throttling, 5xx answers and lost replies at realistic rates (plus a lost reply on each
create call, the case that tests ClientToken idempotency) still give a working deployment with exactly one of each
resource; destroy.yml, still under the same faults, then leaves no resource, container or network behind.
It deploys the seed's plain http://IP:5000 (TLS turned off explicitly): that opt-out must work, and must say loudly
that passwords then cross the network in clear text."""
import collections
import re
import subprocess
import time

import pytest

from local_cloud import INVENTORY

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NAME = "flaky-mlflow"
# Rates per request: a busy account sees throttling now and then, 5xx and dropped connections rarely.
RATES = {"throttling": 0.08, "unavailable": 0.03, "internal": 0.03, "lost": 0.03}
# The reply of every create call is lost once: the action is applied, the caller never hears of it.
LOST_CREATES = ("CreateVpc", "CreateVSwitch", "CreateSecurityGroup", "RunInstances", "CreateDBInstance",
                "CreateAccount", "CreateDatabase")


def _labelled(kind, label):
    """Names of the containers or networks carrying label (those of one emulator's container backend)."""
    if kind == "container":
        listing = ["ps", "-a", "--format", "{{.Names}}"]
    else:
        listing = ["network", "ls", "--format", "{{.Name}}"]
    out = subprocess.run(["docker", *listing, "--filter", "label=" + label], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return sorted(name for name in out.split() if name)


def test_deploy_on_flaky_cloud_converges_to_one_of_each(alicloud_emulator_factory, run_playbook, tmp_path):
    from alicloud_emulator.container_backend import ContainerBackend  # pylint: disable=import-outside-toplevel

    backend = ContainerBackend()
    label = "computenest.emulator=" + backend.emulator_id
    emulator = alicloud_emulator_factory(backend=backend, clock_speed=20, seed=7)
    for action in LOST_CREATES:
        emulator.inject_fault("lost", action=action, count=1)
    for kind, rate in RATES.items():
        emulator.inject_fault(kind, rate=rate)
    deployment = {
        "alicloud_infra_name": NAME,
        "alicloud_infra_region": "cn-hangzhou",
        "alicloud_infra_zone_id": "cn-hangzhou-h",
        "alicloud_infra_ecs_password": "Flk-ecs-2026Z",
        "alicloud_infra_rds_password": "Flk-rds-2026Z",
        "alicloud_infra_vpc_cidr": "10.214.0.0/16",
        "alicloud_infra_vswitch_cidr": "10.214.7.0/24",
        "alicloud_infra_ssh_allowed_cidrs": ["198.18.0.0/15"],
        "alicloud_infra_mlflow_allowed_cidrs": ["198.18.0.0/15"],
        "mlflow_deploy_secrets_dir": str(tmp_path / "secrets"),
        "mlflow_deploy_approve_cost": True,
        # As an AWX survey or -e gives it: text.
        "mlflow_server_tls_enabled": "false",
    }
    run = run_playbook("playbooks/deploy.yml", extra_vars=deployment, env=emulator.env(), inventory=INVENTORY,
                       timeout=2400)
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-150:])
    log = emulator.requests()
    seen = collections.Counter(entry["fault"] for entry in log if entry.get("fault"))
    assert run.rc == 0, "%s\nfaults injected: %s" % (tail, dict(seen))
    assert re.search(r"MLflow is running: http://[0-9.]+:5000", run.stdout), tail
    # The opt-out is shown as an Ansible warning (by the role and again after the summary) and in the usage.
    output = run.stdout + run.stderr
    assert "[WARNING]: SECURITY: mlflow_server_tls_enabled is" in output, tail
    assert "[WARNING]: SECURITY: deployment %s: mlflow_server_tls_enabled" % NAME in output, tail
    assert "TLS:     OFF (mlflow_server_tls_enabled: false)" in run.stdout, tail

    # The faults really happened, of every kind, and every create call's reply was lost once.
    assert all(seen.get(kind) for kind in RATES), dict(seen)
    lost_creates = {entry["action"] for entry in log if entry.get("fault") and entry["status"] is None}
    assert set(LOST_CREATES) <= lost_creates, lost_creates

    resources = emulator.resources()
    counts = {kind: len(items) for kind, items in resources.items() if items}
    assert counts == {"vpcs": 1, "vswitches": 1, "security_groups": 1, "instances": 1, "db_instances": 1}, counts
    db_instance = resources["db_instances"][0]
    assert sorted(db_instance["accounts"]) == ["mlflow"] and sorted(db_instance["databases"]) == ["mlflow"], db_instance

    # Destroy under the same faults: every resource goes, and the backend removes the containers and networks
    # (in the background once the API has said they are gone, as the real cloud releases a host).
    deploy_log_size = len(log)
    destroy = run_playbook("playbooks/destroy.yml", extra_vars=deployment, env=emulator.env(), inventory=INVENTORY,
                           timeout=1200)
    destroy_tail = "\n".join((destroy.stdout + destroy.stderr).splitlines()[-150:])
    assert destroy.rc == 0, destroy_tail
    destroy_faults = [entry["fault"] for entry in emulator.requests(since=deploy_log_size) if entry.get("fault")]
    assert destroy_faults, "no fault was injected during destroy"
    left = {kind: items for kind, items in emulator.resources().items() if items}
    assert not left, left
    deadline = time.monotonic() + 120
    while (_labelled("container", label) or _labelled("network", label)) and time.monotonic() < deadline:
        time.sleep(2)
    assert _labelled("container", label) == []
    assert _labelled("network", label) == []
