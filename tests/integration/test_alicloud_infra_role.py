"""The alicloud_infra role against the local emulator, through ansible-playbook (tests/conftest.py run_playbook).

Deploy, deploy again (no change), tear down (nothing left), tear down again; a deploy through throttling, 5xx answers
and lost replies; an existing network that teardown must leave alone; and bad seed parameters refused before any API
call. What the cloud holds is read from the emulator, not from the role's own report.
"""
import json

import pytest

TAG_KEY = "computenest-mlflow-deployment"
ECS_PASSWORD = "Ecs(Login)42"
RDS_PASSWORD = "Rds-Account-42"
OFFICE = "203.0.113.0/24"

PLAYBOOK = """
- name: Apply alicloud_infra and keep what it publishes
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: computenest.mlflow.alicloud_infra
  post_tasks:
    - name: Save the published facts
      ansible.builtin.copy:
        content: "{{ alicloud_infra_result | to_nice_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
      changed_when: false  # the test's own bookkeeping: only the role's changes count
      when: alicloud_infra_state | default('present') == 'present'
"""


@pytest.fixture(name="deploy")
def deploy_fixture(tmp_path, alicloud_emulator, run_playbook):
    playbook = tmp_path / "apply.yml"
    playbook.write_text(PLAYBOOK)
    result_file = tmp_path / "result.json"

    def apply(omit=(), **overrides):
        extra = seed_parameters()
        extra.update(overrides)
        for key in omit:
            extra.pop(key)
        extra["result_file"] = str(result_file)
        if result_file.exists():
            result_file.unlink()
        run = run_playbook(str(playbook), extra_vars=extra, env=alicloud_emulator.env())
        run.published = json.loads(result_file.read_text()) if result_file.exists() else None
        return run
    return apply


def seed_parameters():
    return {
        "alicloud_infra_name": "mlflow-demo",
        "alicloud_infra_region": "cn-hangzhou",
        "alicloud_infra_zone_id": "cn-hangzhou-i",
        "alicloud_infra_pay_type": "PostPaid",
        "alicloud_infra_ecs_password": ECS_PASSWORD,
        "alicloud_infra_ecs_instance_type": "ecs.g7.large",
        "alicloud_infra_rds_password": RDS_PASSWORD,
        "alicloud_infra_rds_instance_class": "pg.n2.2c.1m",
        "alicloud_infra_mlflow_port": 5000,
        "alicloud_infra_ssh_allowed_cidrs": [OFFICE],
        "alicloud_infra_mlflow_allowed_cidrs": [OFFICE, "198.51.100.7/32"],
    }


def counts(emulator):
    return dict((kind, len(items)) for kind, items in emulator.resources().items() if kind != "key_pairs")


def explain(run):
    return "rc=%s\n%s\n%s" % (run.rc, run.stdout[-5000:], run.stderr[-3000:])


def assert_no_secret(run):
    for secret in (ECS_PASSWORD, RDS_PASSWORD):
        assert secret not in run.stdout and secret not in run.stderr


def assert_one_tagged_deployment(emulator, name="mlflow-demo"):
    resources = emulator.resources()
    assert counts(emulator) == {"vpcs": 1, "vswitches": 1, "security_groups": 1, "instances": 1, "db_instances": 1}
    for kind in ("vpcs", "vswitches", "security_groups", "instances", "db_instances"):
        assert resources[kind][0]["tags"].get(TAG_KEY) == name, (kind, resources[kind][0]["tags"])
    return resources


