"""Time authenticated MLflow API round trips from the controller, as a client sees them.

Usage: python mlflow_auth_latency.py URL [CA_FILE] < password   (the admin password on stdin, never in argv)

Sends one warm-up and then REQUESTS authenticated GETs over one keep-alive connection (as the MLflow client does),
and as many unauthenticated GET /health, and prints one JSON object: median and maximum milliseconds of each.
"""
import base64
import http.client
import json
import ssl
import statistics
import sys
import time
import urllib.parse

REQUESTS = 10
API_PATH = "/api/2.0/mlflow/experiments/get-by-name?experiment_name=computenest-deploy-check"


def _connection(url, ca_file):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=ca_file or None)
        return http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=30, context=context)
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)


def _timed(connection, path, headers):
    """Milliseconds per request, after one warm-up request; fails on any status other than 200."""
    samples = []
    for attempt in range(REQUESTS + 1):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path.split('?')[0]} answered {response.status}")
        if attempt:
            samples.append((time.perf_counter() - started) * 1000.0)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


def main():
    url, ca_file = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
    password = sys.stdin.read().strip()
    token = base64.b64encode(("admin:" + password).encode("utf-8")).decode("ascii")
    connection = _connection(url, ca_file)
    try:
        result = {"requests": REQUESTS,
                  "authenticated": _timed(connection, API_PATH, {"Authorization": "Basic " + token}),
                  "health": _timed(connection, "/health", {})}
    finally:
        connection.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
