"""The deployed default (basic auth on) verifies a password at most once per worker while its credential-cache entry
lives, and a password changed through MLflow's API is refused at once on every worker.

Runs against the shared local-cloud deployment (tests/local_cloud.py): the role's real rendered unit, ini and
EnvironmentFile, its launcher, several uvicorn workers. Counting verifications needs test-only instrumentation that
the deployed server does not have: for the duration of the test a `.pth` file in the server's virtualenv wraps
werkzeug's `check_password_hash` (the scrypt verification MLflow's user store calls) so that each call writes one line
with its process id to the journal. The test removes it and restarts the service afterwards.
"""
import base64
import http.client
import json
import re
import secrets
import ssl
import time
import urllib.parse

import pytest

from local_cloud import local_deployment  # noqa: F401  pylint: disable=unused-import

pytestmark = [pytest.mark.docker, pytest.mark.slow]

VENV_PYTHON = "/opt/mlflow/venv/bin/python"
PROBE_MODULE = "_mlflow_verify_probe"
PROBE_MARK = "MLFLOW-VERIFY-PROBE"
PROBE_SOURCE = f'''"""Test-only: one journal line per password verification (installed by test_auth_cache_local_cloud.py)."""
import os
import sys

import werkzeug.security as _security

_original = _security.check_password_hash


def check_password_hash(pwhash, password):
    print("{PROBE_MARK} pid=%d" % os.getpid(), file=sys.stderr, flush=True)
    return _original(pwhash, password)


_security.check_password_hash = check_password_hash
'''
# Requests in the burst, each on a new connection so the kernel spreads them over the workers.
BURST = 60
# Requests with the old password after the change: every one must be refused, whichever worker takes it.
AFTER_CHANGE = 40
RESTART_SECONDS = 300


def _request(deployment, method, path, username, password, body=None):
    """One request on a new connection; returns (status, parsed JSON or text)."""
    parts = urllib.parse.urlsplit(deployment.url)
    if parts.scheme == "https":
        # TLS, the deploy's default: trust exactly the certificate the deploy fetched, as a client does.
        context = ssl.create_default_context(cafile=deployment.cert_path)
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=60, context=context)
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    headers = {"Authorization": "Basic " + token}
    payload = None
    if body is not None:
        payload = json.dumps(body)
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
    finally:
        connection.close()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


# Run on the host: COUNT GETs straight to MLflow's own port, each on a new connection, so the kernel hands them to
# whichever worker accepts. Through the TLS front end nginx would reuse its keep-alive upstream connections and the
# requests would all land on one or two workers. The credentials come on stdin, never in argv.
_DIRECT_REQUESTS = """
import base64, http.client, json, sys
port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
token = base64.b64encode(sys.stdin.readline().rstrip("\\n").encode()).decode()
statuses = []
for _ in range(count):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path, headers={"Authorization": "Basic " + token})
    response = connection.getresponse()
    response.read()
    statuses.append(response.status)
    connection.close()
print(json.dumps(statuses))
"""


def _direct_statuses(deployment, port, path, username, password, count):
    """Statuses of COUNT requests made on the host to MLflow's own port, each on a new connection."""
    out = deployment.host(VENV_PYTHON, "-c", _DIRECT_REQUESTS, str(port), path, str(count),
                          stdin=f"{username}:{password}\n").stdout
    return json.loads(out.strip().splitlines()[-1])


def _journal_cursor(deployment):
    out = deployment.host("journalctl", "-u", "mlflow", "-n", "0", "--show-cursor", "--no-pager").stdout
    match = re.search(r"-- cursor: (\S+)", out)
    assert match, out
    return match.group(1)


def _verifications_since(deployment, cursor):
    """Process id -> number of password verifications logged after the journal cursor."""
    # The journal may lag the process's stderr by a moment.
    time.sleep(2)
    out = deployment.host("journalctl", "-u", "mlflow", "--after-cursor", cursor, "-o", "cat", "--no-pager").stdout
    counts = {}
    for pid in re.findall(PROBE_MARK + r" pid=(\d+)", out):
        counts[pid] = counts.get(pid, 0) + 1
    return counts


