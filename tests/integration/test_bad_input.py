"""Bad input to playbooks/deploy.yml: every seed parameter rule stops the deploy with a message that names the
variable and the rule, never echoes a secret, and changes nothing in the cloud (the emulator's request log proves it).

The runs use the simulated emulator, whose hosts have fake addresses: `--limit localhost` keeps the install play
(which would SSH to them) from ever running, even if a rule were not enforced.
"""
import json

import pytest

# Read-only calls: the two rules that can only be checked against the cloud may make these, nothing else.
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

# (overrides, the variable the message must name, a phrase of the rule the message must state)
CASES = [
    pytest.param({"alicloud_infra_name": "m" + "x" * 64}, "alicloud_infra_name", "at most 64 characters",
                 id="name-too-long"),
    pytest.param({"alicloud_infra_name": "9mlflow"}, "alicloud_infra_name", "start with a letter", id="name-digit-first"),
    pytest.param({"alicloud_infra_name": "ml.flow"}, "alicloud_infra_name", "letters, digits, '-'", id="name-bad-char"),
    pytest.param({"alicloud_infra_ecs_password": "Qz9!kWp"}, "alicloud_infra_ecs_password", PASSWORD_RULE,
                 id="ecs-password-too-short"),
    pytest.param({"alicloud_infra_ecs_password": "Lq8#" + "wx" * 13 + "T"}, "alicloud_infra_ecs_password", PASSWORD_RULE,
                 id="ecs-password-too-long"),
    pytest.param({"alicloud_infra_ecs_password": "onlylower4digits77"}, "alicloud_infra_ecs_password", THREE_CLASSES,
                 id="ecs-password-two-classes"),
    pytest.param({"alicloud_infra_rds_password": "Rz3%tQa"}, "alicloud_infra_rds_password", PASSWORD_RULE,
                 id="rds-password-too-short"),
    pytest.param({"alicloud_infra_rds_password": "Hb5=" + "yz" * 13 + "K"}, "alicloud_infra_rds_password", PASSWORD_RULE,
                 id="rds-password-too-long"),
    pytest.param({"alicloud_infra_rds_password": "UPPERANDlowerOnly"}, "alicloud_infra_rds_password", THREE_CLASSES,
                 id="rds-password-two-classes"),
    pytest.param({"alicloud_infra_mlflow_port": 0}, "alicloud_infra_mlflow_port", "65535", id="port-zero"),
    pytest.param({"alicloud_infra_mlflow_port": 65536}, "alicloud_infra_mlflow_port", "65535", id="port-above-range"),
    pytest.param({"alicloud_infra_mlflow_allowed_cidrs": ["203.0.113.0/33"]}, "alicloud_infra_mlflow_allowed_cidrs",
                 "IPv4 CIDRs", id="cidr-bad-mask"),
    pytest.param({"alicloud_infra_ssh_allowed_cidrs": ["203.0.113.300/32"]}, "alicloud_infra_ssh_allowed_cidrs",
                 "IPv4 CIDRs", id="cidr-bad-octet"),
    pytest.param({"alicloud_infra_ssh_allowed_cidrs": ["0.0.0.0/0"]}, "alicloud_infra_allow_public_ingress",
                 "0.0.0.0/0", id="cidr-open-to-internet"),
    # AWX text answers: read as CIDRs separated by commas or white space, not character by character.
    pytest.param({"alicloud_infra_ssh_allowed_cidrs": "203.0.113.10/32, 203.0.113.300/32"},
                 "alicloud_infra_ssh_allowed_cidrs", "IPv4 CIDRs", id="cidr-text-bad-entry"),
    pytest.param({"alicloud_infra_mlflow_allowed_cidrs": "203.0.113.0/24\n0.0.0.0/0"}, "alicloud_infra_allow_public_ingress",
                 "0.0.0.0/0", id="cidr-text-open-to-internet"),
    pytest.param({"alicloud_infra_zone_id": "cn-shanghai-b"}, "alicloud_infra_zone_id", "zone of the region",
                 id="zone-of-other-region"),
    pytest.param({"alicloud_infra_pay_type": "Monthly"}, "alicloud_infra_pay_type", "PostPaid (pay as you go) or PrePaid",
                 id="pay-type-unknown"),
    pytest.param({"alicloud_infra_pay_type": "PrePaid", "alicloud_infra_prepaid_period_months": 10},
                 "alicloud_infra_prepaid_period_months", "must be one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36, 48, 60",
                 id="pay-type-prepaid-bad-period"),
]