@pytest.mark.slow
def test_deploy_again_teardown_twice_and_rebuild(deploy, alicloud_emulator):
    emu = alicloud_emulator
    first = deploy()
    assert first.rc == 0, explain(first)
    assert first.stat("localhost", "changed") > 0
    assert_no_secret(first)
    resources = assert_one_tagged_deployment(emu)

    published = first.published
    ecs, rds = resources["instances"][0], resources["db_instances"][0]
    assert published["ecs_instance_id"] == ecs["instance_id"]
    assert published["ecs_private_ip"] and published["ecs_public_ip"]
    assert published["rds_instance_id"] == rds["db_instance_id"]
    assert published["rds_connection_string"] == rds["connection_string"] and published["rds_port"] == 5432
    assert (published["rds_database"], published["rds_user"]) == ("mlflow", "mlflow")
    assert not any("password" in key for key in published)
    assert RDS_PASSWORD not in json.dumps(published) and ECS_PASSWORD not in json.dumps(published)

    # Least privilege: SSH and MLflow only from the listed CIDRs; the database only from the ECS instance.
    rules = sorted((rule["PortRange"], rule["SourceCidrIp"])
                   for rule in resources["security_groups"][0]["permissions"] if rule["Direction"] == "ingress")
    assert rules == sorted([("22/22", OFFICE), ("5000/5000", OFFICE), ("5000/5000", "198.51.100.7/32")])
    assert rds["security_ip_arrays"] == {"default": ["127.0.0.1"], "mlflow": [published["ecs_private_ip"]]}
    assert list(rds["accounts"]) == ["mlflow"] and list(rds["databases"]) == ["mlflow"]
    assert rds["databases"]["mlflow"]["owner"] == "mlflow"

    # Parallel provisioning: RDS is requested before the ECS instance and waited for only after it.
    actions = [entry["action"] for entry in emu.requests()]
    assert actions.index("CreateDBInstance") < actions.index("CreateSecurityGroup") < actions.index("RunInstances")
    assert actions.index("RunInstances") < actions.index("CreateAccount")

    mark = len(emu.requests())
    second = deploy()
    assert second.rc == 0, explain(second)
    assert second.stat("localhost", "changed") == 0, explain(second)
    assert [entry["action"] for entry in emu.requests(mark)
            if not entry["action"].startswith(("Describe", "List"))] == []
    assert second.published == published
    assert_one_tagged_deployment(emu)

    teardown = deploy(alicloud_infra_state="absent")
    assert teardown.rc == 0, explain(teardown)
    assert teardown.stat("localhost", "changed") > 0
    assert sum(counts(emu).values()) == 0, counts(emu)

    again = deploy(alicloud_infra_state="absent")
    assert again.rc == 0, explain(again)
    assert again.stat("localhost", "changed") == 0
    assert sum(counts(emu).values()) == 0

    # The same deployment can be built again after a teardown (fresh resources, not the deleted ones).
    rebuilt = deploy()
    assert rebuilt.rc == 0, explain(rebuilt)
    assert_one_tagged_deployment(emu)
    assert rebuilt.published["rds_instance_id"] != published["rds_instance_id"]
    assert rebuilt.published["ecs_instance_id"] != published["ecs_instance_id"]
    final = deploy(alicloud_infra_state="absent")
    assert final.rc == 0, explain(final)
    assert sum(counts(emu).values()) == 0


@pytest.mark.slow
def test_deploy_through_throttling_5xx_and_lost_replies(deploy, alicloud_emulator):
    emu = alicloud_emulator
    emu.inject_fault("throttling", rate=0.15)
    emu.inject_fault("unavailable", rate=0.08)
    emu.inject_fault("internal", rate=0.05)
    for action in ("CreateVpc", "CreateVSwitch", "CreateDBInstance", "CreateSecurityGroup", "RunInstances",
                   "CreateAccount", "CreateDatabase", "ModifySecurityIps"):
        emu.inject_fault("lost", action=action, count=1)
    run = deploy()
    assert run.rc == 0, explain(run)
    assert_one_tagged_deployment(emu)
    faults = [entry["fault"] for entry in emu.requests() if entry["fault"]]
    assert {"throttling", "unavailable", "internal", "lost"} <= set(faults)
    assert faults.count("lost") == 8
    rds = emu.resources()["db_instances"][0]
    assert list(rds["accounts"]) == ["mlflow"] and list(rds["databases"]) == ["mlflow"]

    emu.clear_faults()
    teardown = deploy(alicloud_infra_state="absent")
    assert teardown.rc == 0, explain(teardown)
    assert sum(counts(emu).values()) == 0


