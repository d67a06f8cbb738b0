"""MLflow tracking server throughput: the plain command against tuned configurations, side by side.

Run with the project venv (it has the MLflow client used as the load generator):

    .venv/bin/python bench/bench_server_throughput.py                       # full run, ~10 min
    .venv/bin/python bench/bench_server_throughput.py --rounds 1 --duration 2 --configs plain,final
    .venv/bin/python bench/bench_server_throughput.py --list-configs

What it does, all on this host, against one PostgreSQL cluster:

* PostgreSQL: uses ``--pg-uri`` if given, otherwise creates (once) and starts a throwaway cluster
  under ``--pg-dir`` listening on 127.0.0.1:``--pg-port`` only, and stops it at the end.
* A template database is migrated and seeded once (1,000 runs with params, metrics and tags in
  one experiment, through MLflow's own SqlAlchemyStore); every (round, configuration) gets a fresh
  copy (``CREATE DATABASE ... TEMPLATE``), so each server starts from identical data.
* Servers run from ``--server-python``'s virtualenv (mlflow 3.17.2 + psycopg2-binary), each from
  its own empty working directory, on a free loopback port; the whole process tree is stopped after
  its round (SIGTERM, then SIGKILL after a grace period).
* Rounds are interleaved: round 1 runs every configuration, then round 2, ... The table shows the
  median of the rounds with the min-max spread; the raw samples go to ``--json``.

Figures (real MLflow client, ``MlflowClient`` / ``HttpArtifactRepository``, keep-alive sessions):

* startup: seconds from spawn until ``GET /health`` answers 200.
* idle RSS / PSS: sum over the server's whole process tree after it settled (CPU quiet or 30 s);
  RSS double-counts pages shared between forked processes, PSS splits them.
* MLflow 3 routes: FastAPI-only routes answer (not 404/405): OTLP ``POST /v1/traces``,
  ``POST /ajax-api/3.0/jobs/search``, ``GET /gateway/mlflow/v1/models``, plus
  ``GET /api/3.0/mlflow/server-info``.
* 1-client log_metric calls/s; log_batch metrics/s (1,000 metrics per call); runs/s (create_run,
  log_batch with 10 params, set_terminated: 3 requests per run), each for ``--duration`` seconds.
* 8-client log_metric calls/s: 8 separate client processes (multiprocessing, spawn; processes
  rather than threads so the client GIL is not the limit), each on its own run, started together,
  counted over the same ``--duration`` window.
* search_runs latency (median of ``--search-repeats``): all 1,000 runs in one page, and a filtered,
  ordered query (``metrics.loss < 0.5`` order by loss, 100 results).
* 50 MB artifact upload (PUT through the artifact proxy) and download, MB/s; the copy is verified.
* PostgreSQL connections held by the server after the load (pg_stat_activity).
* pgbench single-row INSERT tps with 1 and 8 clients over TCP: the database's own ceiling,
  once per round.

Nothing is asserted about timings: this prints figures. The machine may be shared; look at the
spread and at the load average printed before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import math
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER_PYTHON = ROOT / ".cache" / "bench-venv" / "bin" / "python"
DEFAULT_UVLOOP_PYTHON = ROOT / ".cache" / "bench-venv-uvloop" / "bin" / "python"
DEFAULT_LAUNCHER = ROOT / "roles" / "mlflow_server" / "files" / "mlflow_server_launcher.py"
DEFAULT_PG_DIR = ROOT / ".cache" / "bench-pg"
PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
NO_JOBS = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}

# ---------------------------------------------------------------------------------------------
# Server configurations. Each is a dict:
#   launcher: run through mlflow_server_launcher.py instead of the `mlflow` console script
#   workers:  --workers (None: leave mlflow's default, 4)
#   uvicorn_opts: --uvicorn-opts string
#   proxied:  --default-artifact-root mlflow-artifacts:/ --artifacts-destination DIR
#             (False: --default-artifact-root DIR, the plain command)
#   env:      extra environment for the server
#   db_set:   per-database PostgreSQL settings (ALTER DATABASE ... SET)
#   help:     one line
# ---------------------------------------------------------------------------------------------
POOL_2W = {
    "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE": "8",
    "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW": "4",
    "MLFLOW_SQLALCHEMYSTORE_POOL_RECYCLE": "1800",
}
POOL_FINAL = {
    "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE": "5",
    "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW": "10",
    "MLFLOW_SQLALCHEMYSTORE_POOL_RECYCLE": "1800",
}
CONFIGS: dict[str, dict] = {
    "plain": {
        "help": "the plain command: mlflow server --backend-store-uri ... --default-artifact-root DIR "
        "(uvicorn, 4 workers, job execution on)",
        "launcher": False, "workers": None, "uvicorn_opts": None, "proxied": False, "env": {},
    },
    "plain-nojobs": {
        "help": "plain + MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false",
        "launcher": False, "workers": None, "uvicorn_opts": None, "proxied": True, "env": NO_JOBS,
    },
    "w1": {
        "help": "--workers 1 (single process: TCP_NODELAY set by asyncio), no jobs",
        "launcher": False, "workers": 1, "uvicorn_opts": None, "proxied": True, "env": NO_JOBS,
    },
    "w2": {
        "help": "--workers 2, no jobs (still hit by the TCP_NODELAY bug)",
        "launcher": False, "workers": 2, "uvicorn_opts": None, "proxied": True, "env": NO_JOBS,
    },
    "w2-uvloop": {
        "help": "--workers 2, no launcher, no jobs, venv with uvloop + httptools (uvicorn's --loop/--http "
        "auto pick them; uvloop sets TCP_NODELAY itself)",
        "launcher": False, "workers": 2, "uvicorn_opts": None, "proxied": True, "env": NO_JOBS,
        "uvloop_venv": True,
    },
    "launch-w2": {
        "help": "launcher (listener gets IPPROTO_TCP -> TCP_NODELAY), --workers 2, no jobs",
        "launcher": True, "workers": 2, "uvicorn_opts": None, "proxied": True, "env": NO_JOBS,
    },
    "launch-w4": {
        "help": "launcher, --workers 4, no jobs",
        "launcher": True, "workers": 4, "uvicorn_opts": None, "proxied": True, "env": NO_JOBS,
    },
    "final-uvloop": {
        "help": "recommended: final, in the venv that also has uvloop + httptools (--uvloop-python)",
        "launcher": True, "workers": 2, "uvicorn_opts": "--timeout-keep-alive 30",
        "proxied": True, "env": {**NO_JOBS, **POOL_FINAL}, "uvloop_venv": True,
    },
    "launch-w2-pool": {
        "help": "launcher, --workers 2, pool 8 + overflow 4, recycle 1800 s, no jobs",
        "launcher": True, "workers": 2, "uvicorn_opts": None, "proxied": True,
        "env": {**NO_JOBS, **POOL_2W},
    },
    "launch-w2-async": {
        "help": "launch-w2 + synchronous_commit=off for the MLflow database (loses the last "
        "~0.6 s of commits on an OS crash: not the default)",
        "launcher": True, "workers": 2, "uvicorn_opts": None, "proxied": True, "env": NO_JOBS,
        "db_set": {"synchronous_commit": "off"},
    },
    "split": {
        "help": "split front end (needs nginx): the REST API to gunicorn (Flask app, 2 sync workers), the rest "
        "to uvicorn (FastAPI app, 1 worker); pools as final, no jobs",
        "launcher": False, "workers": None, "uvicorn_opts": "--timeout-keep-alive 30", "proxied": True,
        "env": {**NO_JOBS, **POOL_FINAL}, "uvloop_venv": True,
        "split": {"rest_workers": 2, "app_workers": 1, "gunicorn_opts": ""},
    },
    "gunicorn-w4": {
        "help": "reference only, drops MLflow 3's FastAPI routes: --gunicorn-opts '' --workers 4 (Flask app), "
        "pools as final, no jobs",
        "launcher": False, "workers": 4, "uvicorn_opts": None, "proxied": True,
        "env": {**NO_JOBS, **POOL_FINAL}, "uvloop_venv": True, "gunicorn_opts": "",
    },
    "final": {
        "help": "launcher, --workers 2 (= CPUs), pool 5 + overflow 10 per engine (from "
        "max_connections 100), recycle 1800 s, --timeout-keep-alive 30, no jobs",
        "launcher": True, "workers": 2,
        "uvicorn_opts": "--timeout-keep-alive 30",
        "proxied": True, "env": {**NO_JOBS, **POOL_FINAL},
    },
}
DEFAULT_CONFIGS = (
    "plain,w2,final,final-uvloop"
    if (Path(__file__).resolve().parent.parent / ".cache" / "bench-venv-uvloop" / "bin" / "python").exists()
    else "plain,w2,final"
)

METRICS = [
    # key, label, unit/format, higher_is_better
    ("startup_s", "startup to /health (s)", "{:.1f}", False),
    ("idle_rss_mb", "idle RSS, process tree (MB)", "{:.0f}", False),
    ("idle_pss_mb", "idle PSS, process tree (MB)", "{:.0f}", False),
    ("nprocs", "processes", "{:.0f}", None),
    ("routes_ok", "MLflow 3 routes answering (of 4)", "{:.0f}", True),
    ("log_metric_1c", "log_metric, 1 client (calls/s)", "{:.1f}", True),
    ("log_metric_p50_ms", "  log_metric latency p50 (ms)", "{:.1f}", False),
    ("log_metric_p90_ms", "  log_metric latency p90 (ms)", "{:.1f}", False),
    ("log_metric_slow_pct", "  log_metric calls > 35 ms (%)", "{:.0f}", None),
    ("srv_cpu_ms_metric", "  server CPU per log_metric (ms)", "{:.1f}", False),
    ("cli_cpu_ms_metric", "  client CPU per log_metric (ms)", "{:.1f}", None),
    ("log_batch_mps", "log_batch, 1,000/call (metrics/s)", "{:.0f}", True),
    ("srv_cpu_ms_batch", "  server CPU per 1,000-metric batch (ms)", "{:.0f}", False),
    ("runs_per_s", "runs created/s (create, 10 params, end)", "{:.1f}", True),
    ("srv_cpu_ms_run", "  server CPU per run (ms)", "{:.1f}", False),
    ("log_metric_8c", "log_metric, 8 client procs (calls/s)", "{:.1f}", True),
    ("srv_cpu_ms_metric_8c", "  server CPU per call, 8 clients (ms)", "{:.1f}", False),
    ("search_1000_ms", "search_runs, 1,000 runs in 1 page (ms)", "{:.0f}", False),
    ("search_filter_ms", "search_runs, filter+order, 100 (ms)", "{:.0f}", False),
    ("art_up_mbps", "artifact upload (MB/s)", "{:.1f}", True),
    ("art_down_mbps", "artifact download (MB/s)", "{:.1f}", True),
    ("db_conns", "PostgreSQL connections held after load", "{:.0f}", None),
]

ROUTES = [
    ("GET", "/api/3.0/mlflow/server-info", None, None),
    ("POST", "/v1/traces", b"", "application/x-protobuf"),
    ("POST", "/ajax-api/3.0/jobs/search", b"{}", "application/json"),
    ("GET", "/gateway/mlflow/v1/models", None, None),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- PostgreSQL


def add_postgres_arguments(ap: argparse.ArgumentParser) -> None:
    """The options Postgres() reads (shared with bench_handler_floor.py)."""
    ap.add_argument("--pg-uri", help="postgresql://USER@HOST:PORT of an existing cluster (else one is started)")
    ap.add_argument("--pg-dir", default=str(DEFAULT_PG_DIR))
    ap.add_argument("--pg-port", type=int, default=55432)
    ap.add_argument("--pg-bin", help="directory of initdb/pg_ctl")
    ap.add_argument("--pg-max-connections", type=int, default=100)


class Postgres:
    """A PostgreSQL cluster reached over TCP; optionally one we created and started."""

    def __init__(self, args):
        self.args = args
        self.started = False
        self.bin = Path(args.pg_bin) if args.pg_bin else (PG_BIN_CANDIDATES[0] if PG_BIN_CANDIDATES else None)
        if args.pg_uri:
            m = re.match(r"postgresql(?:\+\w+)?://([^@/]+)@([^:/]+):(\d+)/?", args.pg_uri)
            if not m:
                raise SystemExit("--pg-uri must look like postgresql://USER@HOST:PORT (trust or PGPASSWORD)")
            self.user, self.host, self.port = m.group(1).split(":")[0], m.group(2), int(m.group(3))
        else:
            self.user, self.host, self.port = "postgres", "127.0.0.1", args.pg_port

    def _as_pg_user(self, cmd: list[str]) -> list[str]:
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            return ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def ensure_running(self) -> None:
        if self.args.pg_uri:
            return
        if self.bin is None:
            raise SystemExit("no PostgreSQL binaries found; pass --pg-bin or --pg-uri")
        pg_dir = Path(self.args.pg_dir)
        data = pg_dir / "data"
        if os.geteuid() == 0:
            pg_dir.mkdir(parents=True, exist_ok=True)
            shutil.chown(pg_dir, "postgres", "postgres")
        if not (data / "PG_VERSION").exists():
            log(f"initdb {data}")
            subprocess.run(
                self._as_pg_user([str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                  "-E", "UTF8"]),
                check=True, stdout=subprocess.DEVNULL,
            )
        if self.ping():
            log(f"PostgreSQL already answering on {self.host}:{self.port}; using it")
            return
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={pg_dir}"
                f" -c max_connections={self.args.pg_max_connections}")
        subprocess.run(
            self._as_pg_user([str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(pg_dir / "log"), "-o", opts,
                              "-w", "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )
        self.started = True
        log(f"started PostgreSQL on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.started:
            subprocess.run(
                self._as_pg_user([str(self.bin / "pg_ctl"), "-D", str(Path(self.args.pg_dir) / "data"), "-m",
                                  "fast", "-w", "stop"]),
                check=False, stdout=subprocess.DEVNULL,
            )
            log("stopped PostgreSQL")

    def ping(self) -> bool:
        r = subprocess.run(["psql", *self.conn_args("postgres"), "-tAc", "select 1"], capture_output=True, text=True,
                           check=False)
        return r.returncode == 0

    def conn_args(self, db: str) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user, "-d", db]

    def sql(self, sql: str, db: str = "postgres") -> str:
        r = subprocess.run(["psql", *self.conn_args(db), "-v", "ON_ERROR_STOP=1", "-tAqc", sql],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {sql}: {r.stderr.strip()}")
        return r.stdout.strip()

    def uri(self, db: str) -> str:
        return f"postgresql+psycopg2://{self.user}@{self.host}:{self.port}/{db}"

    def setting(self, name: str) -> str:
        return self.sql(f"show {name}")

    def pgbench_insert(self, clients: int, seconds: float) -> float:
        db = "bench_pgbench"
        if not self.sql(f"select 1 from pg_database where datname='{db}'"):
            self.sql(f"create database {db}")
        self.sql("create table if not exists ins (id bigserial primary key, v double precision, "
                 "t timestamptz default now())", db)
        self.sql("truncate ins", db)
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
            f.write("INSERT INTO ins (v) VALUES (random());\n")
            script = f.name
        try:
            r = subprocess.run(
                ["pgbench", *self.conn_args(db)[:-2], "-n", "-f", script, "-c", str(clients),
                 "-j", str(min(clients, os.cpu_count() or 1)), "-T", str(max(1, int(seconds))), db],
                capture_output=True, text=True, check=False,
            )
        finally:
            os.unlink(script)
        m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", r.stdout)
        if not m:
            log(f"pgbench failed: {r.stderr.strip()[:300]}")
            return float("nan")
        return float(m.group(1))


SEED_CODE = r"""
import random, sys, time
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
uri, n, art = sys.argv[1], int(sys.argv[2]), sys.argv[3]
store = SqlAlchemyStore(uri, art)
exp = store.create_experiment("search-1000")
rnd = random.Random(42)
t0 = time.time()
for i in range(n):
    run = store.create_run(exp, "seed", int(time.time() * 1000), [], f"run-{i}")
    rid = run.info.run_id
    now = int(time.time() * 1000)
    store.log_batch(
        rid,
        metrics=[Metric(k, rnd.random(), now, s) for k in ("loss", "acc", "lr") for s in range(3)],
        params=[Param(f"p{j}", str(rnd.randint(0, 100))) for j in range(5)],
        tags=[RunTag("team", rnd.choice("abc")), RunTag("stage", "seed")],
    )
    store.update_run_info(rid, RunStatus.FINISHED, now, f"run-{i}")
