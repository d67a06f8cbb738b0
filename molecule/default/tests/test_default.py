"""Verify the default scenario: the service as the system sees it, then the real MLflow client against it.

Runs on the controller (molecule's testinfra verifier). `host` is the container. With the role's defaults MLflow
listens on the container's loopback and nginx serves https on 443 with the self-signed certificate the role made:
clients go to the container's bridge address (one of the Host headers the role allows and of the certificate's
names), trusting exactly that certificate.
"""
import json
import re
import uuid

import pytest
import requests

SERVICE = "mlflow"
ENV_FILE = "/etc/mlflow/mlflow.env"
SECRET_KEY_FILE = "/etc/mlflow/flask-secret-key.env"
UNIT_FILE = "/etc/systemd/system/mlflow.service"


@pytest.fixture(scope="module")
def role_vars(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def port(role_vars):
    return int(role_vars.get("mlflow_server_port", 5000))


@pytest.fixture(scope="module")
def address(host):
    address = host.check_output("ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1").strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", address), address
    return address


@pytest.fixture(scope="module")
def base_url(address):
    return f"https://{address}:443"


@pytest.fixture(scope="module")
def trust_file(host, tmp_path_factory):
    """The self-signed certificate, as a client saves it for MLFLOW_TRACKING_SERVER_CERT_PATH."""
    path = tmp_path_factory.mktemp("trust") / "mlflow-server.crt"
    path.write_text(host.file("/etc/mlflow/tls/self-signed.crt").content_string)
    return str(path)


@pytest.fixture(scope="module")
def secrets(host, role_vars):
    """Every secret the deployment holds: the two passwords and the generated Flask key."""
    key_line = host.file(SECRET_KEY_FILE).content_string.strip()
    flask_key = key_line.split("=", 1)[1].strip('"')
    assert len(flask_key) >= 32
    return {
        "db_password": role_vars["mlflow_server_db_password"],
        "admin_password": role_vars["mlflow_server_auth_admin_password"],
        "flask_key": flask_key,
    }


@pytest.fixture()
def admin_env(monkeypatch, role_vars, base_url, trust_file):
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", trust_file)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", role_vars["mlflow_server_auth_admin_password"])
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    import mlflow

    mlflow.set_tracking_uri(base_url)
    mlflow.set_registry_uri(base_url)
    yield mlflow


def test_service_active_enabled_and_running_as_mlflow(host):
    service = host.service(SERVICE)
    if not service.is_running:
        print(host.run("journalctl -u %s --no-pager -n 80", SERVICE).stdout)
    assert service.is_running
    assert service.is_enabled
    main_pid = host.check_output("systemctl show -p MainPID --value %s", SERVICE)
    assert host.check_output("ps -o user= -p %s", main_pid).strip() == "mlflow"
    # Every process running the virtualenv's Python (uvicorn supervisor, its resource tracker, workers) runs as mlflow.
    processes = host.check_output("ps -eo user=,args= | grep -F /opt/mlflow/venv/bin/python | grep -v grep")
    users = [line.split()[0] for line in processes.splitlines()]
    assert len(users) >= 3, processes
    assert set(users) == {"mlflow"}, processes


def test_the_server_replaced_the_idle_mlflow_cli_process(host):
    # Job execution is off, so the launcher execs the server in place of `mlflow server`'s waiting CLI process
    # (~250 MB saved): the unit's main process is uvicorn itself and no CLI process is left.
    main_pid = host.check_output("systemctl show -p MainPID --value %s", SERVICE)
    cmdline = host.check_output("tr '\\0' ' ' < /proc/%s/cmdline", main_pid)
    # (the app is MLflow's FastAPI app, or with basic auth `--factory mlflow.server.auth:create_app`)
    assert "--mlflow-launcher-uvicorn" in cmdline and "--port" in cmdline, cmdline
    processes = host.check_output("ps -eo args= | grep -F mlflow_server_launcher.py | grep -v grep")
    assert all("--mlflow-launcher-uvicorn" in line for line in processes.splitlines()), processes


def test_server_runs_through_the_tcp_nodelay_launcher_on_uvloop(host):
    unit = host.file(UNIT_FILE).content_string
    assert "/opt/mlflow/venv/bin/mlflow_server_launcher.py" in unit
    workers = int(re.search(r"--workers (\d+)", unit).group(1))
    # uvicorn's worker processes are multiprocessing children; they map uvloop's extension once it is importable.
    worker_pids = host.check_output(
        "ps -eo pid=,args= | grep -F 'multiprocessing.spawn' | grep -F /opt/mlflow/venv/bin/python | grep -v grep "
        "| awk '{print $1}'").split()
    if workers >= 2:
        assert len(worker_pids) == workers
        journal = host.check_output("journalctl -u %s --no-pager -o cat", SERVICE)
        assert ("accepted connections get TCP_NODELAY" in journal or "listener proto already 6" in journal), journal[-2000:]
    serving_pids = worker_pids or [host.check_output("systemctl show -p MainPID --value %s", SERVICE)]
    for pid in serving_pids:
        assert "uvloop" in host.check_output("cat /proc/%s/maps", pid)


