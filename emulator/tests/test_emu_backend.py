"""The InstanceBackend interface: which hooks fire when, what they receive, and readiness gating."""
import json
import re

import pytest
from alibabacloud_rds20140815 import models
from aliyunsdkcore.acs_exception.exceptions import ServerException

from alicloud_emulator import SimulatedBackend
from .emu_helpers import DEBIAN_IMAGE, FROZEN_CLOCK_SPEED, LegacyApi, build_network, tea_rds_client

PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFq0gF5pb2Zb8bWcK3lJkq9sZgT3n5vJvXJmZkq2Yx1m test@example")


class RecordingBackend(SimulatedBackend):
    """The simulated backend, noting each hook call; ``ready`` says whether resources may become Running."""

    def __init__(self):
        super().__init__()
        self.calls = []
        self.ready = True

    def is_ready(self, resource):
        return self.ready

    def on_instance_created(self, instance, vswitch, password=None, public_key=None):
        super().on_instance_created(instance, vswitch, password=password, public_key=public_key)
        self.calls.append(("instance_created", instance.instance_id, password, public_key))

    def on_instance_started(self, instance):
        self.calls.append(("instance_started", instance.instance_id, instance.status))

    def on_instance_stopped(self, instance):
        self.calls.append(("instance_stopped", instance.instance_id, instance.status))

    def on_instance_deleted(self, instance):
        super().on_instance_deleted(instance)
        self.calls.append(("instance_deleted", instance.instance_id))

    def on_instance_password_changed(self, instance, password):
        self.calls.append(("password_changed", instance.instance_id, password))

    def on_db_instance_running(self, db_instance):
        self.calls.append(("db_running", db_instance.db_instance_id))

    def on_account_created(self, db_instance, account_name, password, account_type):
        self.calls.append(("account_created", account_name, password, account_type))

    def on_database_created(self, db_instance, database):
        self.calls.append(("database_created", database.name, database.owner))

    def on_security_ips_changed(self, db_instance):
        self.calls.append(("security_ips", dict(db_instance.security_ip_arrays)))

    def on_db_instance_deleted(self, db_instance):
        super().on_db_instance_deleted(db_instance)
        self.calls.append(("db_deleted", db_instance.db_instance_id))


@pytest.fixture
def recorded(alicloud_emulator_factory):
    backend = RecordingBackend()
    emulator = alicloud_emulator_factory(backend=backend, clock_speed=FROZEN_CLOCK_SPEED)
    api = LegacyApi(emulator)
    return emulator, api, backend, build_network(api, emulator)


def status_of(api, instance_id):
    return api("ecs", "DescribeInstances", InstanceIds=json.dumps([instance_id]))["Instances"]["Instance"][0]["Status"]


def test_instance_hooks_and_secrets(recorded):
    emulator, api, backend, network = recorded
    api("ecs", "ImportKeyPair", KeyPairName="deploy", PublicKeyBody=PUBLIC_KEY)
    (instance_id,) = api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large",
                         VSwitchId=network["vswitch_id"], SecurityGroupId=network["security_group_id"],
                         Password="Passw0rd!x", KeyPairName="deploy")["InstanceIdSets"]["InstanceIdSet"]
    assert backend.calls == [("instance_created", instance_id, "Passw0rd!x", PUBLIC_KEY)]
    emulator.advance_clock(45)
    assert backend.calls[-1] == ("instance_started", instance_id, "Running")
    api("ecs", "ModifyInstanceAttribute", InstanceId=instance_id, Password="N3w!Passwd")
    assert backend.calls[-1] == ("password_changed", instance_id, "N3w!Passwd")
    api("ecs", "StopInstance", InstanceId=instance_id)
    emulator.advance_clock(15)
    assert backend.calls[-1] == ("instance_stopped", instance_id, "Stopped")
    api("ecs", "DeleteInstance", InstanceId=instance_id)
    assert backend.calls[-1] == ("instance_deleted", instance_id)
    log = json.dumps(emulator.requests())
    assert "Passw0rd!x" not in log and "N3w!Passwd" not in log and '"Password": "******"' in log
    assert "Passw0rd!x" not in json.dumps(emulator.resources())