def _restart(deployment):
    deployment.host("systemctl", "restart", "mlflow")
    assert deployment.wait_healthy(timeout=RESTART_SECONDS) is not None, deployment.host(
        "journalctl", "-u", "mlflow", "-n", "60", "--no-pager", check=False).stdout


@pytest.fixture()
def probed_server(local_deployment):  # pylint: disable=redefined-outer-name
    """The deployed server restarted with the verification probe in its venv; afterwards restarted without it."""
    deployment = local_deployment
    site = deployment.host(VENV_PYTHON, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    module_path, pth_path = f"{site}/{PROBE_MODULE}.py", f"{site}/zz_mlflow_verify_probe.pth"
    deployment.host("sh", "-c", f"cat > {module_path} && chmod 0644 {module_path}", stdin=PROBE_SOURCE)
    deployment.host("sh", "-c", f"cat > {pth_path} && chmod 0644 {pth_path}", stdin=f"import {PROBE_MODULE}\n")
    try:
        _restart(deployment)
        yield deployment
    finally:
        deployment.host("rm", "-f", module_path, pth_path, check=False)
        _restart(deployment)


def test_deploy_prints_the_authenticated_round_trip_latency(local_deployment):  # pylint: disable=redefined-outer-name
    match = re.search(r"Authenticated round trip from this controller: ([0-9.]+) ms\s+median \((\d+) requests, max\s+"
                      r"([0-9.]+) ms\); GET /health\s+([0-9.]+) ms", local_deployment.run.stdout)
    assert match, local_deployment.tail()
    median, requests, maximum, _health = match.groups()
    assert int(requests) == 10 and 0 < float(median) <= float(maximum)
    print(match.group(0))


def test_burst_verifies_once_per_worker_and_a_changed_password_is_refused_at_once(probed_server):
    deployment = probed_server
    unit = deployment.host("systemctl", "cat", "mlflow").stdout
    workers = int(re.search(r"--workers (\d+)", unit).group(1))
    port = int(re.search(r"--port (\d+)", unit).group(1))
    assert workers >= 2, "the deployment must run several workers for the cross-worker half of this test"
    ini = deployment.host("cat", "/etc/mlflow/basic_auth.ini").stdout
    assert re.search(r"^auth_cache_ttl_seconds = [1-9][0-9]*$", ini, re.M), ini

    username = "cache-probe-" + secrets.token_hex(4)
    old_password, new_password = "Old-" + secrets.token_hex(8), "New-" + secrets.token_hex(8)
    status, body = _request(deployment, "POST", "/api/2.0/mlflow/users/create", "admin", deployment.admin_password,
                            {"username": username, "password": old_password})
    assert status == 200, body
    path = "/api/2.0/mlflow/experiments/search?max_results=1"
    try:
        # The burst: the user's first request on each worker verifies, every later one is a cache hit.
        cursor = _journal_cursor(deployment)
        statuses = _direct_statuses(deployment, port, path, username, old_password, BURST)
        assert statuses == [200] * BURST
        verified = _verifications_since(deployment, cursor)
        assert verified, "the probe saw no verification: it is not in the server"
        assert all(count == 1 for count in verified.values()), verified
        assert len(verified) <= workers, verified
        # Every worker that verified now caches the old password; the change must reach them all.
        assert len(verified) >= 2, f"the burst reached one worker only ({verified}): nothing to show across workers"

        status, body = _request(deployment, "PATCH", "/api/2.0/mlflow/users/update-password", "admin",
                                deployment.admin_password, {"username": username, "password": new_password})
        assert status == 200, body
        refused = _direct_statuses(deployment, port, path, username, old_password, AFTER_CHANGE)
        assert refused == [401] * AFTER_CHANGE, refused
        assert _direct_statuses(deployment, port, path, username, new_password, 1) == [200]
        # And through the front end users reach (TLS by default): the old password refused, the new one served.
        assert _request(deployment, "GET", path, username, old_password)[0] == 401
        assert _request(deployment, "GET", path, username, new_password)[0] == 200
    finally:
        _request(deployment, "DELETE", "/api/2.0/mlflow/users/delete", "admin", deployment.admin_password,
                 {"username": username})
