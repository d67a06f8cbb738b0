"""MLflow as users get it: the seed's plain command against the role's deployed default, clients across a network.

    .venv/bin/python bench/bench_deployed_default.py                  # plain,role,role-tls; 3 rounds
    .venv/bin/python bench/bench_deployed_default.py --configs plain,role,role-tls,role-noauth
    .venv/bin/python bench/bench_deployed_default.py --list-configs

Runs as root on this host (network namespaces, nginx). Side by side in one run, interleaved rounds (round 1 runs
every configuration, then round 2, ...), cells are median (min-max):

* ``plain``: the seed's command, ``mlflow server --backend-store-uri postgresql://... --host 0.0.0.0 --port P``
  (uvicorn, 4 workers, job execution on, no auth), from ``--server-python``'s venv (mlflow + psycopg2-binary).
* ``role``: the mlflow_server role's configuration exactly as the role renders it: ``bench/render_role_config.yml``
  renders the role's own unit, EnvironmentFile and basic-auth ini with the role's defaults and its sizing for this
  host (only paths, port and database are the bench's); the bench runs the unit's ExecStart with the unit's
  environment (its EnvironmentFiles, HOME, WorkingDirectory), from a venv holding exactly the role's pinned packages
  plus its launcher. Basic auth on, credential cache on (the role's default TTL).
* ``role-tls``: the same with ``mlflow_server_tls_enabled: true``: nginx in front with the site the role renders
  (a self-signed certificate made here as the role makes one); MLflow on 127.0.0.1.
* ``role-noauth``: the role with ``mlflow_server_auth_enabled: false`` (reference).

The servers and PostgreSQL run in this host's network namespace; every client runs in another one (``ip netns``,
joined by a veth pair, as an off-host user is), with the real MLflow client: 1-client log_metric, log_batch of 1,000
metrics, runs created and ended, 8 client processes on log_metric, ``mlflow.autolog()`` on a small scikit-learn fit,
and a 50 MB artifact up and down through the artifact proxy (checked byte for byte). Server CPU per call is read
from /proc around each phase (nginx included for role-tls). PostgreSQL and its seeded template database are the
throughput bench's (bench_server_throughput.py). Nothing is asserted about timings: it prints figures, ratios
against ``plain``, the kernel and the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import os
import platform
import re
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_server_throughput as bst  # noqa: E402  pylint: disable=wrong-import-position

ROOT = bst.ROOT
ROLE_VENV_PARENT = ROOT / ".cache" / "bench-role"
NETNS = "mlflowbench"
VETH_HOST, VETH_CLIENT = "mlbench0", "mlbench1"
HOST_IP, CLIENT_IP = "10.77.0.1", "10.77.0.2"

CONFIGS = {
    "plain": {"help": "the seed's command: mlflow server --backend-store-uri postgresql://... --host 0.0.0.0 "
                      "--port P (uvicorn, 4 workers, job execution on, no auth)"},
    "role": {"help": "the role as rendered: launcher, sized workers, basic auth + credential cache, its env file",
             "role_vars": {"mlflow_server_tls_enabled": False}},
    "role-tls": {"help": "the role as rendered with mlflow_server_tls_enabled: true (nginx + its site, TLS)",
                 "role_vars": {"mlflow_server_tls_enabled": True}},
    "role-noauth": {"help": "reference: the role as rendered with mlflow_server_auth_enabled: false",
                    "role_vars": {"mlflow_server_tls_enabled": False, "mlflow_server_auth_enabled": False}},
}
DEFAULT_CONFIGS = "plain,role,role-tls"

METRICS = [
    ("startup_s", "startup to /health (s)", "{:.1f}", False),
    ("idle_rss_mb", "idle RSS, process tree (MB)", "{:.0f}", False),
    ("nprocs", "processes", "{:.0f}", None),
    ("log_metric_1c", "log_metric, 1 client (calls/s)", "{:.1f}", True),
    ("log_metric_p50_ms", "  log_metric latency p50 (ms)", "{:.1f}", False),
    ("srv_cpu_ms_metric", "  server CPU per log_metric (ms)", "{:.1f}", False),
    ("log_batch_mps", "log_batch, 1,000/call (metrics/s)", "{:.0f}", True),
    ("srv_cpu_ms_batch", "  server CPU per 1,000-metric batch (ms)", "{:.0f}", False),
    ("runs_per_s", "runs created+ended/s", "{:.1f}", True),
    ("srv_cpu_ms_run", "  server CPU per run (ms)", "{:.1f}", False),
    ("log_metric_8c", "log_metric, 8 client procs (calls/s)", "{:.1f}", True),
    ("srv_cpu_ms_metric_8c", "  server CPU per call, 8 clients (ms)", "{:.1f}", False),
    ("autolog_s", "autolog: sklearn fit logged (s per fit)", "{:.2f}", False),
    ("art_up_mbps", "artifact upload (MB/s)", "{:.1f}", True),
    ("art_down_mbps", "artifact download (MB/s)", "{:.1f}", True),
]


def log(message: str) -> None:
    bst.log(message)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


# ----------------------------------------------------------------------------- the clients' network namespace


class ClientNamespace:
    """A network namespace for the clients, joined to this host by a veth pair: HOST_IP here, CLIENT_IP there."""

    def __enter__(self):
        self.close(quiet=True)
        run(["ip", "netns", "add", NETNS])
        run(["ip", "link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_CLIENT])
        run(["ip", "link", "set", VETH_CLIENT, "netns", NETNS])
        run(["ip", "addr", "add", f"{HOST_IP}/24", "dev", VETH_HOST])
        run(["ip", "link", "set", VETH_HOST, "up"])
        run(["ip", "-n", NETNS, "addr", "add", f"{CLIENT_IP}/24", "dev", VETH_CLIENT])
        run(["ip", "-n", NETNS, "link", "set", VETH_CLIENT, "up"])
        run(["ip", "-n", NETNS, "link", "set", "lo", "up"])
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def close(quiet: bool = False) -> None:
        for cmd in (["ip", "link", "del", VETH_HOST], ["ip", "netns", "del", NETNS]):
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode and not quiet and "Cannot find" not in result.stderr:
                log(f"{' '.join(cmd)}: {result.stderr.strip()}")


# ----------------------------------------------------------------------------- the role's rendered configuration


def _unit_exec_start(unit: str) -> list[str]:
    """ExecStart of a rendered unit as argv (systemd's line continuations, quoting and %%/$$ escapes)."""
    text = unit.replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    return [arg.replace("%%", "%").replace("$$", "$") for arg in shlex.split(line[len("ExecStart="):])]


def _unit_values(unit: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith(key + "=")]


def _environment_file(path: Path) -> dict:
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, value = line.split("=", 1)
        env[name.strip()] = shlex.split(value)[0] if value.strip() else ""
    return env


class RoleServer:
    """One configuration of the role, rendered once; started per round on a fresh copy of the template database."""

    def __init__(self, name: str, cfg: dict, args, pg, base: Path):
        self.name, self.args, self.pg = name, args, pg
        self.dir = base / name
        self.config_dir, self.state_dir = self.dir / "etc", self.dir / "state"
        self.artifacts_dir = self.dir / "artifacts"
        self.db = "bench_" + re.sub(r"[^a-z0-9]", "_", name)
        self.port = bst.free_port()
        self.tls = bool(cfg["role_vars"].get("mlflow_server_tls_enabled"))
        self.auth = bool(cfg["role_vars"].get("mlflow_server_auth_enabled", True))
        self.tls_port = bst.free_port() if self.tls else None
        self.admin_password = "Bench-" + secrets.token_hex(10)
        for directory in (self.config_dir, self.state_dir, self.artifacts_dir):
            directory.mkdir(parents=True, exist_ok=True)
        role_vars = {
            "mlflow_server_install_dir": str(ROLE_VENV_PARENT), "mlflow_server_config_dir": str(self.config_dir),
            "mlflow_server_state_dir": str(self.state_dir), "mlflow_server_artifacts_dir": str(self.artifacts_dir),
            "mlflow_server_port": self.port, "mlflow_server_tls_port": self.tls_port or 443,
            "mlflow_server_db_host": pg.host, "mlflow_server_db_port": pg.port, "mlflow_server_db_user": pg.user,
            "mlflow_server_db_name": self.db, "mlflow_server_db_password": "Unused-by-trust-1",
            "mlflow_server_auth_admin_password": self.admin_password, "mlflow_server_allowed_hosts": [HOST_IP],
            "mlflow_server_db_max_connections": args.pg_max_connections, "mlflow_server_wheel_cache_dir": "",
            **cfg["role_vars"],
        }
        vars_file = self.dir / "vars.json"
        vars_file.touch(mode=0o600)
        vars_file.write_text(json.dumps(role_vars), encoding="utf-8")
        env = {**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_NOCOLOR": "1"}
        result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                                 str(ROOT / "bench" / "render_role_config.yml"), "-e", f"@{vars_file}"],
                                capture_output=True, text=True, env=env, check=False)
        if result.returncode:
            raise SystemExit(f"rendering the role for {name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
        self.facts = json.loads((self.config_dir / "role.json").read_text(encoding="utf-8"))
        ensure_role_venv(self.facts["pip_packages"])
        unit = (self.config_dir / "mlflow.service").read_text(encoding="utf-8")
        self.argv = _unit_exec_start(unit)
        self.env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        for path in _unit_values(unit, "EnvironmentFile"):
            local = self.config_dir / Path(path).name
            if Path(path).name == "flask-secret-key.env":  # written by the role's configure step, not a template
                local.write_text(f'MLFLOW_FLASK_SERVER_SECRET_KEY="{secrets.token_hex(32)}"\n', encoding="utf-8")
            self.env.update(_environment_file(local))
        for assignment in _unit_values(unit, "Environment"):
            key, value = assignment.split("=", 1)
            self.env[key] = value
        self.workers = self.facts["workers"]
        if self.tls:
            self._prepare_nginx()

    def _prepare_nginx(self) -> None:
        tls_dir = self.config_dir / "tls"
        tls_dir.mkdir(exist_ok=True)
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-days", "30", "-subj", "/CN=mlflow-bench", "-addext", f"subjectAltName=IP:{HOST_IP},DNS:localhost",
             "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth",
             "-keyout", str(tls_dir / "self-signed.key"), "-out", str(tls_dir / "self-signed.crt")])
        self.cert = tls_dir / "self-signed.crt"
        nginx_dir = self.dir / "nginx"
        nginx_dir.mkdir(exist_ok=True)
        # Debian 12's /etc/nginx/nginx.conf http settings, with the role's site in place of conf.d/*.conf.
        (nginx_dir / "nginx.conf").write_text(f"""
worker_processes auto;
pid {nginx_dir}/nginx.pid;
error_log {nginx_dir}/error.log;
events {{ worker_connections 768; }}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_prefer_server_ciphers on;
    access_log {nginx_dir}/access.log;
    gzip on;
    client_body_temp_path {nginx_dir}/body;
    proxy_temp_path {nginx_dir}/proxy;
    include {self.config_dir}/nginx-mlflow.conf;
}}
""", encoding="utf-8")
        run(["nginx", "-t", "-c", str(nginx_dir / "nginx.conf")])
        self.nginx_conf = nginx_dir / "nginx.conf"

    @property
    def url(self) -> str:
        return f"https://{HOST_IP}:{self.tls_port}" if self.tls else f"http://{HOST_IP}:{self.port}"

    def client_env(self) -> dict:
        env = {}
        if self.auth:
            env.update({"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": self.admin_password})
        if self.tls:
            env["MLFLOW_TRACKING_SERVER_CERT_PATH"] = str(self.cert)
        return env

    def start(self, tmpl: str) -> list[subprocess.Popen]:
        self.pg.sql(f"drop database if exists {self.db} with (force)")
        self.pg.sql(f"create database {self.db} template {tmpl}")
        log_file = open(self.dir / "server.log", "ab")  # pylint: disable=consider-using-with
        procs = [subprocess.Popen(self.argv, cwd=self.state_dir, env=self.env, stdout=log_file,
                                  stderr=subprocess.STDOUT, start_new_session=True)]
        if self.tls:
            procs.append(subprocess.Popen(["nginx", "-c", str(self.nginx_conf), "-g", "daemon off;"],
                                          stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True))
        return procs

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.pg.sql(f"drop database if exists {self.db} with (force)")