def test_running_waits_for_a_ready_backend(recorded):
    emulator, api, backend, network = recorded
    backend.ready = False
    (instance_id,) = api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large",
                         VSwitchId=network["vswitch_id"],
                         SecurityGroupId=network["security_group_id"])["InstanceIdSets"]["InstanceIdSet"]
    emulator.advance_clock(45)
    assert status_of(api, instance_id) == "Starting"
    backend.ready = True
    emulator.advance_clock(1)
    assert status_of(api, instance_id) == "Running"


def test_rds_hooks(recorded):
    emulator, _api, backend, network = recorded
    rds = tea_rds_client(emulator)
    db_instance_id = rds.create_dbinstance(models.CreateDBInstanceRequest(
        region_id="cn-hangzhou", engine="PostgreSQL", engine_version="16.0", dbinstance_class="pg.n2.medium.2c",
        dbinstance_storage=20, dbinstance_net_type="Intranet", pay_type="Postpaid", security_iplist="10.0.0.0/16",
        vpcid=network["vpc_id"], v_switch_id=network["vswitch_id"])).body.dbinstance_id
    backend.ready = False
    emulator.advance_clock(500)
    assert not any(call[0] == "db_running" for call in backend.calls)
    backend.ready = True
    emulator.advance_clock(1)
    assert backend.calls[-1] == ("db_running", db_instance_id)
    rds.create_account(models.CreateAccountRequest(dbinstance_id=db_instance_id, account_name="mlflow",
                                                   account_password="Str0ng!Pass", account_type="Super"))
    rds.create_database(models.CreateDatabaseRequest(dbinstance_id=db_instance_id, dbname="mlflow",
                                                     character_set_name="UTF8", account_name="mlflow"))
    rds.modify_security_ips(models.ModifySecurityIpsRequest(dbinstance_id=db_instance_id, security_ips="10.0.1.7"))
    assert backend.calls[-3:] == [("account_created", "mlflow", "Str0ng!Pass", "Super"),
                                  ("database_created", "mlflow", "mlflow"),
                                  ("security_ips", {"default": ["10.0.1.7"]})]
    rds.delete_dbinstance(models.DeleteDBInstanceRequest(dbinstance_id=db_instance_id))
    emulator.advance_clock(70)
    assert backend.calls[-1] == ("db_deleted", db_instance_id)


def test_key_pairs(api):
    imported = api("ecs", "ImportKeyPair", KeyPairName="deploy", PublicKeyBody=PUBLIC_KEY)
    assert re.fullmatch(r"([0-9a-f]{2}:){15}[0-9a-f]{2}", imported["KeyPairFingerPrint"])
    listed = api("ecs", "DescribeKeyPairs", KeyPairName="deploy")["KeyPairs"]["KeyPair"]
    assert [(pair["KeyPairName"], pair["KeyPairFingerPrint"]) for pair in listed] == \
        [("deploy", imported["KeyPairFingerPrint"])]
    with pytest.raises(ServerException) as caught:
        api("ecs", "ImportKeyPair", KeyPairName="deploy", PublicKeyBody=PUBLIC_KEY)
    assert caught.value.get_error_code() == "KeyPair.AlreadyExist"
    with pytest.raises(ServerException) as caught:
        api("ecs", "ImportKeyPair", KeyPairName="bad", PublicKeyBody="not a key")
    assert caught.value.get_error_code() == "InvalidPublicKeyBody.Malformed"
    api("ecs", "DeleteKeyPairs", KeyPairNames=json.dumps(["deploy"]))
    assert api("ecs", "DescribeKeyPairs")["TotalCount"] == 0


def test_run_instances_needs_an_existing_key_pair(api, network):
    with pytest.raises(ServerException) as caught:
        api("ecs", "RunInstances", ImageId=DEBIAN_IMAGE, InstanceType="ecs.g7.large", KeyPairName="missing",
            VSwitchId=network["vswitch_id"], SecurityGroupId=network["security_group_id"])
    assert (caught.value.get_error_code(), caught.value.get_http_status()) == ("InvalidKeyPairName.NotFound", 404)
