"""Verify the tls scenario: nginx terminates TLS before an MLflow that listens on loopback only.

Runs twice: after converge (the role's self-signed certificate) and after side_effect (a user certificate chain
issued by a test CA; /root/molecule-test-ca.crt on the container marks that stage). Every check runs in both stages
against the certificate the stage serves; the client trusts exactly that certificate (or the test root CA), never
the system store.
"""
import hashlib
import json
import os
import re
import socket
import ssl
import sys
import uuid

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from mlflow_client_checks import exercise_tracking_server, tracking_session  # noqa: E402  pylint: disable=wrong-import-position

TLS_DIR = "/etc/mlflow/tls"
TEST_CA = "/root/molecule-test-ca.crt"
ARTIFACT_BYTES = 50 * 1024 * 1024


@pytest.fixture(scope="module")
def role_vars(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def address(host):
    address = host.check_output("ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1").strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", address), address
    return address


@pytest.fixture(scope="module")
def user_certificate_stage(host):
    return host.file(TEST_CA).exists


@pytest.fixture(scope="module")
def trust_file(host, user_certificate_stage, tmp_path_factory):
    """What a client is told to trust (MLFLOW_TRACKING_SERVER_CERT_PATH): the test root CA, or the self-signed cert."""
    source = TEST_CA if user_certificate_stage else f"{TLS_DIR}/self-signed.crt"
    path = tmp_path_factory.mktemp("trust") / "trusted.pem"
    path.write_text(host.file(source).content_string)
    return str(path)


@pytest.fixture(scope="module")
def base_url(address, role_vars):
    return f"https://{address}:{int(role_vars['mlflow_server_tls_port'])}"


@pytest.fixture(scope="module")
def admin(role_vars):
    return ("admin", role_vars["mlflow_server_auth_admin_password"])


def test_nginx_active_enabled_and_listening(host, role_vars):
    nginx = host.service("nginx")
    assert nginx.is_running and nginx.is_enabled
    assert host.socket(f"tcp://0.0.0.0:{role_vars['mlflow_server_tls_port']}").is_listening
    assert host.socket(f"tcp://0.0.0.0:{role_vars['mlflow_server_tls_redirect_port']}").is_listening
    # The checked-in site is the one nginx runs with, and the full configuration is valid.
    host.check_output("nginx -t -q")
    site = host.file("/etc/nginx/conf.d/mlflow.conf").content_string
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in site
    for directive in ("proxy_request_buffering off;", "proxy_buffering off;", "client_max_body_size 0;",
                      "proxy_read_timeout 3600s;", "keepalive 16;"):
        assert directive in site, directive
    assert not host.file("/etc/nginx/sites-enabled/default").exists


def test_mlflow_listens_on_loopback_only(host, address, role_vars):
    port = int(role_vars.get("mlflow_server_port", 5000))
    listeners = host.check_output("ss -Hltn 'sport = :%s'", str(port)).splitlines()
    local_addresses = {line.split()[3].rsplit(":", 1)[0] for line in listeners}
    assert local_addresses == {"127.0.0.1"}, listeners
    assert "--host \"127.0.0.1\"" in host.file("/etc/systemd/system/mlflow.service").content_string
    # From the controller the clear-text port is closed.
    with pytest.raises(OSError):
        socket.create_connection((address, port), timeout=5).close()


def test_key_is_root_only(host, user_certificate_stage):
    assert (host.file(TLS_DIR).user, host.file(TLS_DIR).mode) == ("root", 0o700)
    key = host.file(f"{TLS_DIR}/{'server' if user_certificate_stage else 'self-signed'}.key")
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)


def handshake(address, port, version, trust_file):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(trust_file)
    context.check_hostname = False
    # Let this client offer the old protocols at all (OpenSSL 3 refuses them at its default security level), so a
    # refusal can only come from the server.
    context.set_ciphers("ALL:@SECLEVEL=0")
    context.minimum_version = version
    context.maximum_version = version
    with socket.create_connection((address, port), timeout=10) as raw:
        with context.wrap_socket(raw) as tls:
            return tls.version()


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls_before_1_2_is_refused(address, role_vars, trust_file, version):
    with pytest.raises(ssl.SSLError):
        handshake(address, int(role_vars["mlflow_server_tls_port"]), version, trust_file)