class PlainServer:
    """The seed's plain command, from the plain venv, on its own database copy."""

    def __init__(self, args, pg, base: Path):
        self.args, self.pg = args, pg
        self.dir = base / "plain"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db, self.port, self.tls, self.auth = "bench_plain", bst.free_port(), False, False
        self.workers = 4

    @property
    def url(self) -> str:
        return f"http://{HOST_IP}:{self.port}"

    def client_env(self) -> dict:
        return {}

    def start(self, tmpl: str) -> list[subprocess.Popen]:
        self.pg.sql(f"drop database if exists {self.db} with (force)")
        self.pg.sql(f"create database {self.db} template {tmpl}")
        mlflow_cli = str(Path(self.args.server_python).parent / "mlflow")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        # The seed's command line, with the bench's database (trust authentication: no password).
        cmd = [mlflow_cli, "server", "--backend-store-uri", self.pg.uri(self.db), "--host", "0.0.0.0",
               "--port", str(self.port)]
        log_file = open(self.dir / "server.log", "ab")  # pylint: disable=consider-using-with
        return [subprocess.Popen(cmd, cwd=self.dir, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                 start_new_session=True)]

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.pg.sql(f"drop database if exists {self.db} with (force)")


def ensure_role_venv(packages: list[str]) -> None:
    """A venv holding exactly the role's pinned packages, at the path the rendered unit names, plus its launcher."""
    venv = ROLE_VENV_PARENT / "venv"
    marker = venv / "bench-packages.json"
    if not (marker.exists() and json.loads(marker.read_text(encoding="utf-8")) == packages):
        log(f"creating {venv} with {packages}")
        shutil.rmtree(venv, ignore_errors=True)
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "pip"), "install", "-q", *packages])
        marker.write_text(json.dumps(packages), encoding="utf-8")
    shutil.copyfile(ROOT / "roles" / "mlflow_server" / "files" / "mlflow_server_launcher.py",
                    venv / "bin" / "mlflow_server_launcher.py")


