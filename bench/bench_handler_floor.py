"""MLflow's own cost per request, with no HTTP server at all: the floor under every server configuration.

Calls MLflow's Flask app in-process (``app.test_client()``, the same handlers ``mlflow server`` runs) against a
fresh PostgreSQL database and prints, per operation, the CPU the handler burns and the wall time it takes
(handler CPU plus the database's round trips). No uvicorn, gunicorn, nginx or socket is involved, so no server
configuration can go below these figures; the test client's own overhead (~0.2 ms) makes them slightly high.

From the floor it prints the best rate any server could reach on this host for the throughput bench's two
hardest figures:
- log_batch, one client: one call at a time, so the wall time is the client's CPU plus the floor's wall time.
- log_metric, 8 client processes on the same cores as the server: the cores are shared by the clients, the
  handler and PostgreSQL, so the rate is at most cores / (client CPU + handler CPU + database CPU) per call.
Client CPU per call is measured here too: the real MLflow client, talking HTTP to a peer process that answers
every request at once (200, ``{}``).
PostgreSQL's CPU is read from /proc for every ``postgres`` process around each measured loop.

    .venv/bin/python bench/bench_handler_floor.py                    # starts the bench's PostgreSQL if needed
    .venv/bin/python bench/bench_handler_floor.py --json .cache/bench-results/floor.json

Needs the server virtualenv the throughput bench uses (.cache/bench-venv-uvloop or .cache/bench-venv).
Nothing is asserted about timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _postgres_cpu_seconds() -> float:
    """CPU used so far by every PostgreSQL process on this host (backends, WAL writer, checkpointer)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if name == "postgres":
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _measure_handlers(store_uri: str, artifacts: str, counts: dict) -> dict:
    """MLflow's Flask app, called directly: handler CPU, wall time and PostgreSQL CPU per call."""
    os.environ.update({
        "_MLFLOW_SERVER_FILE_STORE": store_uri,
        "_MLFLOW_SERVER_ARTIFACT_ROOT": "mlflow-artifacts:/",
        "_MLFLOW_SERVER_SERVE_ARTIFACTS": "true",
        "_MLFLOW_SERVER_ARTIFACT_DESTINATION": artifacts,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    })
    # gunicorn imported first, so MLflow sets up its server-side middleware exactly as under a real server.
    import gunicorn  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    from mlflow.server import app  # pylint: disable=import-outside-toplevel

    client = app.test_client()

    def post(path: str, body: dict) -> dict:
        response = client.post(f"/api/2.0/mlflow/{path}", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}: {response.data[:300]!r}")
        return response.get_json()

    experiment = post("experiments/create", {"name": f"floor-{time.time_ns()}"})["experiment_id"]
    run_id = post("runs/create", {"experiment_id": experiment})["run"]["info"]["run_id"]
    stamp = int(time.time() * 1000)
    params = [{"key": f"param_{j}", "value": f"value_{j}"} for j in range(10)]

    def create_run(_i: int) -> None:
        new = post("runs/create", {"experiment_id": experiment})["run"]["info"]["run_id"]
        post("runs/log-batch", {"run_id": new, "params": params})
        post("runs/update", {"run_id": new, "status": "FINISHED", "end_time": stamp})

    operations = {
        "log_metric": lambda i: post("runs/log-metric", {
            "run_id": run_id, "key": "m", "value": float(i), "timestamp": stamp, "step": i}),
        "log_batch": lambda i: post("runs/log-batch", {"run_id": run_id, "metrics": [
            {"key": "b", "value": float(j), "timestamp": stamp, "step": i * 1000 + j} for j in range(1000)]}),
        "create_run": create_run,
    }
    return {name: _timed(operation, counts[name], with_postgres=True) for name, operation in operations.items()}


def _timed(operation, count: int, with_postgres: bool = False) -> dict:
    for i in range(3):  # warm: first-call imports, statement caches, connection pool
        operation(10_000_000 + i)
    pg_cpu = _postgres_cpu_seconds() if with_postgres else 0.0
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(count):
        operation(i)
    row = {"calls": count, "cpu_ms": (time.process_time() - cpu) / count * 1000,
           "wall_ms": (time.perf_counter() - wall) / count * 1000}
    if with_postgres:
        row["postgres_cpu_ms"] = (_postgres_cpu_seconds() - pg_cpu) / count * 1000
    return row


def _serve_stub(port: int) -> None:
    """An HTTP/1.1 keep-alive server that answers every request 200 {} at once: the client's network peer."""
    from http.server import BaseHTTPRequestHandler, HTTPServer  # pylint: disable=import-outside-toplevel

    class Answer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, *_args) -> None:  # pylint: disable=arguments-differ
            pass

    HTTPServer(("127.0.0.1", port), Answer).serve_forever()


