# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""deploy.yml's checks of a new MLflow server, run on the controller.

Connects only to --address, the address the deploy found through the cloud's inventory. --server-name, a free-text
name nobody verified, is used for nothing but the TLS name check (SNI and the certificate's names) and the Host
header; it is never looked up. GET /health goes without credentials; only the tracking round trip (find or create an
experiment, start a run, log a metric, read it back, delete the run) carries the admin's basic-auth header, whose
password is read from stdin (never an argument). Last, it times LATENCY_REQUESTS authenticated API calls and as many
GET /health on one keep-alive connection, as the MLflow client makes them, so a slow server shows on day one.
Prints one JSON object; exits 1 naming the step that failed.
"""
import argparse
import base64
import http.client
import json
import socket
import ssl
import statistics
import sys
import time
import urllib.parse

EXPERIMENT = "computenest-deploy-check"
LATENCY_REQUESTS = 10


class PinnedConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed address whose certificate is checked against another name (SNI and hostname check)."""

    def __init__(self, address, port, server_name, context, timeout):
        super().__init__(address, port, context=context, timeout=timeout)
        self._server_name = server_name
        self._tls_context = context

    def connect(self):
        raw = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._tls_context.wrap_socket(raw, server_hostname=self._server_name)


class CheckFailed(Exception):
    pass


class Server:
    def __init__(self, options, password):
        self.options = options
        self.name = options.server_name or options.address
        default_port = 443 if options.scheme == "https" else 80
        self.host_header = self.name if options.port == default_port else "%s:%d" % (self.name, options.port)
        if ":" in self.name and not self.name.startswith("["):
            self.host_header = "[%s]" % self.name if options.port == default_port else "[%s]:%d" % (self.name, options.port)
        self.context = None
        if options.scheme == "https":
            self.context = ssl.create_default_context(cafile=options.ca_file or None)
            self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.authorization = None
        if password is not None:
            token = base64.b64encode(("%s:%s" % (options.username, password)).encode("utf-8")).decode("ascii")
            self.authorization = "Basic " + token

    def connect(self):
        """A connection to the found address only (the server name checks the certificate, nothing more)."""
        if self.context is not None:
            return PinnedConnection(self.options.address, self.options.port, self.name, self.context,
                                    self.options.timeout)
        return http.client.HTTPConnection(self.options.address, self.options.port, timeout=self.options.timeout)

    def headers(self, authenticated):
        headers = {"Host": self.host_header, "Accept": "application/json"}
        if authenticated and self.authorization:
            headers["Authorization"] = self.authorization
        return headers

    def request(self, method, path, body=None, authenticated=True):
        connection = self.connect()
        headers = self.headers(authenticated)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def call(self, step, method, path, body=None, expect=(200,)):
        try:
            status, text = self.request(method, path, body)
        except (OSError, http.client.HTTPException) as error:
            raise CheckFailed("%s: %s %s failed: %s" % (step, method, path.split("?")[0], error)) from error
        if status not in expect:
            raise CheckFailed("%s: %s %s answered %d: %s" % (step, method, path.split("?")[0], status, text[:300]))
        return status, (json.loads(text) if text.strip() else {})


def wait_healthy(server, timeout):
    """GET /health, without credentials, until it answers 200 OK. A TLS name or trust failure ends it at once."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            status, text = server.request("GET", "/health", authenticated=False)
            if status == 200 and text.strip() == "OK":
                return
            last = "HTTP %d: %s" % (status, text[:200])
        except ssl.SSLCertVerificationError as error:
            raise CheckFailed("/health: the server's certificate does not verify for %s: %s"
                              % (server.name, error.verify_message or error)) from error
        except (OSError, http.client.HTTPException) as error:
            last = str(error)
        if time.monotonic() >= deadline:
            raise CheckFailed("/health: no 200 OK from %s:%d within %d s (last: %s)"
                              % (server.options.address, server.options.port, timeout, last))
        time.sleep(3)


def round_trip(server):
    quoted = urllib.parse.quote(EXPERIMENT)
    status, found = server.call("find the check experiment", "GET",
                                "/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + quoted, expect=(200, 404))
    if status == 404:
        _status, created = server.call("create the check experiment", "POST",
                                       "/api/2.0/mlflow/experiments/create", {"name": EXPERIMENT})
        experiment_id = created["experiment_id"]
    else:
        experiment_id = found["experiment"]["experiment_id"]
    _status, run = server.call("start a run", "POST", "/api/2.0/mlflow/runs/create",
                               {"experiment_id": experiment_id, "run_name": "deploy-check"})
    run_id = run["run"]["info"]["run_id"]
    server.call("log a metric", "POST", "/api/2.0/mlflow/runs/log-metric",
                {"run_id": run_id, "key": "deploy_check", "value": 1.0, "timestamp": int(time.time() * 1000),
                 "step": 0})
    _status, read_back = server.call("read the run back", "GET", "/api/2.0/mlflow/runs/get?run_id=" + urllib.parse.quote(run_id))
    metrics = read_back.get("run", {}).get("data", {}).get("metrics", [])
    if not any(metric.get("key") == "deploy_check" for metric in metrics):
        raise CheckFailed("read the run back: the metric deploy_check was not stored (run %s)" % run_id)
    server.call("delete the check run", "POST", "/api/2.0/mlflow/runs/delete", {"run_id": run_id})
    return experiment_id, run_id


def _timed(connection, server, path, authenticated):
    """Milliseconds per GET on one keep-alive connection, after one warm-up; a status other than 200 fails."""
    samples = []
    for attempt in range(LATENCY_REQUESTS + 1):
        started = time.perf_counter()
        connection.request("GET", path, headers=server.headers(authenticated))
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise CheckFailed("time round trips: GET %s answered %d" % (path.split("?")[0], response.status))
        if attempt:
            samples.append((time.perf_counter() - started) * 1000.0)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


def latency(server):
    """Round trips as a client sees them: the API call with the admin's credentials (none when the server has no
    login), and GET /health without any."""
    path = "/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + urllib.parse.quote(EXPERIMENT)
    connection = server.connect()
    try:
        api = _timed(connection, server, path, authenticated=True)
        health = _timed(connection, server, "/health", authenticated=False)
    except (OSError, http.client.HTTPException) as error:
        raise CheckFailed("time round trips: %s" % error) from error
    finally:
        connection.close()
    return {"requests": LATENCY_REQUESTS, "authenticated": server.authorization is not None, "api": api,
            "health": health}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="the address the deploy found (connect here only)")
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--scheme", choices=["https", "http"], default="https")
    parser.add_argument("--server-name", default="", help="name for SNI, the certificate check and Host only")
    parser.add_argument("--ca-file", default="", help="trust this PEM file; empty: the system's trust store")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--no-auth", action="store_true", help="the server has no login: send no credentials")
    parser.add_argument("--health-timeout", type=int, default=60)
    parser.add_argument("--timeout", type=int, default=30, help="seconds per request")
    options = parser.parse_args(argv)
    password = None
    if not options.no_auth:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            print(json.dumps({"failed": True, "msg": "no password on stdin"}))
            return 1
    server = Server(options, password)
    try:
        wait_healthy(server, options.health_timeout)
        experiment_id, run_id = round_trip(server)
        timings = latency(server)
    except CheckFailed as error:
        print(json.dumps({"failed": True, "msg": str(error)}))
        return 1
    print(json.dumps({"failed": False, "health": "OK", "connected_to": "%s:%d" % (options.address, options.port),
                      "server_name": server.name, "experiment_id": experiment_id, "run_id": run_id,
                      "latency": timings}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