# ----------------------------------------------------------------------------- process trees


def trees_cpu(procs) -> float:
    return sum(bst.tree_cpu_seconds(p.pid) for p in procs)


def trees_memory(procs) -> tuple[float, int]:
    rss, count = 0.0, 0
    for proc in procs:
        tree_rss, _pss, n = bst.tree_memory(proc.pid)
        rss, count = rss + tree_rss, count + n
    return rss, count


def wait_healthy(server, procs, timeout: float) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited {proc.returncode}; see {server.dir / 'server.log'}")
        if bst.http_status(server.port, "GET", "/health", timeout=2) == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"no /health after {timeout} s")


def settle(procs, limit: float) -> None:
    deadline, previous = time.time() + limit, trees_cpu(procs)
    while time.time() < deadline:
        time.sleep(1.0)
        current = trees_cpu(procs)
        if current - previous < 0.05:
            return
        previous = current


# ----------------------------------------------------------------------------- one round of one configuration


def measure(name: str, server, args, tmpl: str, rnd: int, blob: Path) -> dict:
    res: dict = {"config": name, "round": rnd}
    started = time.perf_counter()
    procs = server.start(tmpl)
    try:
        wait_healthy(server, procs, args.startup_timeout)
        res["startup_s"] = time.perf_counter() - started
        settle(procs, args.settle_max)
        res["idle_rss_mb"], res["nprocs"] = trees_memory(procs)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}, **server.client_env(),
               "PYTHONWARNINGS": "ignore"}
        cmd = ["ip", "netns", "exec", NETNS, sys.executable, str(Path(__file__).resolve()), "--client", server.url,
               "--duration", str(args.duration), "--clients", str(args.clients), "--artifact", str(blob),
               "--autolog-fits", str(args.autolog_fits)]
        client = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  bufsize=1)
        cpu_at_begin = 0.0
        for line in client.stdout:
            kind, _space, rest = line.strip().partition(" ")
            if kind == "BEGIN":
                cpu_at_begin = trees_cpu(procs)
                client.stdin.write("go\n")
                client.stdin.flush()
            elif kind == "END":
                phase, calls = rest.split()
                res[f"srv_cpu_ms_{phase}"] = (trees_cpu(procs) - cpu_at_begin) / max(1, int(calls)) * 1000
            elif kind == "RESULT":
                res.update(json.loads(rest))
        if client.wait(timeout=600) != 0 or "log_metric_1c" not in res:
            raise RuntimeError(f"client failed (exit {client.returncode})")
    except Exception as exc:  # pylint: disable=broad-exception-caught  # record it and go on with the others
        res["error"] = f"{type(exc).__name__}: {exc}"
        log(f"{name} round {rnd}: {res['error']}")
    finally:
        for proc in reversed(procs):
            bst.stop_tree(proc)
        server.stop()
    return res


