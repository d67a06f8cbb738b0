"""The mlflow_server role refuses bad variables before it changes anything, naming the variable and the rule.

Runs only the role's validation (`--tags mlflow_server_validate`, plus the argument-spec check ansible-core always
runs) against localhost in check mode, so nothing on this machine is touched. No Docker needed.
"""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

GOOD = {
    "mlflow_server_db_password": "Db:Pa$s'w0rd%`@/",
    "mlflow_server_auth_admin_password": "Adm1n$ecret'%:Q`",
}
PLAYBOOK = """
- name: Validate the mlflow_server variables
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: computenest.mlflow.mlflow_server
"""


def run_validation(tmp_path, variables):
    playbook = tmp_path / "validate.yml"
    playbook.write_text(PLAYBOOK)
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(dict(variables, ansible_python_interpreter=sys.executable)))
    os.chmod(extra, 0o600)
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
               ANSIBLE_ROLES_PATH=os.path.join(ROOT, "roles"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "--check",
         "--tags", "mlflow_server_validate", str(playbook), "-e", "@" + str(extra)],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_good_variables_pass(tmp_path):
    rc, out = run_validation(tmp_path, GOOD)
    assert rc == 0, out
    assert "Check the database password against the seed's password rule" in out
    for secret in GOOD.values():
        assert secret not in out


@pytest.mark.parametrize("override, expected", [
    ({"mlflow_server_port": 70000}, "mlflow_server_port and mlflow_server_db_port must be 1 to 65535"),
    ({"mlflow_server_port": 0}, "mlflow_server_port and mlflow_server_db_port must be 1 to 65535"),
    ({"mlflow_server_port": "http"}, "mlflow_server_port"),
    ({"mlflow_server_artifacts_dir": "data/artifacts"}, "mlflow_server_artifacts_dir must be an absolute path"),
    ({"mlflow_server_artifacts_dir": "/etc"}, "mlflow_server_artifacts_dir must be an absolute path"),
    ({"mlflow_server_version": "3.17"}, "must be exact pins X.Y.Z"),
    ({"mlflow_server_version": "latest"}, "must be exact pins X.Y.Z"),
    ({"mlflow_server_version": "3.14.0"}, "MLflow 3.16.1 or newer"),
    ({"mlflow_server_db_name": "ml-flow; DROP"}, "mlflow_server_db_name and mlflow_server_db_user must match"),
    ({"mlflow_server_db_password": "alllowercase"}, "mlflow_server_db_password must be 8 to 30 characters"),
    ({"mlflow_server_db_password": "Sh0rt!"}, "mlflow_server_db_password must be 8 to 30 characters"),
    ({"mlflow_server_db_password": "Abcdefgh1\"quote"}, "mlflow_server_db_password must be 8 to 30 characters"),
    ({"mlflow_server_db_password": "Abcdefgh1!" * 4}, "mlflow_server_db_password must be 8 to 30 characters"),
    ({"mlflow_server_auth_admin_password": "Abcdef12!"}, "mlflow_server_auth_admin_password is required"),
    ({"mlflow_server_db_sslmode": "sometimes"}, "mlflow_server_db_sslmode"),
    ({"mlflow_server_extra_env": {"PGPASSWORD": "x"}}, "mlflow_server_extra_env must use valid variable names"),
    ({"mlflow_server_auth_cache_ttl_seconds": -5}, "mlflow_server_auth_cache_ttl_seconds must be a whole number"),
    ({"mlflow_server_auth_cache_ttl_seconds": 90000}, "mlflow_server_auth_cache_ttl_seconds must be a whole number"),
    ({"mlflow_server_auth_cache_ttl_seconds": "soon"}, "mlflow_server_auth_cache_ttl_seconds"),
])
def test_bad_variables_are_refused_by_name(tmp_path, override, expected):
    rc, out = run_validation(tmp_path, dict(GOOD, **override))
    assert rc != 0, out
    assert expected in out, out
    # The passwords never appear, not even the rejected one.
    for secret in (GOOD["mlflow_server_auth_admin_password"], override.get("mlflow_server_db_password")):
        if secret:
            assert secret not in out


def test_missing_passwords_are_refused(tmp_path):
    rc, out = run_validation(tmp_path, {"mlflow_server_auth_admin_password": GOOD["mlflow_server_auth_admin_password"]})
    assert rc != 0 and "missing required arguments: mlflow_server_db_password" in out, out
    rc, out = run_validation(tmp_path, {"mlflow_server_db_password": GOOD["mlflow_server_db_password"]})
    assert rc != 0 and "mlflow_server_auth_admin_password is required" in out, out
    rc, out = run_validation(tmp_path, {"mlflow_server_db_password": GOOD["mlflow_server_db_password"],
                                        "mlflow_server_auth_enabled": False})
    assert rc == 0, out


