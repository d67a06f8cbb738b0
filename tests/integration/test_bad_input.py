"""Bad input to playbooks/deploy.yml: every parameter's rules stop the deploy in its first play, with a message that
names the variable and the rule, never echoes a secret, and changes nothing in the cloud: the emulator's request log
proves that not one API call was made (the zone checks, which only the cloud can answer, may read, never write).

The runs use the simulated emulator, whose hosts have fake addresses: `--limit localhost` keeps the install play
(which would SSH to them) from ever running, even if a rule were not enforced. The corpus runs once per module, its
cases side by side (each its own ansible-playbook and its own emulator), and each case is then reported as a test.
"""
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from alicloud_emulator.pytest_plugin import _new_emulator

from conftest import run_playbook

# Read-only calls: the rules that can only be checked against the cloud may make these, nothing else.
READ_ONLY_PREFIXES = ("Describe", "List")

VALID = {
    "alicloud_infra_name": "badinput-mlflow",
    "alicloud_infra_region": "cn-hangzhou",
    "alicloud_infra_zone_id": "cn-hangzhou-h",
    "alicloud_infra_pay_type": "PostPaid",
    "alicloud_infra_ecs_instance_type": "ecs.g7.large",
    "alicloud_infra_ecs_password": "Vq7-ecs-Login",
    "alicloud_infra_rds_instance_class": "pg.n2.2c.1m",
    "alicloud_infra_rds_password": "Rk4(rds)Pass",
    "mlflow_server_auth_admin_password": "Adm1n-Secret-Zq",
    "alicloud_infra_mlflow_port": 5000,
    "alicloud_infra_ssh_allowed_cidrs": ["203.0.113.10/32"],
    "alicloud_infra_mlflow_allowed_cidrs": ["203.0.113.0/24"],
    "mlflow_deploy_approve_cost": True,
}

SECRET_VARS = ("alicloud_infra_ecs_password", "alicloud_infra_rds_password", "mlflow_server_auth_admin_password")
PASSWORD_RULE = "8-30 characters"
THREE_CLASSES = "at least three of"
ADMIN_RULE = "12 to 30"
OWN_DIRECTORY = "system directory"
WHOLE_INTERNET = "cover the whole internet"
TLS_PAIR = "mlflow_server_tls_certificate and mlflow_server_tls_private_key go together"
TLS_ON = {"mlflow_server_tls_enabled": True}
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ==\n-----END CERTIFICATE-----\n"
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgE=\n-----END PRIVATE KEY-----\n"


def case(case_id, overrides, variable, rule):
    return pytest.param(overrides, variable, rule, id=case_id)


