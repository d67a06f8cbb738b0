"""playbooks/deploy.yml with the TLS front end (the default) and a server DNS name on the local cloud (ECS hosts are
systemd containers, RDS a real PostgreSQL container): the security group opens SSH and 443 only, MLflow's own port is
closed from outside, the deploy's checks reach the address the deploy found and check the certificate for the name
(which resolves nowhere: a check that looked it up would fail), the real MLflow client goes over https trusting the
self-signed certificate deploy.yml fetched, the web UI works in a real browser that trusts that certificate, and a
re-run changes nothing.

One deployment (`tls_deployment`, module scope) serves every test here; it is destroyed when the module ends.
"""
import json
import os
import secrets
import socket
import ssl
from dataclasses import dataclass

import pytest

from conftest import run_playbook
from local_cloud import INVENTORY, ROOT
from mlflow_client_checks import exercise_tracking_server
from mlflow_ui_checks import UiBrowser, browse_ui, fresh_dir, log_ui_data, make_nss_home

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RAM_POLICY = os.path.join(ROOT, "policies", "computenest-mlflow-ram-policy.json")
USERS = "198.18.0.0/15"
# Kept after the run (tests/output/ is not tracked): one screenshot per UI page, to look at when a page fails.
UI_SCREENSHOTS = os.path.join(ROOT, "tests", "output", "ui-browser")
SERVER_NAME = "mlflow.tls-test.invalid"


def _tail(run, lines=150):
    return "\n".join((run.stdout + run.stderr).splitlines()[-lines:])


@dataclass
class TlsDeployment:
    emulator: object
    env: dict
    extra_vars: dict
    first: object
    url: str
    address: str
    cert_path: object
    secrets_dir: object
    admin_password: str


@pytest.fixture(scope="module", name="tls_deployment")
def tls_deployment_fixture(tmp_path_factory):
    """deploy.yml with mlflow_server_tls_enabled set explicitly (basic auth on, as by default); destroyed at the end."""
    from alicloud_emulator.container_backend import ContainerBackend  # pylint: disable=import-outside-toplevel
    from alicloud_emulator.server import Emulator  # pylint: disable=import-outside-toplevel

    # Signed with a key bound to the collection's RAM policy: TLS needs no API call beyond it.
    with open(RAM_POLICY, encoding="utf-8") as handle:
        policy = json.load(handle)
    key, secret = "LTAItls" + secrets.token_hex(6), secrets.token_urlsafe(24)
    emulator = Emulator(access_key_id="LTAI" + secrets.token_hex(8), access_key_secret=secrets.token_urlsafe(24),
                        backend=ContainerBackend(), clock_speed=20, extra_credentials={key: secret},
                        ram_policies={key: policy}).start()
    env = dict(emulator.env(), ALICLOUD_ACCESS_KEY=key, ALICLOUD_SECRET_KEY=secret)
    secrets_dir = tmp_path_factory.mktemp("tls") / "secrets"
    extra_vars = {
        "alicloud_infra_name": "tls-mlflow",
        "alicloud_infra_region": "cn-hangzhou",
        "alicloud_infra_zone_id": "cn-hangzhou-h",
        "alicloud_infra_ecs_password": "Tls-ecs-2026Q",
        "alicloud_infra_rds_password": "Tls-rds-2026Q",
        "alicloud_infra_vpc_cidr": "10.223.0.0/16",
        "alicloud_infra_vswitch_cidr": "10.223.7.0/24",
        "alicloud_infra_ssh_allowed_cidrs": [USERS],
        "alicloud_infra_mlflow_allowed_cidrs": [USERS],
        "mlflow_server_tls_enabled": True,
        # .invalid never resolves (RFC 6761): the deploy must not connect to it, only name-check against it.
        "mlflow_deploy_server_name": SERVER_NAME,
        "mlflow_deploy_secrets_dir": str(secrets_dir),
        "mlflow_deploy_approve_cost": True,
    }
    try:
        first = run_playbook("playbooks/deploy.yml", extra_vars=extra_vars, env=env, inventory=INVENTORY,
                             timeout=2400)
        assert first.rc == 0, _tail(first)
        assert "MLflow is running: https://%s:443" % SERVER_NAME in first.stdout, _tail(first)
        instances = emulator.resources()["instances"]
        assert len(instances) == 1, instances
        address = instances[0]["public_ip"]
        admin_password = (secrets_dir / "admin-password").read_text(encoding="utf-8").strip()
        yield TlsDeployment(emulator, env, extra_vars, first, "https://%s:443" % address, address,
                            secrets_dir / "mlflow-server.crt", secrets_dir, admin_password)
    finally:
        try:
            destroy = run_playbook("playbooks/destroy.yml", extra_vars=extra_vars, env=env, inventory=INVENTORY,
                                   timeout=1200)
            left = {kind: items for kind, items in emulator.resources().items() if items}
        finally:
            emulator.stop()
    assert destroy.rc == 0, _tail(destroy)
    assert not left, left