def _measure_client(counts: dict) -> dict:
    """The real MLflow client's CPU per call, talking HTTP to a peer that does no work (a separate process)."""
    import socket  # pylint: disable=import-outside-toplevel

    from bench_server_throughput import free_port  # pylint: disable=import-outside-toplevel
    from mlflow.entities import Metric  # pylint: disable=import-outside-toplevel
    from mlflow.tracking import MlflowClient  # pylint: disable=import-outside-toplevel

    port = free_port()
    stub = subprocess.Popen([sys.executable, __file__, "--stub", str(port)])
    try:
        deadline = time.time() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.time() > deadline or stub.poll() is not None:
                raise RuntimeError("the stub HTTP peer did not start")
            time.sleep(0.05)
        client = MlflowClient(tracking_uri=f"http://127.0.0.1:{port}")
        stamp = int(time.time() * 1000)
        run_id = "0" * 32
        return {
            "log_metric": _timed(lambda i: client.log_metric(run_id, "m", float(i), timestamp=stamp, step=i),
                                 counts["log_metric"]),
            "log_batch": _timed(lambda i: client.log_batch(run_id, metrics=[
                Metric("b", float(j), stamp, i * 1000 + j) for j in range(1000)]), counts["log_batch"]),
        }
    finally:
        stub.kill()
        stub.wait()


def _child_main(argv: list[str]) -> int:
    store_uri, artifacts, counts = argv[0], argv[1], json.loads(argv[2])
    result = {"handler": _measure_handlers(store_uri, artifacts, counts), "client": _measure_client(counts)}
    print(json.dumps(result))
    return 0


def main() -> int:
    # pylint: disable=import-outside-toplevel
    from bench_server_throughput import (DEFAULT_SERVER_PYTHON, DEFAULT_UVLOOP_PYTHON, Postgres,
                                         add_postgres_arguments, log)

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    default_python = DEFAULT_UVLOOP_PYTHON if DEFAULT_UVLOOP_PYTHON.exists() else DEFAULT_SERVER_PYTHON
    ap.add_argument("--server-python", default=str(default_python))
    add_postgres_arguments(ap)
    ap.add_argument("--metric-calls", type=int, default=500)
    ap.add_argument("--batch-calls", type=int, default=20)
    ap.add_argument("--run-calls", type=int, default=100)
    ap.add_argument("--plain-8c", type=float, default=108.0, help="plain command, 8-client log_metric calls/s")
    ap.add_argument("--plain-batch", type=float, default=3988.0, help="plain command, log_batch metrics/s")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    if not Path(args.server_python).exists():
        ap.error(f"--server-python {args.server_python} does not exist; see docs/performance.md 'How to measure'")

    pg = Postgres(args)
    pg.ensure_running()
    db = "bench_handler_floor"
    try:
        pg.sql(f"drop database if exists {db} with (force)")
        pg.sql(f"create database {db}")
        artifacts = ROOT / ".cache" / "bench-floor-artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        counts = {"log_metric": args.metric_calls, "log_batch": args.batch_calls, "create_run": args.run_calls}
        log(f"measuring MLflow's handlers in-process with {args.server_python}")
        child = subprocess.run(
            [args.server_python, __file__, "--child", pg.uri(db), str(artifacts), json.dumps(counts)],
            capture_output=True, text=True, check=False, cwd=ROOT)
        if child.returncode != 0:
            sys.stderr.write(child.stderr[-4000:])
            return 1
        measured = json.loads(child.stdout.strip().splitlines()[-1])
    finally:
        pg.sql(f"drop database if exists {db} with (force)")
        pg.stop()
    cores = os.cpu_count() or 1
    floor, client = measured["handler"], measured["client"]
    metric, batch = floor["log_metric"], floor["log_batch"]
    ceiling_8c = cores * 1000.0 / (client["log_metric"]["cpu_ms"] + metric["cpu_ms"] + metric["postgres_cpu_ms"])
    ceiling_batch = 1000.0 * 1000.0 / (client["log_batch"]["cpu_ms"] + batch["wall_ms"])

    print(f"# MLflow handler floor (in-process, no HTTP server), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"host: {cores} CPUs, load average {os.getloadavg()[0]:.2f} (1 min); server python {args.server_python}")
    print()
    print("| operation | calls | handler CPU (ms) | PostgreSQL CPU (ms) | handler wall (ms) | client CPU (ms) |")
    print("|---|---|---|---|---|---|")
    for name, label in (("log_metric", "log_metric"), ("log_batch", "log_batch, 1,000 metrics"),
                        ("create_run", "create run, 10 params, end")):
        row = floor[name]
        client_cpu = f"{client[name]['cpu_ms']:.1f}" if name in client else "-"
        print(f"| {label} | {row['calls']} | {row['cpu_ms']:.1f} | {row['postgres_cpu_ms']:.1f} | "
              f"{row['wall_ms']:.1f} | {client_cpu} |")
    print()
    print("Client CPU: the real MLflow client talking HTTP to a peer process that does no work. All figures are")
    print("per call. Best any server could do on this host:")
    print(f"- log_metric, 8 client processes on these {cores} cores: <= {ceiling_8c:.0f} calls/s "
          f"= {ceiling_8c / args.plain_8c:.2f}x the plain command's {args.plain_8c:.0f}")
    print(f"- log_batch, 1 client: <= {ceiling_batch:.0f} metrics/s "
          f"= {ceiling_batch / args.plain_batch:.2f}x the plain command's {args.plain_batch:.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps({**measured, "cores": cores, "ceiling_8c": ceiling_8c,
                                               "ceiling_batch_mps": ceiling_batch}, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(_child_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "--stub":
        _serve_stub(int(sys.argv[2]))
    sys.exit(main())