@pytest.mark.slow
def test_existing_network_is_used_and_left_alone(deploy, alicloud_emulator):
    emu = alicloud_emulator
    from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import AlicloudClient, wait_until
    endpoint = (emu.endpoint, "http")
    client = AlicloudClient(emu.access_key_id, emu.access_key_secret, emu.region,
                            endpoints={"ecs": endpoint, "vpc": endpoint, "rds": endpoint})
    vpc_id = client.call("vpc", "CreateVpc", {"RegionId": emu.region, "CidrBlock": "10.20.0.0/16",
                                              "VpcName": "corporate"})["VpcId"]
    wait_until(lambda: client.call("vpc", "DescribeVpcs", {"RegionId": emu.region, "VpcId": vpc_id}),
               lambda body: body["Vpcs"]["Vpc"][0]["Status"] == "Available", timeout=30, delay=0.2)
    vswitch_id = client.call("vpc", "CreateVSwitch", {"RegionId": emu.region, "VpcId": vpc_id,
                                                      "ZoneId": "cn-hangzhou-i",
                                                      "CidrBlock": "10.20.1.0/24"})["VSwitchId"]
    wait_until(lambda: client.call("vpc", "DescribeVSwitches", {"RegionId": emu.region, "VSwitchId": vswitch_id}),
               lambda body: body["VSwitches"]["VSwitch"][0]["Status"] == "Available", timeout=30, delay=0.2)

    network = dict(alicloud_infra_vpc_id=vpc_id, alicloud_infra_vswitch_id=vswitch_id,
                   alicloud_infra_rds_whitelist="vswitch_cidr")
    run = deploy(**network)
    assert run.rc == 0, explain(run)
    assert counts(emu) == {"vpcs": 1, "vswitches": 1, "security_groups": 1, "instances": 1, "db_instances": 1}
    resources = emu.resources()
    assert resources["instances"][0]["vswitch_id"] == vswitch_id
    assert resources["db_instances"][0]["security_ip_arrays"]["mlflow"] == ["10.20.1.0/24"]
    assert TAG_KEY not in resources["vpcs"][0]["tags"]

    teardown = deploy(alicloud_infra_state="absent", **network)
    assert teardown.rc == 0, explain(teardown)
    assert counts(emu) == {"vpcs": 1, "vswitches": 1, "security_groups": 0, "instances": 0, "db_instances": 0}


def ingress_rules(emulator):
    return sorted((rule["PortRange"], rule["SourceCidrIp"])
                  for rule in emulator.resources()["security_groups"][0]["permissions"] if rule["Direction"] == "ingress")


@pytest.mark.slow
def test_tls_front_end_port_replaces_the_mlflow_port(deploy, alicloud_emulator):
    """With the TLS front end the group opens SSH and the TLS port, exactly, to exactly the listed CIDRs; the
    clear-text MLflow port is not opened. Turning TLS off swaps them back (the group is purged to what is declared).
    The RDS whitelist, asked for the VSwitch, holds exactly the VSwitch CIDR."""
    emu = alicloud_emulator
    tls = deploy(alicloud_infra_mlflow_tls_port=443, alicloud_infra_rds_whitelist="vswitch_cidr")
    assert tls.rc == 0, explain(tls)
    assert ingress_rules(emu) == sorted([("22/22", OFFICE), ("443/443", OFFICE), ("443/443", "198.51.100.7/32")])
    assert tls.published["mlflow_port"] == 443
    assert tls.published["mlflow_url"] == "https://%s:443" % tls.published["ecs_public_ip"]
    rds = emu.resources()["db_instances"][0]
    assert rds["security_ip_arrays"] == {"default": ["127.0.0.1"], "mlflow": ["192.168.0.0/24"]}

    plain = deploy(alicloud_infra_rds_whitelist="vswitch_cidr")
    assert plain.rc == 0, explain(plain)
    assert ingress_rules(emu) == sorted([("22/22", OFFICE), ("5000/5000", OFFICE), ("5000/5000", "198.51.100.7/32")])
    assert plain.published["mlflow_url"] == "http://%s:5000" % plain.published["ecs_public_ip"]

    teardown = deploy(alicloud_infra_state="absent")
    assert teardown.rc == 0, explain(teardown)
    assert sum(counts(emu).values()) == 0