def test_only_https_is_reachable_from_outside(host, port, address):
    # TLS is the default: MLflow's clear-text port is on loopback only, nginx serves https on 443.
    assert host.socket(f"tcp://127.0.0.1:{port}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening
    assert host.socket("tcp://0.0.0.0:443").is_listening
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{address}:{port}/health", timeout=10)


def test_unit_is_hardened(host):
    props = dict(
        line.split("=", 1)
        for line in host.check_output(
            "systemctl show %s -p User -p NoNewPrivileges -p ProtectSystem -p ProtectHome -p PrivateTmp "
            "-p Restart -p ReadWritePaths -p CapabilityBoundingSet", SERVICE).splitlines()
    )
    assert props["User"] == "mlflow"
    assert props["NoNewPrivileges"] == "yes"
    assert props["ProtectSystem"] == "strict"
    assert props["ProtectHome"] == "yes"
    assert props["PrivateTmp"] == "yes"
    assert props["Restart"] == "on-failure"
    assert sorted(props["ReadWritePaths"].split()) == ["/var/lib/mlflow", "/var/lib/mlflow/artifacts"]
    assert props["CapabilityBoundingSet"] == ""


def test_secret_files_are_root_only(host):
    for path in (ENV_FILE, SECRET_KEY_FILE, "/etc/mlflow/pgpass"):
        secret_file = host.file(path)
        assert secret_file.user == "root" and secret_file.group == "root", path
        assert secret_file.mode == 0o600, (path, oct(secret_file.mode))
    ini = host.file("/etc/mlflow/basic_auth.ini")
    assert (ini.user, ini.group, ini.mode) == ("root", "mlflow", 0o640)
    artifacts = host.file("/var/lib/mlflow/artifacts")
    assert (artifacts.user, artifacts.group, artifacts.mode) == ("mlflow", "mlflow", 0o750)
    venv = host.file("/opt/mlflow/venv/bin/python")
    assert host.file("/opt/mlflow/venv/lib").user == "root"
    assert venv.exists


def test_no_secret_in_unit_ini_or_any_command_line(host, secrets):
    unit = host.file(UNIT_FILE).content_string
    ini = host.file("/etc/mlflow/basic_auth.ini").content_string
    # Every process's argv, NUL-separated: read as root inside the container.
    cmdlines = host.check_output(
        "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\" 2>/dev/null; echo; done")
    # The scan really saw the server's processes (uvicorn serving MLflow's app, started through the launcher).
    assert "--mlflow-launcher-uvicorn" in cmdlines and "--port" in cmdlines
    for name, secret in secrets.items():
        assert secret not in unit, name
        assert secret not in ini, name
        assert secret not in cmdlines, name
    # The secrets are where they belong.
    env_file = host.file(ENV_FILE).content_string
    assert "PGPASSWORD=" in env_file and "MLFLOW_AUTH_ADMIN_PASSWORD=" in env_file


def test_no_secret_in_the_journal(host, secrets):
    journal = host.check_output("journalctl --no-pager -o cat")
    for name, secret in secrets.items():
        assert secret not in journal, name


def test_environment_reaches_the_server_intact(host, secrets):
    """The EnvironmentFile's escaping delivers the passwords byte for byte ($ ' ` % : survive systemd)."""
    main_pid = host.check_output("systemctl show -p MainPID --value %s", SERVICE)
    environ = host.check_output("tr '\\0' '\\n' < /proc/%s/environ", main_pid).splitlines()
    values = dict(line.split("=", 1) for line in environ if "=" in line)
    assert values["PGPASSWORD"] == secrets["db_password"]
    assert values["MLFLOW_AUTH_ADMIN_PASSWORD"] == secrets["admin_password"]
    assert values["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert "password" not in values["MLFLOW_BACKEND_STORE_URI"].lower()
    assert values["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg2://mlflow@")


def test_pool_sizes_fit_under_max_connections(host):
    main_pid = host.check_output("systemctl show -p MainPID --value %s", SERVICE)
    environ = dict(line.split("=", 1) for line in
                   host.check_output("tr '\\0' '\\n' < /proc/%s/environ", main_pid).splitlines() if "=" in line)
    cmdline = host.check_output("tr '\\0' ' ' < /proc/%s/cmdline", main_pid)
    workers = int(re.search(r"--workers (\d+)", cmdline).group(1))
    per_engine = int(environ["MLFLOW_SQLALCHEMYSTORE_POOL_SIZE"]) + int(environ["MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW"])
    max_connections = int(host.check_output(
        "runuser -u postgres -- psql -tAc 'SHOW max_connections'").strip())
    # tracking + registry + auth engine per worker, 10 connections reserved by default
    assert workers * 3 * per_engine <= max_connections - 10


def test_health_answers_without_credentials(base_url, trust_file):
    response = requests.get(f"{base_url}/health", timeout=10, verify=trust_file)
    assert response.status_code == 200
    assert response.text.strip() == "OK"


def test_auth_refuses_anonymous_and_wrong_password(base_url, trust_file, role_vars):
    url = f"{base_url}/api/2.0/mlflow/experiments/search"
    assert requests.post(url, json={"max_results": 1}, timeout=10, verify=trust_file).status_code == 401
    wrong = requests.post(url, json={"max_results": 1}, auth=("admin", "Wrong-Passw0rd!"), timeout=10, verify=trust_file)
    assert wrong.status_code == 401
    right = requests.post(url, json={"max_results": 1},
                          auth=("admin", role_vars["mlflow_server_auth_admin_password"]), timeout=10, verify=trust_file)
    assert right.status_code == 200, right.text


def test_unknown_host_header_is_refused(base_url, trust_file, role_vars):
    """--allowed-hosts is in force: the same authenticated request fails only because of the Host header."""
    url = f"{base_url}/api/2.0/mlflow/experiments/search?max_results=1"
    auth = ("admin", role_vars["mlflow_server_auth_admin_password"])
    assert requests.get(url, auth=auth, timeout=10, verify=trust_file).status_code == 200
    refused = requests.get(url, auth=auth, headers={"Host": "evil.example"}, timeout=10, verify=trust_file)
    assert refused.status_code == 403
    assert "Invalid Host header" in refused.text


def test_tracking_artifacts_and_registry_with_the_real_client(admin_env, tmp_path, host):
    mlflow = admin_env
    from mlflow import MlflowClient

    suffix = uuid.uuid4().hex[:8]
    experiment_id = mlflow.create_experiment(f"molecule-{suffix}")
    artifact = tmp_path / "notes.json"
    artifact.write_text(json.dumps({"suffix": suffix}))

    class AddN(mlflow.pyfunc.PythonModel):
        def __init__(self, n):
            self.n = n

        def predict(self, context, model_input, params=None):
            return model_input.apply(lambda column: column + self.n)

    model_name = f"molecule-model-{suffix}"
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({"alpha": "0.5", "layers": "3"})
        for step, value in enumerate([0.9, 0.7, 0.4]):
            mlflow.log_metric("loss", value, step=step)
        mlflow.log_artifact(str(artifact), artifact_path="docs")
        mlflow.pyfunc.log_model(name="model", python_model=AddN(5), pip_requirements=["mlflow"],
                                registered_model_name=model_name)

    client = MlflowClient()
    stored = client.get_run(run.info.run_id)
    assert stored.data.params == {"alpha": "0.5", "layers": "3"}
    assert stored.data.metrics["loss"] == 0.4
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [0.9, 0.7, 0.4]

    downloaded = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="docs/notes.json",
                                                     dst_path=str(tmp_path / "download"))
    assert json.loads(open(downloaded).read()) == {"suffix": suffix}
    # The server proxied the upload into the artifact directory on the host, owned by the service user.
    found = host.check_output("find /var/lib/mlflow/artifacts -name notes.json -user mlflow")
    assert found.strip().endswith("docs/notes.json")

    versions = client.search_model_versions(f"name='{model_name}'")
    assert [v.version for v in versions] == ["1"]
    import pandas

    loaded = mlflow.pyfunc.load_model(f"models:/{model_name}/1")
    prediction = loaded.predict(pandas.DataFrame({"x": [1, 2]}))
    assert list(prediction["x"]) == [6, 7]


def test_systemd_rates_the_unit_ok(host):
    """`systemd-analyze security` exposure 2.0 or less ("OK"); what stays open is explained in the unit's comments."""
    report = host.check_output("systemd-analyze security --no-pager %s.service", SERVICE)
    match = re.search(r"Overall exposure level for %s\.service: ([0-9.]+) (\S+)" % SERVICE, report)
    assert match, report
    assert float(match.group(1)) <= 2.0 and match.group(2) == "OK", report
    unit = host.file(UNIT_FILE).content_string
    # Every setting still counted against the unit has its reason written next to the hardening block.
    for open_setting in re.findall(r"^✗ (\w+)=", report, flags=re.MULTILINE):
        assert open_setting in unit, (open_setting, report)