def _deploy(run_playbook, emulator, deployment, tmp_path):
    deployment = dict(deployment, mlflow_deploy_secrets_dir=str(tmp_path / "secrets"))
    # No inventory and --limit localhost: only the provisioning play can run, never the one that logs in to hosts.
    return run_playbook("playbooks/deploy.yml", extra_vars=deployment, env=emulator.env(), args=["--limit", "localhost"],
                        timeout=600)


def _assert_refused(run, deployment, emulator, variable, rule):
    output = run.stdout + run.stderr
    assert run.rc != 0, output[-3000:]
    failed_lines = [line for line in output.splitlines() if "fatal:" in line or "FAILED" in line or "ERROR" in line]
    assert failed_lines, output[-3000:]
    assert variable in output, output[-3000:]
    assert rule in output, output[-3000:]
    for name in SECRET_VARS:
        assert deployment[name] not in output, "%s was echoed" % name
    assert emulator.access_key_secret not in output


def _mutating(requests):
    return [entry["action"] for entry in requests if not entry["action"].startswith(READ_ONLY_PREFIXES)]


@pytest.mark.parametrize("overrides,variable,rule", CASES)
def test_rule_stops_deploy_before_any_api_call(overrides, variable, rule, alicloud_emulator, run_playbook, tmp_path):
    deployment = dict(VALID, **overrides)
    run = _deploy(run_playbook, alicloud_emulator, deployment, tmp_path)
    _assert_refused(run, deployment, alicloud_emulator, variable, rule)
    calls = alicloud_emulator.requests()
    assert calls == [], json.dumps(calls)[:2000]
    assert not any(alicloud_emulator.resources().values())


def test_zone_unknown_in_region_refused_with_reads_only(alicloud_emulator, run_playbook, tmp_path):
    """A well-formed zone ID the region does not have can only be told by asking the cloud: reads are fine, creates
    are not."""
    deployment = dict(VALID, alicloud_infra_zone_id="cn-hangzhou-z")
    run = _deploy(run_playbook, alicloud_emulator, deployment, tmp_path)
    calls = alicloud_emulator.requests()
    assert _mutating(calls) == [], json.dumps(calls)[:2000]
    assert not any(alicloud_emulator.resources().values())
    _assert_refused(run, deployment, alicloud_emulator, "alicloud_infra_zone_id", "cn-hangzhou-z")


def test_zone_unknown_in_region_refused_by_role_with_reads_only(alicloud_emulator, run_playbook, tmp_path):
    """The same through the role alone (playbooks/provision.yml): it reads the region's zones before creating."""
    deployment = dict(VALID, alicloud_infra_zone_id="cn-hangzhou-z", mlflow_deploy_secrets_dir=str(tmp_path))
    run = run_playbook("playbooks/provision.yml", extra_vars=deployment, env=alicloud_emulator.env(), timeout=600)
    _assert_refused(run, deployment, alicloud_emulator, "alicloud_infra_zone_id", "cn-hangzhou-z")
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
    _assert_refused(run, deployment, alicloud_emulator, variable, "alicloud_infra_vswitch_id " + vswitch_a)
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
    _assert_refused(run, deployment, alicloud_emulator, variable, rule)
    assert deployment["alicloud_infra_zone_id"] in run.stdout
    actions = [entry["action"] for entry in alicloud_emulator.requests()]
    assert {"DescribeAvailableResource", "DescribeAvailableClasses"} <= set(actions), actions
    assert "DescribePrice" not in actions and _mutating(alicloud_emulator.requests()) == [], actions
    assert not any(alicloud_emulator.resources().values())
