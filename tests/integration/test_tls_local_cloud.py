"""playbooks/deploy.yml with the TLS front end (the default) and a server DNS name on the local cloud (ECS hosts are
systemd containers, RDS a real PostgreSQL container): the security group opens SSH and 443 only, MLflow's own port is
closed from outside, the deploy's checks reach the address the deploy found and check the certificate for the name
(which resolves nowhere: a check that looked it up would fail), the real MLflow client goes over https trusting the
self-signed certificate deploy.yml fetched, and a re-run changes nothing."""
import json
import os
import secrets
import socket
import ssl

import pytest

from local_cloud import INVENTORY, ROOT
from mlflow_client_checks import exercise_tracking_server

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RAM_POLICY = os.path.join(ROOT, "policies", "computenest-mlflow-ram-policy.json")
USERS = "198.18.0.0/15"
SERVER_NAME = "mlflow.tls-test.invalid"


def _tail(run, lines=150):
    return "\n".join((run.stdout + run.stderr).splitlines()[-lines:])


def test_deploy_with_tls_front_end(alicloud_emulator_factory, run_playbook, tmp_path, monkeypatch):
    from alicloud_emulator.container_backend import ContainerBackend  # pylint: disable=import-outside-toplevel

    # Signed with a key bound to the collection's RAM policy: TLS needs no API call beyond it.
    with open(RAM_POLICY, encoding="utf-8") as handle:
        policy = json.load(handle)
    key, secret = "LTAItls" + secrets.token_hex(6), secrets.token_urlsafe(24)
    emulator = alicloud_emulator_factory(backend=ContainerBackend(), clock_speed=20, extra_credentials={key: secret},
                                         ram_policies={key: policy})
    env = dict(emulator.env(), ALICLOUD_ACCESS_KEY=key, ALICLOUD_SECRET_KEY=secret)
    secrets_dir = tmp_path / "secrets"
    deployment = {
        "alicloud_infra_name": "tls-mlflow",
        "alicloud_infra_region": "cn-hangzhou",
        "alicloud_infra_zone_id": "cn-hangzhou-h",
        "alicloud_infra_ecs_password": "Tls-ecs-2026Q",
        "alicloud_infra_rds_password": "Tls-rds-2026Q",
        "alicloud_infra_vpc_cidr": "10.223.0.0/16",
        "alicloud_infra_vswitch_cidr": "10.223.7.0/24",
        "alicloud_infra_ssh_allowed_cidrs": [USERS],
        "alicloud_infra_mlflow_allowed_cidrs": [USERS],
        # .invalid never resolves (RFC 6761): the deploy must not connect to it, only name-check against it.
        "mlflow_deploy_server_name": SERVER_NAME,
        "mlflow_deploy_secrets_dir": str(secrets_dir),
        "mlflow_deploy_approve_cost": True,
    }
    try:
        first = run_playbook("playbooks/deploy.yml", extra_vars=deployment, env=env, inventory=INVENTORY,
                             timeout=2400)
        assert first.rc == 0, _tail(first)
        assert "MLflow is running: https://%s:443" % SERVER_NAME in first.stdout, _tail(first)
        instances = emulator.resources()["instances"]
        assert len(instances) == 1
        address = instances[0]["public_ip"]
        url = "https://%s:443" % address
        cert_path = secrets_dir / "mlflow-server.crt"
        assert "export MLFLOW_TRACKING_SERVER_CERT_PATH=%s" % cert_path in first.stdout, _tail(first)
        assert cert_path.read_text(encoding="utf-8").startswith("-----BEGIN CERTIFICATE-----")
        # The self-signed certificate names the server name and the address: a client may use either.
        context = ssl.create_default_context(cafile=str(cert_path))
        with socket.create_connection((address, 443), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
                names = [value for _kind, value in tls.getpeercert()["subjectAltName"]]
        assert SERVER_NAME in names and address in names, names

        group = emulator.resources()["security_groups"][0]
        rules = sorted((rule["PortRange"], rule["SourceCidrIp"])
                       for rule in group["permissions"] if rule["Direction"] == "ingress")
        assert rules == [("22/22", USERS), ("443/443", USERS)]

        # MLflow's own port is bound to the host's loopback: nothing answers on it from here.
        with pytest.raises(OSError):
            socket.create_connection((address, 5000), timeout=5).close()

        admin_password = (secrets_dir / "admin-password").read_text(encoding="utf-8").strip()
        monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(cert_path))
        exercise_tracking_server(url, "admin", admin_password, tmp_path)

        second = run_playbook("playbooks/deploy.yml", extra_vars=deployment, env=env, inventory=INVENTORY,
                              timeout=1800)
        assert second.rc == 0, _tail(second)
        assert second.recap and all(stats.get("changed", 0) == 0 for stats in second.recap.values()), _tail(second)
        refused = [entry["action"] for entry in emulator.requests() if entry["code"] == "Forbidden.RAM"]
        assert refused == [], refused
    finally:
        destroy = run_playbook("playbooks/destroy.yml", extra_vars=deployment, env=env, inventory=INVENTORY,
                               timeout=1200)
    assert destroy.rc == 0, _tail(destroy)
    assert not {kind: items for kind, items in emulator.resources().items() if items}