@pytest.mark.slow
def test_cidrs_given_as_survey_text_open_the_same_rules(deploy, alicloud_emulator):
    """AWX text and textarea answers arrive as strings: commas, spaces and newlines separate the CIDRs, exactly as a
    YAML list would give them (a string read character by character would be refused, or worse)."""
    run = deploy(alicloud_infra_ssh_allowed_cidrs=OFFICE + "\n",
                 alicloud_infra_mlflow_allowed_cidrs=OFFICE + ",\n198.51.100.7/32 ")
    assert run.rc == 0, explain(run)
    assert ingress_rules(alicloud_emulator) == sorted(
        [("22/22", OFFICE), ("5000/5000", OFFICE), ("5000/5000", "198.51.100.7/32")])
    assert "open to %s, 198.51.100.7/32" % OFFICE in run.stdout, explain(run)


@pytest.mark.parametrize("override, named", [
    ({"alicloud_infra_name": "1-starts-with-a-digit"}, "alicloud_infra_name must be at most 64 characters"),
    ({"alicloud_infra_name": "a" * 65}, "alicloud_infra_name must be at most 64 characters"),
    ({"alicloud_infra_ecs_password": "alllowercase"}, "alicloud_infra_ecs_password must be 8-30 characters"),
    ({"alicloud_infra_ecs_password": "Short1!"}, "alicloud_infra_ecs_password must be 8-30 characters"),
    ({"alicloud_infra_rds_password": "Abcdefgh1234" * 3}, "alicloud_infra_rds_password must be 8-30 characters"),
    ({"alicloud_infra_rds_password": "Tilde~Pass123"}, "alicloud_infra_rds_password may use only these specials"),
    ({"alicloud_infra_pay_type": "Monthly"}, "alicloud_infra_pay_type"),
    ({"alicloud_infra_zone_id": "cn-shanghai-e"}, "alicloud_infra_zone_id must be a zone of the region"),
    ({"alicloud_infra_ssh_allowed_cidrs": ["0.0.0.0/0"]}, "alicloud_infra_allow_public_ingress=true"),
    ({"alicloud_infra_mlflow_allowed_cidrs": ["10.0.0.300/8"]}, "alicloud_infra_mlflow_allowed_cidrs must hold IPv4"),
    ({"alicloud_infra_vpc_id": "vpc-bp1abc"}, "alicloud_infra_vpc_id and alicloud_infra_vswitch_id go together"),
    ({"alicloud_infra_mlflow_port": 22}, "alicloud_infra_mlflow_port must be a TCP port from 1 to 65535 other than 22"),
    ({"alicloud_infra_mlflow_tls_port": 5000}, "alicloud_infra_mlflow_tls_port must be 0 (no TLS front end) or a TCP port"),
    ({"alicloud_infra_mlflow_tls_port": 22}, "alicloud_infra_mlflow_tls_port must be 0 (no TLS front end) or a TCP port"),
    ({"alicloud_infra_mlflow_tls_port": 70000}, "alicloud_infra_mlflow_tls_port must be 0 (no TLS front end) or a TCP port"),
    ({"alicloud_infra_rds_storage_gb": 23}, "alicloud_infra_rds_storage_gb must be a multiple of 5"),
    ({"alicloud_infra_ecs_instance_type": ""}, "alicloud_infra_ecs_instance_type must be an ECS instance type"),
    ({"alicloud_infra_rds_account_name": "pg_mlflow"}, "alicloud_infra_rds_account_name must be"),
])
def test_bad_seed_parameters_fail_before_any_api_call(deploy, alicloud_emulator, override, named):
    run = deploy(**override)
    assert run.rc != 0
    assert named in run.stdout + run.stderr, explain(run)
    assert_no_secret(run)
    assert alicloud_emulator.requests() == []


@pytest.mark.parametrize("missing", ["alicloud_infra_name", "alicloud_infra_region"])
def test_missing_seed_parameter_is_named_before_any_api_call(deploy, alicloud_emulator, missing):
    run = deploy(omit=[missing])
    assert run.rc != 0
    assert "missing required arguments: %s" % missing in run.stdout + run.stderr, explain(run)
    assert alicloud_emulator.requests() == []
