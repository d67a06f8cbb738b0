"""policies/computenest-mlflow-ram-policy.json is complete and least-privilege, proven on the emulator.

One lifecycle through the collection's own entry points, signed with an access key the emulator binds to the policy:
deploy.yml's price step, the alicloud_infra role as deploy.yml runs it, the alicloud_ecs inventory plugin, a re-deploy
that changes parameters, destroy.yml twice, and a subscription deployment that destroy.yml releases early.
(deploy.yml's install play logs in to the host over SSH, which the simulated backend cannot serve, so provisioning
runs through the role the way deploy.yml includes it.) Every call must pass the policy, and the set of actions in the
request log must equal the set the policy allows. A key whose policy lacks one action
fails with Forbidden.RAM naming that action.
"""
import json
import os
import secrets
import subprocess
import sys

import pytest

from conftest import ROOT, base_env

POLICY_FILE = os.path.join(ROOT, "policies", "computenest-mlflow-ram-policy.json")
INVENTORY = os.path.join(ROOT, "inventory", "mlflow.alicloud_ecs.yml")
DEPLOYMENT = {
    "alicloud_infra_name": "ram-mlflow",
    "alicloud_infra_region": "cn-hangzhou",
    "alicloud_infra_zone_id": "cn-hangzhou-h",
    "alicloud_infra_pay_type": "PostPaid",
    "alicloud_infra_ecs_instance_type": "ecs.g7.large",
    "alicloud_infra_ecs_password": "Vq7-ecs-Login",
    "alicloud_infra_rds_instance_class": "pg.n2.2c.1m",
    "alicloud_infra_rds_password": "Rk4(rds)Pass",
    "alicloud_infra_ssh_allowed_cidrs": ["203.0.113.10/32"],
    "alicloud_infra_mlflow_allowed_cidrs": ["203.0.113.0/24"],
}
# What the re-deploy changes: who may reach MLflow, the RDS class, an extra tag, the database password.
CHANGES = {
    "alicloud_infra_mlflow_allowed_cidrs": ["198.51.100.0/24"],
    "alicloud_infra_rds_instance_class": "pg.n2.4c.2m",
    "alicloud_infra_tags": {"team": "ml-platform"},
    "alicloud_infra_rds_password": "Rk5(rds)Pass",
    "alicloud_infra_rds_update_password": "always",
}
# A second deployment bought as a subscription and released before it expires.
SUBSCRIPTION = {
    "alicloud_infra_name": "ram-prepaid",
    "alicloud_infra_pay_type": "PrePaid",
    "alicloud_infra_prepaid_period_months": 1,
    "alicloud_infra_release_prepaid": True,
}
# The provisioning play of deploy.yml, without the price step (run on its own first) and the host lookup.
PROVISION = """
- name: Provision as deploy.yml does
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - {vars_file}
  tasks:
    - name: Provision VPC, VSwitch, security group, ECS and RDS PostgreSQL
      ansible.builtin.include_role:
        name: computenest.mlflow.alicloud_infra
      vars:
        alicloud_infra_state: present
"""


