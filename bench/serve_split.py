"""Run MLflow behind a split front end, as one process tree: a measured alternative the role does not deploy.

nginx listens on --port. The tracking and registry REST API (/api/2.0/mlflow/, /ajax-api/2.0/mlflow/) goes to
gunicorn serving MLflow's Flask app; everything else (UI, artifacts, traces, jobs, gateway, server-info) goes to
uvicorn serving MLflow's FastAPI app. A 404 from gunicorn is retried on uvicorn, so a REST route that only the
FastAPI app knows is still served. Both servers are started by ``mlflow server`` itself with the same store
arguments. docs/design/2026-performance-history.md has what it buys and why the role does not use it.

Used by bench/bench_server_throughput.py; stopping this process's session stops everything.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

NGINX_CONF = """\
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
user root;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/nginx-body;
    proxy_temp_path {workdir}/nginx-proxy;
    fastcgi_temp_path {workdir}/nginx-fastcgi;
    uwsgi_temp_path {workdir}/nginx-uwsgi;
    scgi_temp_path {workdir}/nginx-scgi;
{site}
}}
"""


def render_site(port: int, rest_port: int, app_port: int) -> str:
    return f"""\
    upstream mlflow_app {{ server 127.0.0.1:{app_port}; keepalive 16; }}
    upstream mlflow_rest {{ server 127.0.0.1:{rest_port}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_read_timeout 600s;
        proxy_send_timeout 600s;
        location ~ ^/(ajax-)?api/2\\.0/mlflow/ {{
            proxy_pass http://mlflow_rest;
            proxy_intercept_errors on;
            error_page 404 = @mlflow_app;
        }}
        location / {{
            proxy_pass http://mlflow_app;
            proxy_request_buffering off;
            proxy_buffering off;
        }}
        location @mlflow_app {{
            proxy_pass http://mlflow_app;
        }}
    }}"""


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--rest-port", type=int, required=True)
    ap.add_argument("--app-port", type=int, required=True)
    ap.add_argument("--rest-workers", type=int, default=2)
    ap.add_argument("--app-workers", type=int, default=1)
    ap.add_argument("--gunicorn-opts", default="")
    ap.add_argument("--uvicorn-opts", default="")
    ap.add_argument("--launcher", default="")
    ap.add_argument("server_args", nargs=argparse.REMAINDER, help="-- then mlflow server store arguments")
    args = ap.parse_args()
    work = Path(args.workdir)
    for sub in ("nginx-body", "nginx-proxy", "nginx-fastcgi", "nginx-uwsgi", "nginx-scgi"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    store = [a for a in args.server_args if a != "--"]
    mlflow = str(Path(args.python).parent / "mlflow")
    app_cmd = ([args.python, args.launcher] if args.launcher else [mlflow, "server"]) + store + [
        "--host", "127.0.0.1", "--port", str(args.app_port), "--workers", str(args.app_workers),
        *(["--uvicorn-opts", args.uvicorn_opts] if args.uvicorn_opts else [])]
    rest_cmd = [mlflow, "server", *store, "--host", "127.0.0.1", "--port", str(args.rest_port),
                "--workers", str(args.rest_workers), "--gunicorn-opts", args.gunicorn_opts]
    (work / "nginx.conf").write_text(NGINX_CONF.format(workdir=work, site=render_site(args.port, args.rest_port,
                                                                                      args.app_port)))
    procs = [subprocess.Popen(app_cmd), subprocess.Popen(rest_cmd)]
    deadline = time.time() + 120
    while not all(_listening(p) for p in (args.rest_port, args.app_port)):
        if time.time() > deadline or any(p.poll() is not None for p in procs):
            print("serve_split: a server did not come up", file=sys.stderr)
            for p in procs:
                p.kill()
            return 1
        time.sleep(0.1)
    procs.append(subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-g", "daemon off;"]))

    def stop(_signum, _frame):
        for p in procs:
            p.terminate()

    signal.signal(signal.SIGTERM, stop)
    while all(p.poll() is None for p in procs):
        time.sleep(0.5)
    stop(None, None)
    return 1


if __name__ == "__main__":
    sys.exit(main())
