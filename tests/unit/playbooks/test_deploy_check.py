"""playbooks/files/mlflow_deploy_check.py, the controller-side checks of deploy.yml, against a TLS server on loopback
that records every request it gets (the SNI name, the Host header, whether credentials came) and answers the few
MLflow API calls the checks make. The real MLflow behind nginx is checked by the local-cloud deploy tests; here the
question is where the checker sends the admin's credentials."""
import base64
import json
import os
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CHECKER = os.path.join(ROOT, "playbooks", "files", "mlflow_deploy_check.py")
# .invalid never resolves (RFC 6761): a check that looked the name up could not reach the server at all.
NAME = "mlflow.deploy-check.invalid"
PASSWORD = "Check-pass-2026Q"


class RecordingServer:
    def __init__(self, tmp_path):
        self.cert = tmp_path / "server.crt"
        key = tmp_path / "server.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-out", str(self.cert), "-days", "2", "-subj", "/CN=check",
                        "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % NAME], check=True, capture_output=True)
        self.requests = []
        self.sni_names = []
        self.experiments = {}
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(key))
        context.sni_callback = lambda sock, name, ctx: self.sni_names.append(name)
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def _answer(self, status, body):
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                recorder.requests.append({"method": self.command, "path": self.path.split("?")[0],
                                          "host": self.headers.get("Host"),
                                          "authorization": self.headers.get("Authorization")})
                path = self.path.split("?")[0]
                if path == "/health":
                    return self._answer(200, "OK")
                expected = "Basic " + base64.b64encode(("admin:" + PASSWORD).encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._answer(401, {"error_code": "UNAUTHENTICATED"})
                answers = {
                    "/api/2.0/mlflow/experiments/get-by-name": (404, {"error_code": "RESOURCE_DOES_NOT_EXIST"}),
                    "/api/2.0/mlflow/experiments/create": (200, {"experiment_id": "7"}),
                    "/api/2.0/mlflow/runs/create": (200, {"run": {"info": {"run_id": "r1"}}}),
                    "/api/2.0/mlflow/runs/log-metric": (200, {}),
                    "/api/2.0/mlflow/runs/get": (200, {"run": {"data": {"metrics": [{"key": "deploy_check"}]}}}),
                    "/api/2.0/mlflow/runs/delete": (200, {}),
                }
                if path == "/api/2.0/mlflow/experiments/create":
                    recorder.experiments[body.get("name")] = "7"
                if path == "/api/2.0/mlflow/experiments/get-by-name" and recorder.experiments:
                    answers[path] = (200, {"experiment": {"experiment_id": "7"}})
                status, answer = answers.get(path, (404, {"error_code": "ENDPOINT_NOT_FOUND"}))
                if path == "/api/2.0/mlflow/runs/create" and body.get("experiment_id") != "7":
                    status, answer = 400, {"error_code": "INVALID_PARAMETER_VALUE"}
                return self._answer(status, answer)

            do_GET = _handle
            do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    recording = RecordingServer(tmp_path)
    yield recording
    recording.close()


def run_checker(server, *args, password=PASSWORD):
    argv = [sys.executable, CHECKER, "--address", "127.0.0.1", "--port", str(server.port), "--ca-file",
            str(server.cert), "--health-timeout", "5", "--timeout", "5", *args]
    proc = subprocess.run(argv, input=(password + "\n") if password else "", capture_output=True, text=True,
                          timeout=60, check=False)
    assert PASSWORD not in " ".join(argv)
    return proc, json.loads(proc.stdout or "{}")


def test_health_goes_without_credentials_and_only_the_api_calls_carry_them(server):
    proc, result = run_checker(server, "--server-name", NAME)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert result["connected_to"] == "127.0.0.1:%d" % server.port and result["server_name"] == NAME
    paths = [entry["path"] for entry in server.requests]
    assert paths[0] == "/health" and "/api/2.0/mlflow/runs/delete" in paths, paths
    for entry in server.requests:
        if entry["path"] == "/health":
            assert entry["authorization"] is None, entry
        else:
            assert entry["authorization"] and entry["authorization"].startswith("Basic "), entry
    # The name is used for the TLS name check (SNI) and the Host header, on a connection to the given address.
    assert set(server.sni_names) == {NAME}
    assert {entry["host"] for entry in server.requests} == {"%s:%d" % (NAME, server.port)}
    # Last, the round trips it times for the printed latency: one warm-up and ten of each, /health without credentials.
    latency = result["latency"]
    assert latency["requests"] == 10 and latency["authenticated"] is True, latency
    assert 0 < latency["api"]["median_ms"] <= latency["api"]["max_ms"], latency
    assert [entry["path"] for entry in server.requests[-22:]] == (
        ["/api/2.0/mlflow/experiments/get-by-name"] * 11 + ["/health"] * 11), paths


def test_a_name_the_certificate_does_not_carry_stops_before_any_credential_is_sent(server):
    proc, result = run_checker(server, "--server-name", "mlflow.somewhere-else.invalid")
    assert proc.returncode == 1
    assert result["failed"] and "certificate does not verify for mlflow.somewhere-else.invalid" in result["msg"]
    assert [entry for entry in server.requests if entry["authorization"]] == []


def test_without_a_name_the_address_itself_is_checked(server):
    proc, _result = run_checker(server)
    assert proc.returncode == 0, proc.stdout
    assert {entry["host"] for entry in server.requests} == {"127.0.0.1:%d" % server.port}


def test_an_untrusted_certificate_is_refused(server, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    stranger = RecordingServer(other)
    try:
        argv = [sys.executable, CHECKER, "--address", "127.0.0.1", "--port", str(server.port), "--ca-file",
                str(stranger.cert), "--health-timeout", "5"]
        proc = subprocess.run(argv, input=PASSWORD + "\n", capture_output=True, text=True, timeout=60, check=False)
    finally:
        stranger.close()
    assert proc.returncode == 1 and "does not verify" in json.loads(proc.stdout)["msg"]
    assert server.requests == []


def test_no_auth_sends_no_credentials_at_all(server):
    proc, result = run_checker(server, "--no-auth", password=None)
    # The recording server wants the admin's credentials for the API, so the round trip stops at the first call.
    assert proc.returncode == 1 and "answered 401" in result["msg"]
    assert server.requests and all(entry["authorization"] is None for entry in server.requests)


@pytest.mark.slow
def test_the_round_trip_against_a_real_mlflow_server(tmp_path):
    """The API calls the checker makes are the ones MLflow answers: a real `mlflow server` (plain HTTP on loopback,
    SQLite, no basic-auth app: the test venv has no Flask-WTF) is checked twice (the second run finds the experiment
    the first created), and a server name MLflow does not allow is refused by MLflow's Host check."""
    import socket  # pylint: disable=import-outside-toplevel
    import time  # pylint: disable=import-outside-toplevel

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
    server = subprocess.Popen([mlflow, "server", "--backend-store-uri", "sqlite:///%s" % (tmp_path / "mlflow.db"),
                               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        base = [sys.executable, CHECKER, "--address", "127.0.0.1", "--port", str(port), "--scheme", "http",
                "--health-timeout", "240", "--no-auth"]
        runs = [subprocess.run(base, capture_output=True, text=True, timeout=300, check=False) for _attempt in range(2)]
        results = [json.loads(run.stdout) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], results
        assert results[0]["experiment_id"] == results[1]["experiment_id"]
        assert results[0]["run_id"] != results[1]["run_id"]
        assert all(result["latency"]["authenticated"] is False and result["latency"]["requests"] == 10
                   for result in results), results
        refused = subprocess.run(base + ["--server-name", "mlflow.elsewhere.invalid"], capture_output=True, text=True,
                                 timeout=300, check=False)
        assert refused.returncode == 1 and "answered 403" in json.loads(refused.stdout)["msg"]
    finally:
        os.killpg(server.pid, 15)
        deadline = time.monotonic() + 30
        while server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        if server.poll() is None:
            os.killpg(server.pid, 9)
            server.wait(timeout=30)
