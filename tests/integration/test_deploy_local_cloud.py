"""playbooks/deploy.yml end to end on the local cloud: ECS instances are systemd containers with sshd and RDS is a real
PostgreSQL container, behind the API emulator. With the defaults the server speaks https only, with a self-signed
certificate whose PEM and SHA-256 fingerprint the deploy prints. Then the real MLflow client over https, a no-change
re-run, and destroy."""
import hashlib
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import time

import pytest

from local_cloud import INVENTORY, ROOT
from mlflow_client_checks import exercise_tracking_server

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RAM_POLICY = os.path.join(ROOT, "policies", "computenest-mlflow-ram-policy.json")


def _docker_names(label):
    out = subprocess.run(["docker", "ps", "-a", "--filter", "label=" + label, "--format", "{{.Names}}"],
                         capture_output=True, text=True, check=True).stdout
    return [name for name in out.split() if name]


def _docker_networks(label):
    out = subprocess.run(["docker", "network", "ls", "--filter", "label=" + label, "--format", "{{.Name}}"],
                         capture_output=True, text=True, check=True).stdout
    return [name for name in out.split() if name]


@pytest.fixture
def local_cloud(alicloud_emulator_factory):
    from alicloud_emulator.container_backend import ContainerBackend  # pylint: disable=import-outside-toplevel

    backend = ContainerBackend()
    # The deploy signs with a key bound to the collection's RAM policy: any call it does not allow fails the run.
    with open(RAM_POLICY, encoding="utf-8") as handle:
        policy = json.load(handle)
    key, secret = "LTAIe2e" + secrets.token_hex(6), secrets.token_urlsafe(24)
    emulator = alicloud_emulator_factory(backend=backend, clock_speed=20, extra_credentials={key: secret},
                                         ram_policies={key: policy})
    label = "computenest.emulator=" + backend.emulator_id
    yield emulator, label, dict(emulator.env(), ALICLOUD_ACCESS_KEY=key, ALICLOUD_SECRET_KEY=secret)
    # The factory stops the emulator, and the backend removes what it made; a failed test must not leak containers.


def _deployment_vars(secrets_dir):
    return {
        "alicloud_infra_name": "e2e-mlflow",
        "alicloud_infra_region": "cn-hangzhou",
        "alicloud_infra_zone_id": "cn-hangzhou-h",
        "alicloud_infra_pay_type": "PostPaid",
        "alicloud_infra_ecs_instance_type": "ecs.g7.large",
        "alicloud_infra_ecs_password": "Ecs-login-2026x",
        "alicloud_infra_rds_instance_class": "pg.n2.2c.1m",
        "alicloud_infra_rds_password": "Rds(pass)2026",
        "alicloud_infra_mlflow_port": 5000,
        "mlflow_server_artifacts_dir": "/data/mlflow/artifacts",
        "alicloud_infra_ssh_allowed_cidrs": ["198.18.0.0/15"],
        "alicloud_infra_mlflow_allowed_cidrs": ["198.18.0.0/15"],
        "mlflow_deploy_secrets_dir": str(secrets_dir),
        # No terminal here: the price step orders only with the approval variable.
        "mlflow_deploy_approve_cost": True,
    }


def _tail(run, lines=120):
    return "\n".join((run.stdout + run.stderr).splitlines()[-lines:])


def test_deploy_use_redeploy_destroy(local_cloud, run_playbook, tmp_path):
    emulator, label, env = local_cloud
    secrets_dir = tmp_path / "secrets"
    deployment = _deployment_vars(secrets_dir)

    first = run_playbook("playbooks/deploy.yml", extra_vars=deployment, env=env, inventory=INVENTORY)
    assert first.rc == 0, _tail(first)
    match = re.search(r"MLflow is running: (https://([0-9.]+):443)", first.stdout)
    assert match, _tail(first)
    url, address = match.group(1), match.group(2)
    assert "SECURITY" not in first.stdout + first.stderr, _tail(first)

    # TLS by default: the certificate the host made is fetched and printed, with its SHA-256 fingerprint.
    cert_path = secrets_dir / "mlflow-server.crt"
    pem = cert_path.read_text(encoding="utf-8")
    assert "export MLFLOW_TRACKING_SERVER_CERT_PATH=%s" % cert_path in first.stdout, _tail(first)
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    fingerprint = ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
    assert "SHA-256 fingerprint: " + fingerprint in first.stdout, _tail(first)
    assert pem.splitlines()[1] in first.stdout
    # ... and it is what the server presents.
    served = ssl.get_server_certificate((address, 443))
    assert hashlib.sha256(ssl.PEM_cert_to_DER_cert(served)).hexdigest().upper() == digest
    # Only SSH and https are open, and MLflow's own clear-text port does not answer from outside.
    group = emulator.resources()["security_groups"][0]
    ports = sorted({rule["PortRange"] for rule in group["permissions"] if rule["Direction"] == "ingress"})
    assert ports == ["22/22", "443/443"], ports
    with pytest.raises(OSError):
        socket.create_connection((address, 5000), timeout=5).close()
    admin_password_file = secrets_dir / "admin-password"
    assert oct(admin_password_file.stat().st_mode & 0o777) == "0o600"
    admin_password = admin_password_file.read_text(encoding="utf-8").strip()

    # The address came from the inventory plugin: it is the instance's public address in the cloud's own records.
    instances = [r for r in emulator.resources()["instances"] if r["name"].startswith("e2e-mlflow")]
    assert len(instances) == 1
    assert url.split("//")[1].split(":")[0] == instances[0]["public_ip"]

    exercise_tracking_server(url, "admin", admin_password, tmp_path, cert_path=cert_path)

    second = run_playbook("playbooks/deploy.yml", extra_vars=deployment, env=env, inventory=INVENTORY)
    assert second.rc == 0, _tail(second)
    assert second.recap and all(stats.get("changed", 0) == 0 for stats in second.recap.values()), _tail(second)

    # No secret reached the playbook output, even for the deploy that created everything.
    for secret in (deployment["alicloud_infra_ecs_password"], deployment["alicloud_infra_rds_password"],
                   admin_password, env["ALICLOUD_SECRET_KEY"], emulator.access_key_secret):
        assert secret not in first.stdout + first.stderr
        assert secret not in second.stdout + second.stderr

    destroy = run_playbook("playbooks/destroy.yml", extra_vars=deployment, env=env, inventory=INVENTORY)
    assert destroy.rc == 0, _tail(destroy)
    again = run_playbook("playbooks/destroy.yml", extra_vars=deployment, env=env, inventory=INVENTORY)
    assert again.rc == 0, _tail(again)
    left = {kind: items for kind, items in emulator.resources().items() if items}
    assert not left, left
    refused = [entry["action"] for entry in emulator.requests() if entry["code"] == "Forbidden.RAM"]
    assert refused == [], refused
    # The API answers "gone" first; the container backend then removes the containers and networks in the
    # background, as the real cloud releases a host after its DeleteInstance returned.
    deadline = time.monotonic() + 120
    while (_docker_names(label) or _docker_networks(label)) and time.monotonic() < deadline:
        time.sleep(2)
    assert _docker_names(label) == []
    assert _docker_networks(label) == []