# ----------------------------------------------------------------------------- the client side (in the namespace)


def _phase(name: str, body):
    """BEGIN/END around one measured phase, so the server side can read its CPU; returns body()'s result."""
    print(f"BEGIN {name}", flush=True)
    sys.stdin.readline()
    calls, result = body()
    print(f"END {name} {calls}", flush=True)
    return result


def _eight_client_worker(task) -> int:
    url, run_id, t_start, duration = task
    from mlflow.tracking import MlflowClient  # pylint: disable=import-outside-toplevel

    client = MlflowClient(tracking_uri=url)
    client.log_metric(run_id, "warm", 0.0)
    while time.time() < t_start:
        time.sleep(0.005)
    n, t_end = 0, t_start + duration
    while time.time() < t_end:
        client.log_metric(run_id, "m8", float(n), step=n)
        n += 1
    return n


def client_main(args) -> int:
    import logging  # pylint: disable=import-outside-toplevel
    import warnings  # pylint: disable=import-outside-toplevel

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    import mlflow  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel
    from mlflow.entities import Metric  # pylint: disable=import-outside-toplevel
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository  # pylint: disable=import-outside-toplevel
    from mlflow.tracking import MlflowClient  # pylint: disable=import-outside-toplevel
    from sklearn.linear_model import LogisticRegression  # pylint: disable=import-outside-toplevel

    url, duration, out = args.client, args.duration, {}
    pool = multiprocessing.get_context("spawn").Pool(args.clients, initializer=bst._client_worker_init)
    # Let the 8 client processes finish importing MLflow before anything is measured.
    pool.map(time.sleep, [0.5] * args.clients * 2, chunksize=1)
    previous = bst.tree_cpu_seconds(os.getpid())
    for _second in range(60):
        time.sleep(1.0)
        current = bst.tree_cpu_seconds(os.getpid())
        if current - previous < 0.05:
            break
        previous = current
    client = MlflowClient(tracking_uri=url)
    exp_id = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(exp_id).info.run_id
    client.log_metric(run_id, "warm", 0.0)

    def log_metrics():
        latencies = []
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < duration:
            t = time.perf_counter()
            client.log_metric(run_id, "m", float(n), step=n)
            latencies.append(time.perf_counter() - t)
            n += 1
        out["log_metric_1c"] = n / (time.perf_counter() - t0)
        out["log_metric_p50_ms"] = statistics.median(latencies) * 1000
        return n, None

    _phase("metric", log_metrics)

    batch_run = client.create_run(exp_id).info.run_id
    ts = int(time.time() * 1000)

    def log_batches():
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < duration:
            client.log_batch(batch_run, metrics=[Metric("b", float(j), ts, n * 1000 + j) for j in range(1000)])
            n += 1
        out["log_batch_mps"] = n * 1000 / (time.perf_counter() - t0)
        return n, None

    _phase("batch", log_batches)

    def runs():
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < duration:
            created = client.create_run(exp_id, run_name=f"r{n}")
            client.set_terminated(created.info.run_id)
            n += 1
        out["runs_per_s"] = n / (time.perf_counter() - t0)
        return n, None

    _phase("run", runs)

    run_ids = [client.create_run(exp_id).info.run_id for _client in range(args.clients)]
    t_start = time.time() + 2.5 + 0.2 * args.clients
    pending = pool.map_async(_eight_client_worker, [(url, r, t_start, duration) for r in run_ids])
    while time.time() < t_start - 0.05:
        time.sleep(0.005)

    def eight_clients():
        time.sleep(max(0.0, t_start - time.time()) + duration)
        counts = pending.get(timeout=120)
        out["log_metric_8c"] = sum(counts) / duration
        return sum(counts), None

    _phase("metric_8c", eight_clients)
    pool.terminate()

    mlflow.set_tracking_uri(url)
    mlflow.set_experiment(experiment_id=exp_id)
    mlflow.autolog(silent=True)
    rng = np.random.default_rng(0)
    features, labels = rng.normal(size=(200, 8)), rng.integers(0, 2, size=200)
    fits = []
    for _fit in range(args.autolog_fits):
        t = time.perf_counter()
        LogisticRegression(max_iter=200).fit(features, labels)
        mlflow.end_run()
        fits.append(time.perf_counter() - t)
    out["autolog_s"] = statistics.median(fits)
    mlflow.autolog(disable=True)

    blob = Path(args.artifact)
    size_mb = blob.stat().st_size / 1e6
    repo = HttpArtifactRepository(f"{url}/api/2.0/mlflow-artifacts/artifacts/bench/{uuid.uuid4().hex[:8]}")
    t = time.perf_counter()
    repo.log_artifact(str(blob))
    out["art_up_mbps"] = size_mb / (time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as download:
        t = time.perf_counter()
        got = repo.download_artifacts(blob.name, download)
        out["art_down_mbps"] = size_mb / (time.perf_counter() - t)
        digest = hashlib.sha256(Path(got).read_bytes()).hexdigest()
    out["art_verified"] = digest == hashlib.sha256(blob.read_bytes()).hexdigest()
    print("RESULT " + json.dumps(out), flush=True)
    return 0


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma list (default {DEFAULT_CONFIGS})")
    ap.add_argument("--list-configs", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per rate measurement (3)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--autolog-fits", type=int, default=3, help="autologged fits per round; the median is shown")
    ap.add_argument("--artifact-mb", type=int, default=50)
    ap.add_argument("--search-runs", type=int, default=100, help="runs seeded into the template database (100)")
    ap.add_argument("--server-python", default=str(bst.DEFAULT_SERVER_PYTHON),
                    help="python of the plain venv (mlflow + psycopg2-binary)")
    bst.add_postgres_arguments(ap)
    ap.add_argument("--startup-timeout", type=float, default=300.0)
    ap.add_argument("--settle-max", type=float, default=30.0)
    ap.add_argument("--json", help="write raw samples here")
    ap.add_argument("--client", help=argparse.SUPPRESS)
    ap.add_argument("--artifact", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        return client_main(args)
    if args.list_configs:
        for name, cfg in CONFIGS.items():
            print(f"{name:12} {cfg['help']}")
        return 0
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        ap.error(f"unknown configs {unknown}; see --list-configs")
    if os.geteuid() != 0:
        ap.error("run as root: the clients get their own network namespace (ip netns) and role-tls runs nginx")
    if any(CONFIGS[n].get("role_vars", {}).get("mlflow_server_tls_enabled") for n in names) and not shutil.which("nginx"):
        ap.error("role-tls needs nginx (apt-get install nginx)")

    t_begin = time.time()
    load_before = os.getloadavg()
    pg = bst.Postgres(args)
    pg.ensure_running()
    base = Path(tempfile.mkdtemp(prefix="bench-deployed-"))
    results: list[dict] = []
    try:
        tmpl = bst.prepare_template(pg, args)
        blob = base / "artifact.bin"
        with open(blob, "wb") as handle:
            for _megabyte in range(args.artifact_mb):
                handle.write(os.urandom(1_000_000))
        blob.chmod(0o644)
        servers = {n: PlainServer(args, pg, base) if n == "plain" else RoleServer(n, CONFIGS[n], args, pg, base)
                   for n in names}
        with ClientNamespace():
            for rnd in range(1, args.rounds + 1):
                for name in names:
                    result = measure(name, servers[name], args, tmpl, rnd, blob)
                    result["load_1min"] = os.getloadavg()[0]
                    results.append(result)
                    if "error" not in result:
                        log(f"round {rnd} {name}: 1c {result['log_metric_1c']:.1f}/s, batch "
                            f"{result['log_batch_mps']:.0f}/s, runs {result['runs_per_s']:.1f}/s, 8c "
                            f"{result['log_metric_8c']:.1f}/s, rss {result['idle_rss_mb']:.0f} MB")
        load_after = os.getloadavg()
        workers = {n: servers[n].workers for n in names}
    finally:
        pg.stop()
        if not any("error" in r for r in results):
            shutil.rmtree(base, ignore_errors=True)

    bst.METRICS = METRICS
    print(f"# MLflow as deployed vs the plain command, clients in another network namespace, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(t_begin))}")
    print(f"kernel {platform.release()} ({platform.platform()}), {os.cpu_count()} CPUs; load average (1 min) before "
          f"{load_before[0]:.2f}, after {load_after[0]:.2f}, during rounds "
          f"{min(r['load_1min'] for r in results):.2f}-{max(r['load_1min'] for r in results):.2f}")
    print(f"rounds {args.rounds} (interleaved), {args.duration:g} s per rate, {args.clients} client processes, "
          f"{args.artifact_mb} MB artifact; workers {workers}; cells: median (min-max)")
    print()
    for name in names:
        print(f"- {name}: {CONFIGS[name]['help']}")
    print()
    print(bst.report(results, names, {}, args))
    for result in results:
        if result.get("art_verified") is False:
            print(f"ERROR {result['config']} round {result['round']}: downloaded artifact differs from upload")
    print(f"\nwall time {time.time() - t_begin:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "args": vars(args)}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
