"""The mlflow_server role lists the server's own origins in --cors-allowed-origins.

MLflow refuses any POST whose Origin is neither localhost nor listed, so without them its web UI, opened by the
server's IP or name, gets 403 on the run search (found by the browser test in test_tls_local_cloud.py). Runs only the
role's sizing tasks on localhost (facts gathered read-only); no Docker needed.
"""
import json
import os
import subprocess
import sys

import pytest

from conftest import base_env

PLAYBOOK = """
- name: Derive the role's sizing facts
  hosts: localhost
  connection: local
  gather_facts: true
  tasks:
    - name: Run the role's sizing tasks
      ansible.builtin.include_role:
        name: computenest.mlflow.mlflow_server
        tasks_from: sizing.yml
    - name: Show the allowed origins
      ansible.builtin.debug:
        msg: "ORIGINS={{ __mlflow_server_cors_allowed_origins | to_json }}"
"""


def allowed_origins(tmp_path, variables):
    playbook = tmp_path / "origins.yml"
    playbook.write_text(PLAYBOOK)
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(dict(variables, ansible_python_interpreter=sys.executable,
                                     mlflow_server_db_password="unused-Pa55")))
    os.chmod(extra, 0o600)
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", str(playbook),
         "-e", "@" + str(extra)],
        capture_output=True, text=True, env=base_env(), cwd=str(tmp_path), timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if "ORIGINS=" in line)
    return json.loads(json.loads("{%s}" % line.strip().rstrip(","))["msg"].partition("=")[2])


@pytest.mark.parametrize("variables, own", [
    ({"mlflow_server_tls_enabled": True}, ["https://203.0.113.10", "https://mlflow.example.com",
                                           "https://*.corp.example", "https://127.0.0.1"]),
    ({"mlflow_server_tls_enabled": "true", "mlflow_server_tls_port": "8443"},
     ["https://203.0.113.10:8443", "https://mlflow.example.com:8443"]),
    ({"mlflow_server_tls_enabled": False}, ["http://203.0.113.10:5000", "http://mlflow.example.com:5000"]),
    ({"mlflow_server_tls_enabled": "false", "mlflow_server_port": 80}, ["http://203.0.113.10"]),
], ids=["tls-443", "tls-8443", "plain-5000", "plain-80"])
def test_own_origins_are_allowed(tmp_path, variables, own):
    origins = allowed_origins(tmp_path, dict(variables, mlflow_server_allowed_hosts=[
        "mlflow.example.com", "*.corp.example", "203.0.113.10"],
        mlflow_server_cors_allowed_origins=["https://notebooks.example.org"]))
    # The user's own list first, then the server's origins; never an origin with a doubled port.
    assert origins[0] == "https://notebooks.example.org"
    for origin in own:
        assert origin in origins, origins
    assert not [origin for origin in origins if origin.count(":") > 2 or origin.endswith(":")], origins
    other_scheme = "http://" if origins[1].startswith("https://") else "https://"
    assert not [origin for origin in origins[1:] if origin.startswith(other_scheme)], origins