def test_deploy_with_tls_front_end(tls_deployment, tmp_path, monkeypatch):
    deployment = tls_deployment
    first, cert_path = deployment.first, deployment.cert_path
    assert "export MLFLOW_TRACKING_SERVER_CERT_PATH=%s" % cert_path in first.stdout, _tail(first)
    assert cert_path.read_text(encoding="utf-8").startswith("-----BEGIN CERTIFICATE-----")
    # The self-signed certificate names the server name and the address: a client may use either.
    context = ssl.create_default_context(cafile=str(cert_path))
    with socket.create_connection((deployment.address, 443), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
            names = [value for _kind, value in tls.getpeercert()["subjectAltName"]]
    assert SERVER_NAME in names and deployment.address in names, names

    group = deployment.emulator.resources()["security_groups"][0]
    rules = sorted((rule["PortRange"], rule["SourceCidrIp"])
                   for rule in group["permissions"] if rule["Direction"] == "ingress")
    assert rules == [("22/22", USERS), ("443/443", USERS)]

    # MLflow's own port is bound to the host's loopback: nothing answers on it from here.
    with pytest.raises(OSError):
        socket.create_connection((deployment.address, 5000), timeout=5).close()

    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(cert_path))
    exercise_tracking_server(deployment.url, "admin", deployment.admin_password, tmp_path)

    second = run_playbook("playbooks/deploy.yml", extra_vars=deployment.extra_vars, env=deployment.env,
                          inventory=INVENTORY, timeout=1800)
    assert second.rc == 0, _tail(second)
    assert second.recap and all(stats.get("changed", 0) == 0 for stats in second.recap.values()), _tail(second)
    refused = [entry["action"] for entry in deployment.emulator.requests() if entry["code"] == "Forbidden.RAM"]
    assert refused == [], refused


def test_web_ui_in_browser(tls_deployment, tmp_path, monkeypatch):
    """Debian's headless Chromium, trusting exactly the printed certificate, logged in with the basic-auth admin:
    the experiment list, the experiment's runs, the run's params, its metric chart and artifacts, the model registry
    and the registered model's alias, with no console error, failed static asset or login loop on any page."""
    from playwright.sync_api import Error as PlaywrightError  # pylint: disable=import-outside-toplevel

    deployment = tls_deployment
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(deployment.cert_path))
    names = log_ui_data(deployment.url, "admin", deployment.admin_password, tmp_path)
    screenshots = fresh_dir(UI_SCREENSHOTS)
    print("UI screenshots: %s" % screenshots)

    # Without the certificate imported, the same browser refuses the server: verification is on.
    untrusting = make_nss_home(None, str(tmp_path / "home-untrusting"))
    with UiBrowser(deployment.url, "admin", deployment.admin_password, untrusting,
                   os.path.join(screenshots, "untrusted")) as browser:
        with pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"):
            browser.open("untrusted", "/experiments")

    home = make_nss_home(deployment.cert_path, str(tmp_path / "home"))
    # A wrong password is refused with 401, and the checks see it: a login loop could not pass unnoticed.
    with UiBrowser(deployment.url, "admin", deployment.admin_password + "-wrong", home,
                   os.path.join(screenshots, "refused")) as browser:
        page, problems = browser.open("refused-login", "/experiments")
        page.wait_for_timeout(2000)
        assert problems.unauthorized, problems.summary()
        page.close()

    with UiBrowser(deployment.url, "admin", deployment.admin_password, home, screenshots) as browser:
        browse_ui(browser, names)
    assert len(browser.shots) == 7, browser.shots