print(exp, round(time.time() - t0, 1))
"""


def prepare_template(pg: Postgres, args) -> str:
    tmpl = "bench_tmpl"
    marker = f"seed:{args.search_runs}"
    exists = pg.sql(f"select 1 from pg_database where datname='{tmpl}'")
    if exists:
        comment = pg.sql(f"select shobj_description(oid, 'pg_database') from pg_database where datname='{tmpl}'")
        if comment == marker:
            log(f"template database {tmpl} already seeded ({marker})")
            return tmpl
        pg.sql(f"drop database {tmpl} with (force)")
    pg.sql(f"create database {tmpl}")
    log(f"seeding {tmpl}: schema + {args.search_runs} runs (MLflow SqlAlchemyStore) ...")
    with tempfile.TemporaryDirectory() as art:
        r = subprocess.run([args.server_python, "-c", SEED_CODE, pg.uri(tmpl), str(args.search_runs), art],
                           capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=False)
    if r.returncode != 0:
        raise SystemExit(f"seeding failed:\n{r.stderr[-3000:]}")
    log(f"seeded: experiment id, seconds = {r.stdout.strip()}")
    pg.sql(f"comment on database {tmpl} is '{marker}'")
    return tmpl


# ----------------------------------------------------------------------------- process tree


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree_pids(root: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _read_kb(path: str, field: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory(root: int) -> tuple[float, float, int]:
    pids = tree_pids(root)
    rss = sum(_read_kb(f"/proc/{p}/status", "VmRSS:") for p in pids)
    pss = sum(_read_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids)
    return rss / 1024, pss / 1024, len(pids)


def tree_cpu_seconds(root: int) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree_pids(root):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / tick


def session_pids(sid: int) -> list[int]:
    """Processes of session ``sid``: servers are started in their own session, so this also finds
    descendants re-parented to init when their parent exited first (the job runners' consumers)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            out.append(int(d))
    return out


def stop_tree(proc: subprocess.Popen, grace: float = 15.0) -> None:
    pids = tree_pids(proc.pid) + session_pids(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    deadline = time.time() + grace
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    pids = sorted(set(pids) | set(tree_pids(proc.pid)) | set(session_pids(proc.pid)))
    for p in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=5)


# ----------------------------------------------------------------------------- HTTP helpers


def http_status(port: int, method: str, path: str, body=None, ctype=None, timeout=10.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": ctype} if ctype else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except OSError:
        return 0
    finally:
        conn.close()


# ----------------------------------------------------------------------------- load: 8 clients


def _client_worker_init() -> None:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    import mlflow  # noqa: F401  (import once, outside the timed window)
    from mlflow.tracking import MlflowClient  # noqa: F401


def _client_worker(task: tuple[str, str, float, float]) -> int:
    url, run_id, t_start, duration = task
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    client.log_metric(run_id, "warm", 0.0)  # opens the keep-alive connection
    while time.time() < t_start:
        time.sleep(0.005)
    n, t_end = 0, t_start + duration
    while time.time() < t_end:
        client.log_metric(run_id, "m8", float(n), step=n)
        n += 1
    return n


# ----------------------------------------------------------------------------- one server


def build_command(cfg: dict, args, uri: str, port: int, workdir: Path) -> tuple[list[str], dict]:
    py = args.uvloop_python if cfg.get("uvloop_venv") else args.server_python
    if cfg.get("split"):
        store = ["--backend-store-uri", uri, "--default-artifact-root", "mlflow-artifacts:/",
                 "--artifacts-destination", str(workdir / "artifacts")]
        split = cfg["split"]
        cmd = [sys.executable, str(Path(__file__).resolve().parent / "serve_split.py"), "--python", py,
               "--port", str(port), "--rest-port", str(free_port()), "--app-port", str(free_port()),
               "--workdir", str(workdir), "--rest-workers", str(split["rest_workers"]),
               "--app-workers", str(split["app_workers"]), f"--gunicorn-opts={split['gunicorn_opts']}",
               f"--uvicorn-opts={cfg['uvicorn_opts'] or ''}", "--", *store]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update(cfg["env"])
        env["PYTHONUNBUFFERED"] = "1"
        return cmd, env
    if cfg["launcher"]:
        cmd = [py, str(args.launcher)]
    else:
        cmd = [str(Path(py).parent / "mlflow"), "server"]
    cmd += ["--backend-store-uri", uri]
    if cfg["proxied"]:
        cmd += ["--default-artifact-root", "mlflow-artifacts:/", "--artifacts-destination", str(workdir / "artifacts")]
    else:
        cmd += ["--default-artifact-root", str(workdir / "artifacts")]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    if cfg["workers"] is not None:
        cmd += ["--workers", str(cfg["workers"])]
    if cfg["uvicorn_opts"]:
        cmd += ["--uvicorn-opts", cfg["uvicorn_opts"]]
    if cfg.get("gunicorn_opts") is not None:
        cmd += [f"--gunicorn-opts={cfg['gunicorn_opts']}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(cfg["env"])
    env["PYTHONUNBUFFERED"] = "1"
    return cmd, env


def rate(fn, duration: float) -> tuple[int, float]:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < duration:
        fn(n)
        n += 1
    return n, time.perf_counter() - t0


def measure_server(name: str, cfg: dict, args, pg: Postgres, tmpl: str, rnd: int, pool, blob: Path,
                   blob_sha: str) -> dict:
    from mlflow.entities import Metric, Param
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
    from mlflow.tracking import MlflowClient

    db = f"bench_{re.sub(r'[^a-z0-9]', '_', name)}_{rnd}"
    pg.sql(f"drop database if exists {db} with (force)")
    pg.sql(f"create database {db} template {tmpl}")
    for key, value in (cfg.get("db_set") or {}).items():
        pg.sql(f"alter database {db} set {key} = '{value}'")
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=args.workdir))
    port = free_port()
    cmd, env = build_command(cfg, args, pg.uri(db), port, workdir)
    res: dict = {"config": name, "round": rnd}
    logf = open(workdir / "server.log", "wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=logf, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name}: server exited {proc.returncode}; see {workdir / 'server.log'}")
            if http_status(port, "GET", "/health", timeout=2) == 200:
                break
            if time.perf_counter() - t0 > args.startup_timeout:
                raise RuntimeError(f"{name}: no /health after {args.startup_timeout}s")
            time.sleep(0.1)
        res["startup_s"] = time.perf_counter() - t0
        # settle: wait until the tree is quiet (job runners burn CPU at start), bounded
        settle_deadline = time.time() + args.settle_max
        prev = tree_cpu_seconds(proc.pid)
        while time.time() < settle_deadline:
            time.sleep(1.0)
            cur = tree_cpu_seconds(proc.pid)
            if cur - prev < 0.05:
                break
            prev = cur
        res["idle_rss_mb"], res["idle_pss_mb"], res["nprocs"] = tree_memory(proc.pid)
        statuses = [http_status(port, m, p, b, c) for m, p, b, c in ROUTES]
        res["route_status"] = statuses
        res["routes_ok"] = sum(1 for s in statuses if s not in (0, 404, 405))

        url = f"http://127.0.0.1:{port}"
        client = MlflowClient(tracking_uri=url)
        exp_id = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")

        run = client.create_run(exp_id)
        rid = run.info.run_id
        client.log_metric(rid, "warm", 0.0)
        lat: list[float] = []

        def one_metric(i):
            t = time.perf_counter()
            client.log_metric(rid, "m", float(i), step=i)
            lat.append(time.perf_counter() - t)

        c0, p0 = tree_cpu_seconds(proc.pid), time.process_time()
        n, dt = rate(one_metric, args.duration)
        res["log_metric_1c"] = n / dt
        res["srv_cpu_ms_metric"] = (tree_cpu_seconds(proc.pid) - c0) / n * 1000
        res["cli_cpu_ms_metric"] = (time.process_time() - p0) / n * 1000
        lat.sort()
        res["log_metric_p50_ms"] = lat[len(lat) // 2] * 1000
        res["log_metric_p90_ms"] = lat[int(len(lat) * 0.9)] * 1000
        res["log_metric_slow_pct"] = 100.0 * sum(1 for x in lat if x > 0.035) / len(lat)

        batch_run = client.create_run(exp_id).info.run_id
        ts = int(time.time() * 1000)

        def one_batch(i):
            client.log_batch(batch_run, metrics=[Metric("b", float(j), ts, i * 1000 + j) for j in range(1000)])

        c0 = tree_cpu_seconds(proc.pid)
        n, dt = rate(one_batch, args.duration)
        res["log_batch_mps"] = n * 1000 / dt
        res["srv_cpu_ms_batch"] = (tree_cpu_seconds(proc.pid) - c0) / n * 1000

        params = [Param(f"param_{j}", f"value_{j}") for j in range(10)]

        def one_run(i):
            r = client.create_run(exp_id, run_name=f"r{i}")
            client.log_batch(r.info.run_id, params=params)
            client.set_terminated(r.info.run_id)

        c0 = tree_cpu_seconds(proc.pid)
        n, dt = rate(one_run, args.duration)
        res["runs_per_s"] = n / dt
        res["srv_cpu_ms_run"] = (tree_cpu_seconds(proc.pid) - c0) / n * 1000

        run_ids = [client.create_run(exp_id).info.run_id for _client in range(args.clients)]
        t_start = time.time() + 2.5 + 0.2 * args.clients
        pending = pool.map_async(_client_worker, [(url, r, t_start, args.duration) for r in run_ids])
        while time.time() < t_start:
            time.sleep(0.005)
        c0 = tree_cpu_seconds(proc.pid)
        time.sleep(args.duration)
        c1 = tree_cpu_seconds(proc.pid)
        counts = pending.get(timeout=120)
        res["log_metric_8c"] = sum(counts) / args.duration
        res["srv_cpu_ms_metric_8c"] = (c1 - c0) / max(1, sum(counts)) * 1000
        res["clients"] = args.clients

        search_exp = client.get_experiment_by_name("search-1000").experiment_id
        client.search_runs([search_exp], max_results=10)  # warm
        lat_all, lat_f = [], []
        for _repeat in range(args.search_repeats):
            t = time.perf_counter()
            runs = client.search_runs([search_exp], max_results=args.search_runs)
            lat_all.append(time.perf_counter() - t)
            t = time.perf_counter()
            client.search_runs([search_exp], "metrics.loss < 0.5", max_results=100, order_by=["metrics.loss ASC"])
            lat_f.append(time.perf_counter() - t)
        res["search_found"] = len(runs)
        res["search_1000_ms"] = statistics.median(lat_all) * 1000
        res["search_filter_ms"] = statistics.median(lat_f) * 1000

        size_mb = blob.stat().st_size / 1e6
        repo = HttpArtifactRepository(f"{url}/api/2.0/mlflow-artifacts/artifacts/bench/{name}/{rnd}")
        t = time.perf_counter()
        repo.log_artifact(str(blob))
        res["art_up_mbps"] = size_mb / (time.perf_counter() - t)
        dst = workdir / "download"
        dst.mkdir()
        t = time.perf_counter()
        got = repo.download_artifacts(blob.name, str(dst))
        res["art_down_mbps"] = size_mb / (time.perf_counter() - t)
        h = hashlib.sha256()
        with open(got, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        res["art_verified"] = h.hexdigest() == blob_sha

        res["db_conns"] = int(pg.sql(f"select count(*) from pg_stat_activity where datname='{db}'"))
    except Exception as exc:  # record and go on with the other configurations
        res["error"] = f"{type(exc).__name__}: {exc}"
        log(f"{name} round {rnd}: {res['error']}")
    finally:
        stop_tree(proc)
        logf.close()
        with contextlib.suppress(Exception):
            pg.sql(f"drop database if exists {db} with (force)")
        if not args.keep_workdirs and "error" not in res:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            res["workdir"] = str(workdir)
    return res


# ----------------------------------------------------------------------------- report


def fmt_cell(values: list[float], spec: str) -> str:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return "n/a"
    med = statistics.median(vals)
    if len(vals) == 1:
        return spec.format(med)
    return f"{spec.format(med)} ({spec.format(min(vals))}-{spec.format(max(vals))})"


def report(results: list[dict], names: list[str], pgb: dict, args) -> str:
    by = {n: [r for r in results if r["config"] == n] for n in names}
    lines = []
    header = "| figure | " + " | ".join(names) + " |"
    lines.append(header)
    lines.append("|---|" + "---|" * len(names))
    for key, label, spec, _better in METRICS:
        cells = [fmt_cell([r.get(key) for r in by[n]], spec) for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    base = "plain" if "plain" in names else None
    if base:
        lines.append("")
        lines.append(f"ratios of medians against {base} (>1 is better for rates, <1 for times and memory):")
        lines.append("")
        lines.append("| figure | " + " | ".join(n for n in names if n != base) + " |")
        lines.append("|---|" + "---|" * (len(names) - 1))
        for key, label, _spec, better in METRICS:
            if better is None or key == "routes_ok":
                continue
            b = [r.get(key) for r in by[base] if r.get(key) is not None]
            if not b:
                continue
            bm = statistics.median(b)
            cells = []
            for n in names:
                if n == base:
                    continue
                v = [r.get(key) for r in by[n] if r.get(key) is not None]
                cells.append(f"{statistics.median(v) / bm:.2f}x" if v and bm else "n/a")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    for tag, vals in pgb.items():
        lines.append(f"pgbench single-row INSERT, {tag}: {fmt_cell(vals, '{:.0f}')} tps")
    errors = [r for r in results if "error" in r]
    for r in errors:
        lines.append(f"ERROR {r['config']} round {r['round']}: {r['error']} (log: {r.get('workdir')})")
    bad = [r for r in results if r.get("art_verified") is False]
    for r in bad:
        lines.append(f"ERROR {r['config']} round {r['round']}: downloaded artifact differs from upload")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma list (default {DEFAULT_CONFIGS})")
    ap.add_argument("--list-configs", action="store_true")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported (3)")
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per rate measurement (3)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent client processes (8)")
    ap.add_argument("--search-runs", type=int, default=1000, help="runs seeded for search_runs (1000)")
    ap.add_argument("--search-repeats", type=int, default=3)
    ap.add_argument("--artifact-mb", type=int, default=50)
    ap.add_argument("--pgbench-seconds", type=float, default=5.0, help="per pgbench run; 0 skips it")
    ap.add_argument("--server-python", default=str(DEFAULT_SERVER_PYTHON),
                    help="python of the venv with mlflow server + psycopg2-binary")
    ap.add_argument("--uvloop-python", default=str(DEFAULT_UVLOOP_PYTHON),
                    help="python of a second venv that also has uvloop + httptools (the *-uvloop configs)")
    ap.add_argument("--launcher", default=str(DEFAULT_LAUNCHER))
    add_postgres_arguments(ap)
    ap.add_argument("--startup-timeout", type=float, default=300.0)
    ap.add_argument("--settle-max", type=float, default=30.0, help="max seconds to wait for an idle tree")
    ap.add_argument("--workdir", default=None, help="parent of per-server working dirs (default: temp)")
    ap.add_argument("--keep-workdirs", action="store_true")
    ap.add_argument("--json", help="write raw samples here")
    args = ap.parse_args()

    if args.list_configs:
        for n, c in CONFIGS.items():
            print(f"{n:18} {c['help']}")
        return 0
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        ap.error(f"unknown configs {unknown}; see --list-configs")
    if not Path(args.server_python).exists():
        ap.error(f"--server-python {args.server_python} not found (pip install mlflow==3.17.2 psycopg2-binary)")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    import mlflow

    t_begin = time.time()
    pg = Postgres(args)
    pg.ensure_running()
    pg_info = (f"{pg.setting('server_version')} (shared_buffers {pg.setting('shared_buffers')}, max_connections "
               f"{pg.setting('max_connections')}, synchronous_commit {pg.setting('synchronous_commit')})")
    own_tmp = None
    if args.workdir is None:
        own_tmp = args.workdir = tempfile.mkdtemp(prefix="bench-mlflow-")
    server_versions = subprocess.run(
        [args.server_python, "-c", "import mlflow, uvicorn, sqlalchemy, psycopg2; "
         "print(mlflow.__version__, uvicorn.__version__, sqlalchemy.__version__, psycopg2.__version__.split()[0])"],
        capture_output=True, text=True, check=True).stdout.split()
    results: list[dict] = []
    pgb: dict[str, list[float]] = {"1 client": [], f"{args.clients} clients": []}
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(args.clients, initializer=_client_worker_init)
    try:
        tmpl = prepare_template(pg, args)
        blob = Path(args.workdir) / "artifact.bin"
        with open(blob, "wb") as f:
            for _megabyte in range(args.artifact_mb):
                f.write(os.urandom(1_000_000))
        blob_sha = hashlib.sha256(blob.read_bytes()).hexdigest()
        load_before = os.getloadavg()
        for rnd in range(1, args.rounds + 1):
            if args.pgbench_seconds > 0:
                pgb["1 client"].append(pg.pgbench_insert(1, args.pgbench_seconds))
                pgb[f"{args.clients} clients"].append(pg.pgbench_insert(args.clients, args.pgbench_seconds))
                log(f"round {rnd}: pgbench {pgb['1 client'][-1]:.0f} / {pgb[f'{args.clients} clients'][-1]:.0f} tps")
            for name in names:
                r = measure_server(name, CONFIGS[name], args, pg, tmpl, rnd, pool, blob, blob_sha)
                results.append(r)
                if "error" not in r:
                    log(f"round {rnd} {name}: 1c {r['log_metric_1c']:.1f}/s, batch {r['log_batch_mps']:.0f}/s, "
                        f"runs {r['runs_per_s']:.1f}/s, {args.clients}c {r['log_metric_8c']:.1f}/s, "
                        f"rss {r['idle_rss_mb']:.0f} MB, routes {r['route_status']}")
        load_after = os.getloadavg()
    finally:
        pool.terminate()
        pool.join()
        pg.stop()
        if own_tmp:
            shutil.rmtree(own_tmp, ignore_errors=True)

    print(f"# MLflow server throughput, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(t_begin))}")
    print(f"host: {platform.platform()}, {os.cpu_count()} CPUs, load average before {load_before[0]:.2f} "
          f"after {load_after[0]:.2f} (1 min)")
    print(f"server: mlflow/uvicorn/sqlalchemy/psycopg2 {' / '.join(server_versions)}; client mlflow "
          f"{mlflow.__version__}; PostgreSQL {pg_info}")
    print(f"rounds {args.rounds} (interleaved), {args.duration:g} s per rate, {args.clients} client processes, "
          f"{args.search_runs} runs searched, {args.artifact_mb} MB artifact; cells: median (min-max)")
    print()
    for n in names:
        print(f"- {n}: {CONFIGS[n]['help']}")
    print()
    print(report(results, names, pgb, args))
    print(f"\nwall time {time.time() - t_begin:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "pgbench": pgb, "args": vars(args)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