TLS_KEY = "-----BEGIN PRIVATE KEY-----\nTlsKeyMaterialThatMustNeverBePrinted0123\n-----END PRIVATE KEY-----\n"
TLS_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("override, expected", [
    ({"mlflow_server_tls_certificate": TLS_CERT}, "mlflow_server_tls_certificate and mlflow_server_tls_private_key go together"),
    ({"mlflow_server_tls_private_key": TLS_KEY}, "mlflow_server_tls_certificate and mlflow_server_tls_private_key go together"),
    ({"mlflow_server_tls_certificate": "not a certificate", "mlflow_server_tls_private_key": TLS_KEY},
     "mlflow_server_tls_certificate and mlflow_server_tls_private_key go together"),
    ({"mlflow_server_tls_port": 5000}, "mlflow_server_tls_port must be 1 to 65535 and differ from mlflow_server_port"),
    ({"mlflow_server_tls_port": 70000}, "mlflow_server_tls_port must be 1 to 65535 and differ from mlflow_server_port"),
    ({"mlflow_server_tls_port": 0}, "mlflow_server_tls_port must be 1 to 65535 and differ from mlflow_server_port"),
    ({"mlflow_server_tls_redirect_port": 443}, "mlflow_server_tls_redirect_port 0 (none) or a port"),
    ({"mlflow_server_tls_redirect_port": 5000}, "mlflow_server_tls_redirect_port 0 (none) or a port"),
    ({"mlflow_server_tls_client_max_body_size": "lots"}, "mlflow_server_tls_client_max_body_size a size"),
    ({"mlflow_server_tls_port": "https"}, "mlflow_server_tls_port"),
])
def test_bad_tls_settings_are_refused_by_name(tmp_path, override, expected):
    rc, out = run_validation(tmp_path, dict(GOOD, mlflow_server_tls_enabled=True, **override))
    assert rc != 0, out
    assert expected in out, out
    assert "TlsKeyMaterialThatMustNeverBePrinted0123" not in out


def test_good_tls_settings_pass_and_keep_the_key_hidden(tmp_path):
    rc, out = run_validation(tmp_path, dict(GOOD, mlflow_server_tls_enabled=True, mlflow_server_tls_redirect_port=80,
                                            mlflow_server_tls_certificate=TLS_CERT,
                                            mlflow_server_tls_private_key=TLS_KEY))
    assert rc == 0, out
    assert "Check the TLS front end's ports and limits" in out
    assert "TlsKeyMaterialThatMustNeverBePrinted0123" not in out
    # Off, the TLS settings are not checked (nothing uses them).
    rc, out = run_validation(tmp_path, dict(GOOD, mlflow_server_tls_enabled=False, mlflow_server_tls_port=5000))
    assert rc == 0, out


# `-e name=value` on the command line (and AWX extra vars typed as text) delivers numbers as strings; the argument
# spec accepts a string of digits for an int, so every later check must judge the value, not trip over its type.
TEXT_NUMBERS = {"mlflow_server_port": "5001", "mlflow_server_db_port": "5432", "mlflow_server_workers": "2",
                "mlflow_server_db_max_connections": "100", "mlflow_server_db_reserved_connections": "10",
                "mlflow_server_db_pool_size": "0", "mlflow_server_db_pool_max_overflow": "-1",
                "mlflow_server_db_pool_recycle": "1800", "mlflow_server_health_timeout": "120",
                "mlflow_server_auth_cache_ttl_seconds": "60"}


def test_numbers_given_as_text_are_judged_as_numbers(tmp_path):
    rc, out = run_validation(tmp_path, dict(GOOD, **TEXT_NUMBERS, mlflow_server_tls_enabled=True,
                                            mlflow_server_tls_port="8443", mlflow_server_tls_redirect_port="80"))
    assert rc == 0, out
    assert "Check the numeric ranges" in out and "Check the TLS front end's ports and limits" in out


@pytest.mark.parametrize("override, expected", [
    ({"mlflow_server_port": "70000"}, "mlflow_server_port and mlflow_server_db_port must be 1 to 65535"),
    ({"mlflow_server_tls_enabled": True, "mlflow_server_port": "5001", "mlflow_server_tls_port": "5001"},
     "mlflow_server_tls_port must be 1 to 65535 and differ from mlflow_server_port"),
    ({"mlflow_server_tls_enabled": True, "mlflow_server_tls_redirect_port": "443"},
     "mlflow_server_tls_redirect_port 0 (none) or a port"),
])
def test_numbers_given_as_text_are_refused_by_rule(tmp_path, override, expected):
    rc, out = run_validation(tmp_path, dict(GOOD, **override))
    assert rc != 0, out
    assert expected in out, out


# Booleans typed as text ("false" from `-e name=false` or an AWX survey) must mean false, not "a non-empty string".
def test_booleans_given_as_text_mean_what_they_say(tmp_path):
    # TLS "false": its settings are not checked, so a TLS port equal to MLflow's passes.
    rc, out = run_validation(tmp_path, dict(GOOD, mlflow_server_tls_enabled="false", mlflow_server_tls_port="5000"))
    assert rc == 0, out
    # TLS "true": they are, and the clash is refused by name.
    rc, out = run_validation(tmp_path, dict(GOOD, mlflow_server_tls_enabled="true", mlflow_server_tls_port="5000"))
    assert rc != 0 and "mlflow_server_tls_port must be 1 to 65535 and differ from mlflow_server_port" in out, out
    # Auth "false": no admin password is required.
    rc, out = run_validation(tmp_path, {"mlflow_server_db_password": GOOD["mlflow_server_db_password"],
                                        "mlflow_server_auth_enabled": "false"})
    assert rc == 0, out