# (overrides, the variable the message must name, a phrase of the rule the message must state)
CASES = [
    # Service instance name, region, zone.
    case("name-too-long", {"alicloud_infra_name": "m" + "x" * 64}, "alicloud_infra_name", "at most 64 characters"),
    case("name-digit-first", {"alicloud_infra_name": "9mlflow"}, "alicloud_infra_name", "start with a letter"),
    case("name-trailing-newline", {"alicloud_infra_name": "mlflow-demo\n"}, "alicloud_infra_name", "start with a letter"),
    case("region-trailing-newline", {"alicloud_infra_region": "cn-hangzhou\n"}, "alicloud_infra_region", "region ID"),
    case("zone-of-other-region", {"alicloud_infra_zone_id": "cn-shanghai-b"}, "alicloud_infra_zone_id",
         "zone of the region"),
    case("zone-trailing-newline", {"alicloud_infra_zone_id": "cn-hangzhou-h\n"}, "alicloud_infra_zone_id",
         "zone of the region"),
    # Pay type.
    case("pay-type-unknown", {"alicloud_infra_pay_type": "Monthly"}, "alicloud_infra_pay_type",
         "must be one of: PostPaid, PrePaid"),
    case("pay-type-prepaid-bad-period", {"alicloud_infra_pay_type": "PrePaid", "alicloud_infra_prepaid_period_months": 10},
         "alicloud_infra_prepaid_period_months", "must be one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36, 48, 60"),
    # ECS: password and instance type.
    case("ecs-password-too-short", {"alicloud_infra_ecs_password": "Qz9!kWp"}, "alicloud_infra_ecs_password",
         PASSWORD_RULE),
    case("ecs-password-two-classes", {"alicloud_infra_ecs_password": "onlylower4digits77"}, "alicloud_infra_ecs_password",
         THREE_CLASSES),
    case("ecs-password-trailing-newline", {"alicloud_infra_ecs_password": "Vq7-ecs-Login\n"},
         "alicloud_infra_ecs_password", PASSWORD_RULE),
    case("ecs-password-control-char", {"alicloud_infra_ecs_password": "Vq7-ecs\x07Login"}, "alicloud_infra_ecs_password",
         PASSWORD_RULE),
    case("ecs-type-trailing-newline", {"alicloud_infra_ecs_instance_type": "ecs.g7.large\n"},
         "alicloud_infra_ecs_instance_type", "ECS instance type such as"),
    # RDS: password, class, account and database names.
    case("rds-password-two-classes", {"alicloud_infra_rds_password": "UPPERANDlowerOnly"}, "alicloud_infra_rds_password",
         THREE_CLASSES),
    case("rds-password-trailing-tab", {"alicloud_infra_rds_password": "Rk4(rds)Pass\t"}, "alicloud_infra_rds_password",
         PASSWORD_RULE),
    case("rds-password-special-rds-refuses", {"alicloud_infra_rds_password": "Rk4(rds)~Pass"},
         "alicloud_infra_rds_password", "the ones RDS accepts"),
    case("rds-class-escape-char", {"alicloud_infra_rds_instance_class": "pg.n2.2c.1m\x1b"},
         "alicloud_infra_rds_instance_class", "RDS class such as"),
    case("rds-account-trailing-newline", {"alicloud_infra_rds_account_name": "mlflow\n"},
         "alicloud_infra_rds_account_name", "2-63 lower case letters"),
    case("rds-database-dash-not-for-mlflow", {"alicloud_infra_rds_database_name": "ml-flow"},
         "alicloud_infra_rds_database_name", "mlflow_server_db_name"),
    # MLflow port.
    case("port-ssh", {"alicloud_infra_mlflow_port": 22}, "alicloud_infra_mlflow_port", "other than 22"),
    case("port-trailing-newline", {"alicloud_infra_mlflow_port": "5000\n"}, "alicloud_infra_mlflow_port",
         "a whole number written with digits only"),
    # The seed's shared directory.
    case("dir-relative", {"mlflow_server_artifacts_dir": "data/artifacts"}, "mlflow_server_artifacts_dir",
         "absolute path"),
    case("dir-double-slash-etc", {"mlflow_server_artifacts_dir": "//etc//"}, "mlflow_server_artifacts_dir",
         OWN_DIRECTORY),
    case("dir-dotdot-into-etc", {"mlflow_server_artifacts_dir": "/data/../etc/mlflow"}, "mlflow_server_artifacts_dir",
         'normalised "/etc/mlflow"'),
    case("dir-under-usr", {"mlflow_server_artifacts_dir": "/usr/local/mlflow"}, "mlflow_server_artifacts_dir",
         "under /usr"),
    case("dir-postgresql-data", {"mlflow_server_artifacts_dir": "/var/lib/postgresql/15/main/artifacts"},
         "mlflow_server_artifacts_dir", "under /var/lib/postgresql"),
    case("dir-other-var-lib", {"mlflow_server_artifacts_dir": "/var/lib/docker/mlflow"}, "mlflow_server_artifacts_dir",
         "under /var/lib only inside"),
    case("dir-virtualenv", {"mlflow_server_artifacts_dir": "/opt/mlflow/venv/artifacts"}, "mlflow_server_artifacts_dir",
         "under /opt/mlflow"),
    case("dir-home", {"mlflow_server_artifacts_dir": "/home/alice/artifacts"}, "mlflow_server_artifacts_dir",
         "under /home"),
    case("dir-tmp", {"mlflow_server_artifacts_dir": "/tmp/mlflow"}, "mlflow_server_artifacts_dir", "under /tmp"),
    case("dir-trailing-newline", {"mlflow_server_artifacts_dir": "/data/mlflow/artifacts\n"},
         "mlflow_server_artifacts_dir", "control characters"),
    # Ingress.
    case("cidr-trailing-newline", {"alicloud_infra_ssh_allowed_cidrs": ["203.0.113.10/32\n"]},
         "alicloud_infra_ssh_allowed_cidrs", "IPv4 CIDRs"),
    case("cidr-open-to-internet", {"alicloud_infra_ssh_allowed_cidrs": ["0.0.0.0/0"]},
         "alicloud_infra_allow_public_ingress", "0.0.0.0/0"),
    case("cidr-two-halves", {"alicloud_infra_ssh_allowed_cidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
         "alicloud_infra_ssh_allowed_cidrs", WHOLE_INTERNET),
    case("cidr-every-slash-8", {"alicloud_infra_mlflow_allowed_cidrs": ["%d.0.0.0/8" % first for first in range(256)]},
         "alicloud_infra_mlflow_allowed_cidrs", WHOLE_INTERNET),
    # AWX text answers: read as CIDRs separated by commas or white space, not character by character.
    case("cidr-text-bad-entry", {"alicloud_infra_ssh_allowed_cidrs": "203.0.113.10/32, 203.0.113.300/32"},
         "alicloud_infra_ssh_allowed_cidrs", "IPv4 CIDRs"),
    case("cidr-text-quarters", {"alicloud_infra_mlflow_allowed_cidrs": "0.0.0.0/1 128.0.0.0/2,192.0.0.0/2"},
         "alicloud_infra_mlflow_allowed_cidrs", WHOLE_INTERNET),
    case("public-switch-not-boolean", {"alicloud_infra_allow_public_ingress": "maybe"},
         "alicloud_infra_allow_public_ingress", "not a valid boolean"),
    # Network.
    case("vpc-id-malformed", {"alicloud_infra_vpc_id": "vpc_bp1abc", "alicloud_infra_vswitch_id": "vsw-bp1abc"},
         "alicloud_infra_vpc_id", "must look like vpc-"),
    case("vpc-without-vswitch", {"alicloud_infra_vpc_id": "vpc-bp1abc"}, "alicloud_infra_vswitch_id", "go together"),
    # MLflow admin password.
    case("admin-password-too-short", {"mlflow_server_auth_admin_password": "Adm1n-Short"},
         "mlflow_server_auth_admin_password", ADMIN_RULE),
    case("admin-password-trailing-newline", {"mlflow_server_auth_admin_password": "Adm1n-Secret-Zq\n"},
         "mlflow_server_auth_admin_password", ADMIN_RULE),
    # TLS front end: switch, ports, certificate and key.
    case("tls-switch-not-boolean", {"mlflow_server_tls_enabled": "sometimes"}, "mlflow_server_tls_enabled",
         "true or false"),
    case("tls-port-same-as-mlflow", dict(TLS_ON, mlflow_server_tls_port=5000), "mlflow_server_tls_port",
         "other than 22 and"),
    case("tls-certificate-without-key", dict(TLS_ON, mlflow_server_tls_certificate=CERTIFICATE),
         "mlflow_server_tls_private_key", TLS_PAIR),
    case("tls-key-encrypted", dict(TLS_ON, mlflow_server_tls_certificate=CERTIFICATE,
                                   mlflow_server_tls_private_key=PRIVATE_KEY.replace("PRIVATE", "ENCRYPTED PRIVATE")),
         "mlflow_server_tls_private_key", "unencrypted private key"),
    # The deployment's own switches and controller-side files.
    case("approve-cost-not-boolean", {"mlflow_deploy_approve_cost": "perhaps"}, "mlflow_deploy_approve_cost",
         "true or false"),
    case("server-name-not-dns", {"mlflow_deploy_server_name": "mlflow server!"}, "mlflow_deploy_server_name",
         "DNS name"),
    case("ca-file-missing", {"mlflow_deploy_tls_ca_file": "/nonexistent/ca.pem"}, "mlflow_deploy_tls_ca_file",
         "readable file on the controller"),
    case("secrets-dir-relative", {"mlflow_deploy_secrets_dir": "relative/secrets"}, "mlflow_deploy_secrets_dir",
         "absolute path on the controller"),
]
CASE_IDS = [param.id for param in CASES]

# Every deploy parameter (playbooks/vars/deployment.yml, the secrets it leaves out, and the cloud-side choices) that a
# case of the corpus must refuse.
DEPLOY_PARAMETERS = {
    "alicloud_infra_name", "alicloud_infra_region", "alicloud_infra_zone_id", "alicloud_infra_pay_type",
    "alicloud_infra_prepaid_period_months", "alicloud_infra_ecs_password", "alicloud_infra_ecs_instance_type",
    "alicloud_infra_rds_password", "alicloud_infra_rds_instance_class", "alicloud_infra_mlflow_port",
    "mlflow_server_artifacts_dir", "alicloud_infra_vpc_id", "alicloud_infra_vswitch_id",
    "alicloud_infra_ssh_allowed_cidrs", "alicloud_infra_mlflow_allowed_cidrs", "alicloud_infra_allow_public_ingress",
    "mlflow_server_auth_admin_password", "mlflow_server_tls_enabled", "mlflow_server_tls_port",
    "mlflow_deploy_approve_cost", "mlflow_deploy_server_name", "mlflow_deploy_tls_ca_file", "mlflow_deploy_secrets_dir",
}


def _deploy(run, emulator, deployment, tmp_path):
    secrets_dir = deployment.get("mlflow_deploy_secrets_dir", str(tmp_path / "secrets"))
    deployment = dict(deployment, mlflow_deploy_secrets_dir=secrets_dir)
    # No inventory and --limit localhost: only the provisioning play can run, never the one that logs in to hosts.
    return run("playbooks/deploy.yml", extra_vars=deployment, env=emulator.env(), args=["--limit", "localhost"],
               timeout=600)


class Refusal:
    """One case's run: its output, and what the cloud saw."""

    def __init__(self, deployment, run, requests, resources, access_key_secret):
        self.deployment, self.run, self.requests = deployment, run, requests
        self.resources, self.access_key_secret = resources, access_key_secret


@pytest.fixture(name="refusals", scope="module")
def refusals_fixture(request, tmp_path_factory):
    """The selected cases of CASES, run side by side: an emulator of its own each, so each request log is the case's."""
    selected = {item.callspec.id for item in request.session.items
                if item.originalname == "test_rule_stops_deploy_before_any_api_call"}
    root = tmp_path_factory.mktemp("bad-input")
    lock = threading.Lock()

    def refuse(param):
        overrides = param.values[0]
        with lock:
            emulator = _new_emulator()
        try:
            deployment = dict(VALID, **overrides)
            workdir = root / param.id
            workdir.mkdir()
            run = _deploy(run_playbook, emulator, deployment, workdir)
            return param.id, Refusal(deployment, run, emulator.requests(), emulator.resources(),
                                     emulator.access_key_secret)
        finally:
            emulator.stop()

    workers = max(2, min(4, (os.cpu_count() or 2) * 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(refuse, [param for param in CASES if param.id in selected]))


def _assert_refused(run, deployment, access_key_secret, variable, rule):
    output = run.stdout + run.stderr
    assert run.rc != 0, output[-3000:]
    failed_lines = [line for line in output.splitlines() if "fatal:" in line or "FAILED" in line or "ERROR" in line]
    assert failed_lines, output[-3000:]
    assert variable in output, output[-3000:]
    assert rule in output, output[-3000:]
    for name in SECRET_VARS:
        secret = deployment[name]
        assert secret not in output and secret.strip() not in output, "%s was echoed" % name
    assert access_key_secret not in output


def _mutating(requests):
    return [entry["action"] for entry in requests if not entry["action"].startswith(READ_ONLY_PREFIXES)]


@pytest.mark.parametrize("overrides,variable,rule", CASES)
def test_rule_stops_deploy_before_any_api_call(overrides, variable, rule, refusals, request):
    refusal = refusals[request.node.callspec.id]
    assert refusal.deployment == dict(VALID, **overrides)
    _assert_refused(refusal.run, refusal.deployment, refusal.access_key_secret, variable, rule)
    assert refusal.requests == [], json.dumps(refusal.requests)[:2000]
    assert not any(refusal.resources.values())


def test_the_corpus_refuses_every_deploy_parameter():
    """At least 40 cases, and every deploy parameter is the one refused in at least one of them."""
    assert len(CASES) >= 40 and len(set(CASE_IDS)) == len(CASES)
    refused = {param.values[1] for param in CASES}
    assert DEPLOY_PARAMETERS - refused == set()


def test_valid_parameters_pass_every_check_and_stop_at_the_price(alicloud_emulator, tmp_path):
    """The corpus's baseline is valid: it passes the first play's checks, is priced, and (not approved) orders
    nothing. Without this, every refusal above could be the baseline's fault."""
    deployment = dict(VALID, mlflow_deploy_approve_cost=False)
    run = _deploy(run_playbook, alicloud_emulator, deployment, tmp_path)
    assert run.rc == 0, (run.stdout + run.stderr)[-3000:]
    assert "Not approved: nothing was ordered" in run.stdout
    actions = [entry["action"] for entry in alicloud_emulator.requests()]
    assert "DescribePrice" in actions and _mutating(alicloud_emulator.requests()) == [], actions


def test_zone_unknown_in_region_refused_with_reads_only(alicloud_emulator, run_playbook, tmp_path):
    """A well-formed zone ID the region does not have can only be told by asking the cloud: reads are fine, creates
    are not."""
    deployment = dict(VALID, alicloud_infra_zone_id="cn-hangzhou-z")
    run = _deploy(run_playbook, alicloud_emulator, deployment, tmp_path)
    calls = alicloud_emulator.requests()
    assert _mutating(calls) == [], json.dumps(calls)[:2000]
    assert not any(alicloud_emulator.resources().values())
    _assert_refused(run, deployment, alicloud_emulator.access_key_secret, "alicloud_infra_zone_id", "cn-hangzhou-z")


def test_zone_unknown_in_region_refused_by_role_with_reads_only(alicloud_emulator, run_playbook, tmp_path):
    """The same through the role alone (playbooks/provision.yml): it reads the region's zones before creating."""
    deployment = dict(VALID, alicloud_infra_zone_id="cn-hangzhou-z", mlflow_deploy_secrets_dir=str(tmp_path))
    run = run_playbook("playbooks/provision.yml", extra_vars=deployment, env=alicloud_emulator.env(), timeout=600)
    _assert_refused(run, deployment, alicloud_emulator.access_key_secret, "alicloud_infra_zone_id", "cn-hangzhou-z")
    calls = alicloud_emulator.requests()
    assert calls and "DescribeZones" in [entry["action"] for entry in calls]
    assert _mutating(calls) == [], json.dumps(calls)[:2000]
    assert not any(alicloud_emulator.resources().values())


def _create_network(run_module, emulator, name, cidr, zone="cn-hangzhou-h"):
    vpc = run_module("alicloud_vpc", {"name": name + "-vpc", "cidr_block": cidr}, env=emulator.env())
    assert not vpc.failed, vpc.result
    vswitch = run_module("alicloud_vswitch", {"name": name + "-vsw", "vpc_id": vpc["vpc"]["id"], "zone_id": zone,
                                              "cidr_block": cidr.replace("0.0/16", "1.0/24")}, env=emulator.env())
    assert not vswitch.failed, vswitch.result
    return vpc["vpc"]["id"], vswitch["vswitch"]["id"]


@pytest.mark.parametrize("mismatch", ["other-vpc", "other-zone"])
def test_vswitch_not_in_vpc_or_zone_refused_with_reads_only(mismatch, alicloud_emulator, run_module, run_playbook,
                                                            tmp_path):
    """Existing IDs: the VSwitch must be in the given VPC and zone. Only read calls may follow the set-up."""
    vpc_a, vswitch_a = _create_network(run_module, alicloud_emulator, "net-a", "10.20.0.0/16")
    vpc_b, _vswitch_b = _create_network(run_module, alicloud_emulator, "net-b", "10.30.0.0/16")
    before = {kind: len(items) for kind, items in alicloud_emulator.resources().items()}
    setup_calls = len(alicloud_emulator.requests())
    if mismatch == "other-vpc":
        deployment = dict(VALID, alicloud_infra_vpc_id=vpc_b, alicloud_infra_vswitch_id=vswitch_a)
        variable = "alicloud_infra_vpc_id"
    else:
        deployment = dict(VALID, alicloud_infra_vpc_id=vpc_a, alicloud_infra_vswitch_id=vswitch_a,
                          alicloud_infra_zone_id="cn-hangzhou-i")
        variable = "alicloud_infra_zone_id"
    run = _deploy(run_playbook, alicloud_emulator, deployment, tmp_path)
    _assert_refused(run, deployment, alicloud_emulator.access_key_secret, variable, "alicloud_infra_vswitch_id " + vswitch_a)
    calls = alicloud_emulator.requests(since=setup_calls)
    assert calls, "the VSwitch was never read: the check cannot have run"
    assert _mutating(calls) == [], json.dumps(calls)[:2000]
    assert {kind: len(items) for kind, items in alicloud_emulator.resources().items()} == before


@pytest.mark.parametrize("overrides, variable, rule", [
    ({"alicloud_infra_ecs_instance_type": "ecs.g8i.large"}, "alicloud_infra_ecs_instance_type", "is not sold there"),
    ({"alicloud_infra_ecs_instance_type": "ecs.g7.4xlarge"}, "alicloud_infra_ecs_instance_type", "is not sold there"),
    ({"alicloud_infra_zone_id": "cn-hangzhou-k", "alicloud_infra_ecs_instance_type": "ecs.r7.large"},
     "alicloud_infra_ecs_instance_type", "is sold out there"),
    ({"alicloud_infra_rds_instance_class": "pg.x4.large.2c"}, "alicloud_infra_rds_instance_class", "is not sold there"),
    ({"alicloud_infra_zone_id": "cn-hangzhou-k", "alicloud_infra_rds_instance_class": "pg.n4.large.1",
      "alicloud_infra_pay_type": "PrePaid"}, "alicloud_infra_rds_instance_class", "is not sold there"),
], ids=["ecs-type-not-in-zone", "ecs-type-not-sold", "ecs-type-sold-out", "rds-class-not-in-zone",
        "rds-class-sold-out"])
def test_what_the_zone_does_not_sell_is_refused_before_the_price(overrides, variable, rule, alicloud_emulator,
                                                                 run_playbook, tmp_path):
    """Only the cloud knows what a zone sells now: deploy.yml asks it as the console does (read calls), and refuses
    before the price inquiry and before any order."""
    deployment = dict(VALID, **overrides)
    run = _deploy(run_playbook, alicloud_emulator, deployment, tmp_path)
    _assert_refused(run, deployment, alicloud_emulator.access_key_secret, variable, rule)
    assert deployment["alicloud_infra_zone_id"] in run.stdout
    actions = [entry["action"] for entry in alicloud_emulator.requests()]
    assert {"DescribeAvailableResource", "DescribeAvailableClasses"} <= set(actions), actions
    assert "DescribePrice" not in actions and _mutating(alicloud_emulator.requests()) == [], actions
    assert not any(alicloud_emulator.resources().values())