def load_policy():
    with open(POLICY_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def allowed_actions(policy):
    actions = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        assert not any("*" in action for action in listed), "exact actions only: %s" % listed
        actions.update(listed)
    return actions


def bound_cloud(factory, policy):
    """An emulator whose second key is bound to the policy; returns it and that key's environment."""
    key, secret = "LTAIram" + secrets.token_hex(6), secrets.token_urlsafe(24)
    emulator = factory(extra_credentials={key: secret}, ram_policies={key: policy})
    env = dict(emulator.env(), ALICLOUD_ACCESS_KEY=key, ALICLOUD_SECRET_KEY=secret)
    return emulator, env


def run(command, env):
    return subprocess.run(command, capture_output=True, text=True, env=base_env(env), cwd=ROOT,
                          stdin=subprocess.DEVNULL, timeout=600, check=False)


def ansible(tool):
    return os.path.join(os.path.dirname(sys.executable), tool)


def lifecycle(env, tmp_path, stop_on_failure=True):
    """Price step, deploy, inventory, re-deploy, destroy twice, then a subscription deployment released early;
    returns the runs in order."""
    vars_file = tmp_path / "deployment.json"
    vars_file.write_text(json.dumps(dict(DEPLOYMENT, mlflow_deploy_secrets_dir=str(tmp_path / "secrets"))))
    vars_file.chmod(0o600)
    provision = tmp_path / "provision.yml"
    provision.write_text(PROVISION.format(vars_file=os.path.join(ROOT, "playbooks", "vars", "deployment.yml")))
    extra = ["-e", "@" + str(vars_file)]
    # The re-deploy changes what a user may change on a running deployment, so the calls that converge it count too.
    changed_file = tmp_path / "changed.json"
    changed_file.write_text(json.dumps(dict(DEPLOYMENT, mlflow_deploy_secrets_dir=str(tmp_path / "secrets"),
                                            **CHANGES)))
    changed_file.chmod(0o600)
    prepaid_file = tmp_path / "prepaid.json"
    prepaid_file.write_text(json.dumps(dict(DEPLOYMENT, mlflow_deploy_secrets_dir=str(tmp_path / "secrets"),
                                            **SUBSCRIPTION)))
    prepaid_file.chmod(0o600)
    steps = [
        ("price", [ansible("ansible-playbook"), "playbooks/deploy.yml", "--limit", "localhost"] + extra),
        ("deploy", [ansible("ansible-playbook"), str(provision)] + extra),
        ("inventory", [ansible("ansible-inventory"), "-i", INVENTORY, "--list"]),
        ("re-deploy", [ansible("ansible-playbook"), str(provision), "-e", "@" + str(changed_file)]),
        ("destroy", [ansible("ansible-playbook"), "playbooks/destroy.yml"] + extra),
        ("destroy again", [ansible("ansible-playbook"), "playbooks/destroy.yml"] + extra),
        # A subscription deployment, released early by destroy.yml.
        ("subscription deploy", [ansible("ansible-playbook"), str(provision), "-e", "@" + str(prepaid_file)]),
        ("subscription release", [ansible("ansible-playbook"), "playbooks/destroy.yml", "-e", "@" + str(prepaid_file)]),
    ]
    runs = []
    for name, command in steps:
        result = run(command, env)
        runs.append((name, result))
        if result.returncode != 0 and stop_on_failure:
            break
    return runs


def describe(runs):
    return "\n".join("== %s rc=%s\n%s\n%s" % (name, result.returncode, result.stdout[-3000:], result.stderr[-1500:])
                     for name, result in runs)


def test_policy_allows_exactly_what_deploy_inventory_and_destroy_call(alicloud_emulator_factory, tmp_path):
    policy = load_policy()
    emulator, env = bound_cloud(alicloud_emulator_factory, policy)
    runs = lifecycle(env, tmp_path)
    assert [result.returncode for _name, result in runs] == [0] * 8, describe(runs)
    inventory = json.loads(runs[2][1].stdout)
    assert len(inventory["mlflow_deployment_ram_mlflow"]["hosts"]) == 1
    assert not any(emulator.resources().values()), emulator.resources()
    log = emulator.requests()
    refused = [entry for entry in log if entry["code"] == "Forbidden.RAM"]
    assert refused == [], refused
    used = {"%s:%s" % (entry["product"], entry["action"]) for entry in log}
    allowed = allowed_actions(policy)
    assert used - allowed == set(), "called but not allowed"
    assert allowed - used == set(), "allowed but never called"


def test_a_policy_missing_one_action_is_refused_naming_it(alicloud_emulator_factory, tmp_path):
    policy = load_policy()
    missing = "ecs:RunInstances"
    for statement in policy["Statement"]:
        statement["Action"] = [action for action in statement["Action"] if action != missing]
    emulator, env = bound_cloud(alicloud_emulator_factory, policy)
    runs = lifecycle(env, tmp_path)
    name, failed = runs[-1]
    assert name == "deploy" and failed.returncode != 0, describe(runs)
    assert "ECS RunInstances failed: Forbidden.RAM" in failed.stdout, describe(runs)
    refused = {(entry["product"], entry["action"]) for entry in emulator.requests() if entry["code"] == "Forbidden.RAM"}
    assert refused == {("ecs", "RunInstances")}
    assert emulator.resources()["instances"] == []


@pytest.mark.parametrize("statement_key", ["Version", "Statement"])
def test_policy_document_is_well_formed(statement_key):
    policy = load_policy()
    assert statement_key in policy
    assert policy["Version"] == "1"
    for statement in policy["Statement"]:
        assert set(statement) <= {"Effect", "Action", "Resource"}