@pytest.mark.parametrize("version, name", [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")])
def test_tls_1_2_and_1_3_are_accepted(address, role_vars, trust_file, version, name):
    assert handshake(address, int(role_vars["mlflow_server_tls_port"]), version, trust_file) == name


def test_certificate_is_verified_not_just_encrypted(base_url, trust_file):
    """A client that trusts only the system store refuses the server; trusting the given file it accepts it."""
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{base_url}/health", verify=True, timeout=10)
    response = requests.get(f"{base_url}/health", verify=trust_file, timeout=10)
    assert response.status_code == 200 and response.text.strip() == "OK"
    assert response.headers.get("Strict-Transport-Security") == "max-age=300"
    assert "nginx/" not in response.headers.get("Server", "")


def test_served_certificate_matches_the_stage(host, address, role_vars, user_certificate_stage, trust_file):
    context = ssl.create_default_context(cafile=trust_file)
    with socket.create_connection((address, int(role_vars["mlflow_server_tls_port"])), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=address) as tls:
            served = tls.getpeercert()
    issuer = dict(item[0] for item in served["issuer"])
    if user_certificate_stage:
        assert issuer["commonName"] == "Test Intermediate CA"
        assert ("DNS", "mlflow.test") in served["subjectAltName"]
        evidence = json.loads(host.file("/root/tls-evidence.json").content_string)
        # The self-signed pair is kept as it was, not regenerated or overwritten by the user's certificate.
        assert evidence["self_signed_before"] == evidence["self_signed_after"]
        assert evidence["self_signed_before"].startswith("sha256 Fingerprint=")
    else:
        assert issuer["organizationName"] == "MLflow tracking server"
        assert ("IP Address", address) in served["subjectAltName"]


def test_plain_http_only_redirects_to_https(address, role_vars):
    response = requests.get(f"http://{address}:{role_vars['mlflow_server_tls_redirect_port']}/health?x=1",
                            allow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{address}/health?x=1"


def test_auth_through_the_proxy(base_url, trust_file, admin):
    url = f"{base_url}/api/2.0/mlflow/experiments/search"
    assert requests.post(url, json={"max_results": 1}, verify=trust_file, timeout=10).status_code == 401
    wrong = requests.post(url, json={"max_results": 1}, auth=("admin", "Wrong-Passw0rd!"), verify=trust_file,
                          timeout=10)
    assert wrong.status_code == 401
    right = requests.post(url, json={"max_results": 1}, auth=admin, verify=trust_file, timeout=10)
    assert right.status_code == 200, right.text
    # MLflow's allowed hosts still apply behind the proxy: only the Host header differs here.
    refused = requests.post(url, json={"max_results": 1}, auth=admin, verify=trust_file, timeout=10,
                            headers={"Host": "evil.example"})
    assert refused.status_code == 403 and "Invalid Host header" in refused.text


@pytest.fixture()
def trusting_client(monkeypatch, trust_file):
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", trust_file)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")


def test_real_client_round_trip_over_https(trusting_client, base_url, admin, tmp_path):
    created = exercise_tracking_server(base_url, admin[0], admin[1], tmp_path)
    assert created["model_version"] == "1"


def test_large_artifact_streams_through_nginx_byte_for_byte(trusting_client, base_url, admin, tmp_path, host):
    payload = tmp_path / "weights.bin"
    digest = hashlib.sha256()
    with open(payload, "wb") as handle:
        for _megabyte in range(ARTIFACT_BYTES // (1024 * 1024)):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            handle.write(chunk)
    with tracking_session(base_url, *admin) as mlflow:
        experiment_id = mlflow.create_experiment("tls-large-" + uuid.uuid4().hex[:8])
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.log_artifact(str(payload), artifact_path="big")
        downloaded = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="big/weights.bin",
                                                         dst_path=str(tmp_path / "download"))
    assert os.path.getsize(downloaded) == ARTIFACT_BYTES
    with open(downloaded, "rb") as handle:
        assert hashlib.file_digest(handle, "sha256").hexdigest() == digest.hexdigest()
    # It was stored on the host through the proxy, whole.
    stored = host.check_output("find /var/lib/mlflow/artifacts -path '*%s*' -name weights.bin -printf '%%s'",
                               run.info.run_id)
    assert int(stored) == ARTIFACT_BYTES
