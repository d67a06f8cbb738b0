"""The five RDS modules against the local emulator, run the way Ansible runs them (tests/conftest.py run_module).

Each module: create, a second run that changes nothing, check mode that changes nothing but says what it would do,
diff, update (or a clear refusal of what cannot change in place), delete, delete again, and bad parameters refused
before any API call (the emulator's request log stays empty).
"""
import time

import pytest

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import AlicloudClient

ZONE = "cn-hangzhou-i"
PASSWORD = "Mlflow-Pass1"
NEW_PASSWORD = "Other=Pass22"
DEPLOYMENT_TAG = {"computenest-mlflow-deployment": "rds-test"}


class Cloud:
    """A client on the emulator, for setting the scene and for reading state independently of the modules."""

    def __init__(self, emulator):
        self.emulator = emulator
        endpoint = (emulator.endpoint, "http")
        self.client = AlicloudClient(emulator.access_key_id, emulator.access_key_secret, emulator.region,
                                     endpoints={"ecs": endpoint, "vpc": endpoint, "rds": endpoint})
        self.region = emulator.region

    def wait(self, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError("condition not met within %ss" % timeout)

    def network(self, cidr="192.168.0.0/16", vswitch_cidr="192.168.0.0/24"):
        vpc_id = self.client.call("vpc", "CreateVpc", {"RegionId": self.region, "CidrBlock": cidr})["VpcId"]
        self.wait(lambda: self.client.call("vpc", "DescribeVpcs", {"RegionId": self.region, "VpcId": vpc_id})
                  ["Vpcs"]["Vpc"][0]["Status"] == "Available")
        vswitch_id = self.client.call("vpc", "CreateVSwitch", {
            "RegionId": self.region, "VpcId": vpc_id, "ZoneId": ZONE, "CidrBlock": vswitch_cidr})["VSwitchId"]
        query = {"RegionId": self.region, "VSwitchId": vswitch_id}
        self.wait(lambda: self.client.call("vpc", "DescribeVSwitches", query)
                  ["VSwitches"]["VSwitch"][0]["Status"] == "Available")
        return vpc_id, vswitch_id

    def db_instances(self):
        items = self.client.paginate("rds", "DescribeDBInstances", {"RegionId": self.region},
                                     "Items.DBInstance", page_size=100)
        return dict((item["DBInstanceId"], item) for item in items)

    def running_instance(self, vpc_id, vswitch_id, name="scene"):
        db_instance_id = self.client.call("rds", "CreateDBInstance", {
            "RegionId": self.region, "Engine": "PostgreSQL", "EngineVersion": "16.0",
            "DBInstanceClass": "pg.n2.2c.1m", "DBInstanceStorage": 20, "DBInstanceNetType": "Intranet",
            "PayType": "Postpaid", "SecurityIPList": "127.0.0.1", "InstanceNetworkType": "VPC", "VPCId": vpc_id,
            "VSwitchId": vswitch_id, "ZoneId": ZONE, "DBInstanceDescription": name})["DBInstanceId"]
        self.wait(lambda: self.status(db_instance_id) == "Running")
        return db_instance_id

    def status(self, db_instance_id):
        body = self.client.call("rds", "DescribeDBInstanceAttribute", {"DBInstanceId": db_instance_id})
        return body["Items"]["DBInstanceAttribute"][0]["DBInstanceStatus"]

    def accounts(self, db_instance_id):
        body = self.client.call("rds", "DescribeAccounts", {"DBInstanceId": db_instance_id})
        return dict((a["AccountName"], a) for a in body["Accounts"]["DBInstanceAccount"])

    def databases(self, db_instance_id):
        body = self.client.call("rds", "DescribeDatabases", {"DBInstanceId": db_instance_id})
        return dict((d["DBName"], d) for d in body["Databases"]["Database"])

    def whitelist(self, db_instance_id):
        body = self.client.call("rds", "DescribeDBInstanceIPArrayList", {"DBInstanceId": db_instance_id})
        return dict((g["DBInstanceIPArrayName"], sorted(g["SecurityIPList"].split(",")))
                    for g in body["Items"]["DBInstanceIPArray"])


@pytest.fixture(name="cloud")
def cloud_fixture(alicloud_emulator):
    return Cloud(alicloud_emulator)


@pytest.fixture(name="running_db")
def running_db_fixture(cloud):
    vpc_id, vswitch_id = cloud.network()
    return cloud.running_instance(vpc_id, vswitch_id)


def changing_calls(emulator, since):
    """Actions of the requests logged since `since` that are not reads."""
    return [entry["action"] for entry in emulator.requests(since)
            if not entry["action"].startswith(("Describe", "List"))]


def run(run_module, emulator, name, args, **kwargs):
    return run_module(name, args, env=emulator.env(), **kwargs)


def instance_args(vpc_id, vswitch_id, **extra):
    args = dict(name="mlflow-test-rds", engine_version="16.0", instance_class="pg.n2.2c.1m", storage=20,
                zone_id=ZONE, vpc_id=vpc_id, vswitch_id=vswitch_id, tags=dict(DEPLOYMENT_TAG))
    args.update(extra)
    return args


# --- alicloud_rds_instance ------------------------------------------------------------------------------------------

def test_instance_lifecycle(run_module, alicloud_emulator, cloud):
    emu = alicloud_emulator
    vpc_id, vswitch_id = cloud.network()
    args = instance_args(vpc_id, vswitch_id)

    mark = len(emu.requests())
    planned = run(run_module, emu, "alicloud_rds_instance", args, check=True, diff=True)
    assert not planned.failed, planned.result
    assert planned.changed
    assert [call["action"] for call in planned["api_calls"]] == ["CreateDBInstance"]
    assert planned["api_calls"][0]["params"]["DBInstanceClass"] == "pg.n2.2c.1m"
    assert planned["diff"]["before"] == {} and planned["diff"]["after"]["storage"] == 20
    assert changing_calls(emu, mark) == [] and cloud.db_instances() == {}

    created = run(run_module, emu, "alicloud_rds_instance", args, diff=True)
    assert not created.failed, created.result
    assert created.changed
    instance = created["instance"]
    assert instance["status"] == "Running" and instance["id"].startswith("pgm-")
    assert instance["connection_string"] and isinstance(instance["port"], int)
    assert (instance["engine"], instance["engine_version"], instance["storage"]) == ("PostgreSQL", "16.0", 20)
    assert (instance["vpc_id"], instance["vswitch_id"], instance["zone_id"]) == (vpc_id, vswitch_id, ZONE)
    assert list(cloud.db_instances()) == [instance["id"]]

    mark = len(emu.requests())
    again = run(run_module, emu, "alicloud_rds_instance", args, diff=True)
    assert not again.failed and not again.changed, again.result
    assert again["api_calls"] == [] and changing_calls(emu, mark) == []
    assert again["diff"]["before"] == again["diff"]["after"]
    assert again["instance"]["id"] == instance["id"]

    bigger = instance_args(vpc_id, vswitch_id, instance_class="pg.n2.4c.2m", storage=40)
    mark = len(emu.requests())
    preview = run(run_module, emu, "alicloud_rds_instance", bigger, check=True, diff=True)
    assert preview.changed and not preview.failed, preview.result
    assert preview["diff"]["before"]["instance_class"] == "pg.n2.2c.1m"
    assert preview["diff"]["after"]["instance_class"] == "pg.n2.4c.2m"
    assert preview["diff"]["after"]["storage"] == 40
    assert [call["action"] for call in preview["api_calls"]] == ["ModifyDBInstanceSpec"]
    assert changing_calls(emu, mark) == []
    assert cloud.db_instances()[instance["id"]]["DBInstanceClass"] == "pg.n2.2c.1m"

    resized = run(run_module, emu, "alicloud_rds_instance", bigger)
    assert resized.changed and not resized.failed, resized.result
    assert resized["instance"]["instance_class"] == "pg.n2.4c.2m" and resized["instance"]["storage"] == 40
    assert resized["instance"]["status"] == "Running"
    assert run(run_module, emu, "alicloud_rds_instance", bigger).changed is False

    mark = len(emu.requests())
    refused = run(run_module, emu, "alicloud_rds_instance",
                  instance_args(vpc_id, vswitch_id, engine_version="17.0", storage=20, instance_class="pg.n2.4c.2m"))
    assert refused.failed
    assert "cannot change" in refused["msg"] and "in place" in refused["msg"]
    assert "engine_version (16.0 -> 17.0)" in refused["msg"] and "storage (40 GB -> 20 GB" in refused["msg"]
    assert changing_calls(emu, mark) == []

    mark = len(emu.requests())
    delete_args = dict(name=args["name"], tags=args["tags"], state="absent")
    doomed = run(run_module, emu, "alicloud_rds_instance", delete_args, check=True, diff=True)
    assert doomed.changed and [call["action"] for call in doomed["api_calls"]] == ["DeleteDBInstance"]
    assert doomed["diff"]["after"] == {} and doomed["diff"]["before"]["instance_class"] == "pg.n2.4c.2m"
    assert changing_calls(emu, mark) == [] and instance["id"] in cloud.db_instances()

    deleted = run(run_module, emu, "alicloud_rds_instance", delete_args)
    assert deleted.changed and not deleted.failed, deleted.result
    assert cloud.db_instances() == {}
    gone = run(run_module, emu, "alicloud_rds_instance", delete_args)
    assert not gone.failed and not gone.changed and gone["api_calls"] == []
    by_id = run(run_module, emu, "alicloud_rds_instance", dict(delete_args, db_instance_id=instance["id"]))
    assert not by_id.failed and not by_id.changed

    # The same identity again after a delete: a new instance, not the deleted one the first ClientToken named.
    reborn = run(run_module, emu, "alicloud_rds_instance", args)
    assert reborn.changed and not reborn.failed, reborn.result
    assert reborn["instance"]["id"] != instance["id"]
    assert list(cloud.db_instances()) == [reborn["instance"]["id"]]


def test_instance_no_wait_then_wait(run_module, alicloud_emulator, cloud):
    emu = alicloud_emulator
    vpc_id, vswitch_id = cloud.network()
    requested = run(run_module, emu, "alicloud_rds_instance", instance_args(vpc_id, vswitch_id, wait=False))
    assert requested.changed and not requested.failed, requested.result
    assert requested["instance"]["status"] == "Creating" and requested["instance"]["id"]
    waited = run(run_module, emu, "alicloud_rds_instance", instance_args(vpc_id, vswitch_id))
    assert not waited.changed and not waited.failed, waited.result
    assert waited["instance"]["status"] == "Running"
    assert waited["instance"]["id"] == requested["instance"]["id"]
    assert len(cloud.db_instances()) == 1
    deleted = run(run_module, emu, "alicloud_rds_instance", dict(name="mlflow-test-rds", state="absent"))
    assert deleted.changed and not deleted.failed, deleted.result
    assert cloud.db_instances() == {}


def test_instance_deleted_while_still_creating(run_module, alicloud_emulator, cloud):
    """RDS refuses to delete a Creating instance: the module waits until it may, instead of failing teardown."""
    emu = alicloud_emulator
    vpc_id, vswitch_id = cloud.network()
    emu.set_clock_speed(50)  # creation takes about 10 s now: long enough to ask for deletion in the middle
    requested = run(run_module, emu, "alicloud_rds_instance", instance_args(vpc_id, vswitch_id, wait=False))
    assert requested["instance"]["status"] == "Creating", requested.result
    deleted = run(run_module, emu, "alicloud_rds_instance", dict(name="mlflow-test-rds", state="absent"))
    assert deleted.changed and not deleted.failed, deleted.result
    deletes = [(entry["status"], entry["code"]) for entry in emu.requests() if entry["action"] == "DeleteDBInstance"]
    assert deletes == [(403, "IncorrectDBInstanceState"), (200, None)]
    assert cloud.db_instances() == {}


def test_instance_tags_added_and_purged(run_module, alicloud_emulator, cloud):
    emu = alicloud_emulator
    vpc_id, vswitch_id = cloud.network()
    created = run(run_module, emu, "alicloud_rds_instance", instance_args(vpc_id, vswitch_id, wait=False))
    assert created.changed, created.result
    db_instance_id = created["instance"]["id"]

    wanted = dict(DEPLOYMENT_TAG, owner="ml-team")
    preview = run(run_module, emu, "alicloud_rds_instance", instance_args(vpc_id, vswitch_id, tags=wanted),
                  check=True, diff=True)
    assert preview.changed and [call["action"] for call in preview["api_calls"]] == ["TagResources"]
    assert preview["api_calls"][0]["params"]["Tag"] == [{"Key": "owner", "Value": "ml-team"}]
    assert emu.resources()["db_instances"][0]["tags"] == DEPLOYMENT_TAG

    tagged = run(run_module, emu, "alicloud_rds_instance", instance_args(vpc_id, vswitch_id, tags=wanted))
    assert tagged.changed and not tagged.failed, tagged.result
    assert emu.resources()["db_instances"][0]["tags"] == wanted
    assert not run(run_module, emu, "alicloud_rds_instance", instance_args(vpc_id, vswitch_id, tags=wanted)).changed

    # Without purge_tags a tag left out of the task stays; with it, it goes.
    kept = run(run_module, emu, "alicloud_rds_instance", instance_args(vpc_id, vswitch_id))
    assert not kept.changed and emu.resources()["db_instances"][0]["tags"] == wanted
    purged = run(run_module, emu, "alicloud_rds_instance",
                 instance_args(vpc_id, vswitch_id, purge_tags=True), diff=True)
    assert purged.changed and not purged.failed, purged.result
    assert [call["action"] for call in purged["api_calls"]] == ["UntagResources"]
    assert purged["diff"]["before"]["tags"] == wanted and purged["diff"]["after"]["tags"] == DEPLOYMENT_TAG
    assert emu.resources()["db_instances"][0]["tags"] == DEPLOYMENT_TAG
    assert purged["instance"]["id"] == db_instance_id


def test_instance_create_survives_lost_reply(run_module, alicloud_emulator, cloud):
    emu = alicloud_emulator
    vpc_id, vswitch_id = cloud.network()
    emu.inject_fault("lost", action="CreateDBInstance", count=1)
    emu.inject_fault("throttling", product="rds", rate=0.3)
    created = run(run_module, emu, "alicloud_rds_instance", instance_args(vpc_id, vswitch_id))
    assert created.changed and not created.failed, created.result
    creates = [entry for entry in emu.requests() if entry["action"] == "CreateDBInstance"]
    assert len(creates) >= 2 and creates[0]["code"] == "lost"
    assert len(set(entry["params"]["ClientToken"] for entry in creates)) == 1
    assert list(cloud.db_instances()) == [created["instance"]["id"]]


@pytest.mark.parametrize("override, named", [
    (dict(storage=22), "storage must be a multiple of 5"),
    (dict(storage=10), "storage must be a multiple of 5"),
    (dict(engine_version="sixteen"), "engine_version"),
    (dict(vpc_id="bad-vpc"), "vpc_id must start with 'vpc-'"),
    (dict(name="1-starts-with-digit"), "name must be 2-256 characters starting with a letter"),
    (dict(db_instance_id="not an id"), "db_instance_id"),
    (dict(instance_class=None), "instance_class"),
    (dict(pay_type="Prepaid", used_time=12), "used_time must be 1-9"),
    (dict(tags={"aliyun-x": "1"}), "tags: key 'aliyun-x'"),
])
def test_instance_bad_parameters_make_no_call(run_module, alicloud_emulator, override, named):
    args = instance_args("vpc-bp1aaaaaaaaaaaaaaaaaa", "vsw-bp1aaaaaaaaaaaaaaaaaa")
    args.update(override)
    args = dict((k, v) for k, v in args.items() if v is not None)
    result = run(run_module, alicloud_emulator, "alicloud_rds_instance", args)
    assert result.failed
    assert named in result["msg"]
    assert alicloud_emulator.requests() == []


def test_instance_found_through_every_page(run_module, alicloud_emulator, cloud):
    """More instances than one DescribeDBInstances page holds: the one asked for is found, not created twice."""
    emu = alicloud_emulator
    vpc_id, vswitch_id = cloud.network(vswitch_cidr="192.168.0.0/20")
    created = run(run_module, emu, "alicloud_rds_instance", instance_args(vpc_id, vswitch_id, wait=False))
    assert created.changed, created.result
    for index in range(105):
        cloud.client.call("rds", "CreateDBInstance", {
            "RegionId": cloud.region, "Engine": "PostgreSQL", "EngineVersion": "16.0",
            "DBInstanceClass": "pg.n2.small.1", "DBInstanceStorage": 20, "DBInstanceNetType": "Intranet",
            "PayType": "Postpaid", "SecurityIPList": "127.0.0.1", "VPCId": vpc_id, "VSwitchId": vswitch_id,
            "ZoneId": ZONE, "DBInstanceDescription": "filler-%03d" % index})
    assert len(cloud.db_instances()) == 106
    mark = len(emu.requests())
    again = run(run_module, emu, "alicloud_rds_instance", instance_args(vpc_id, vswitch_id, wait=False))
    assert not again.changed and not again.failed, again.result
    assert again["instance"]["id"] == created["instance"]["id"]
    pages = [entry for entry in emu.requests(mark) if entry["action"] == "DescribeDBInstances"
             and "Tags" not in entry["params"]]
    assert len(pages) >= 2

    info = run(run_module, emu, "alicloud_rds_instance_info", dict(name="filler-104"))
    assert not info.failed, info.result
    assert [item["name"] for item in info["instances"]] == ["filler-104"]
    everything = run(run_module, emu, "alicloud_rds_instance_info", dict(vpc_id=vpc_id))
    assert len(everything["instances"]) == 106


# --- alicloud_rds_instance_info -------------------------------------------------------------------------------------

def test_instance_info_filters(run_module, alicloud_emulator, cloud):
    emu = alicloud_emulator
    vpc_id, vswitch_id = cloud.network()
    mine = run(run_module, emu, "alicloud_rds_instance",
               instance_args(vpc_id, vswitch_id, tags={"team": "ml", "env": "prod"}, wait=False))
    other = run(run_module, emu, "alicloud_rds_instance",
                instance_args(vpc_id, vswitch_id, name="other-rds", tags={"team": "ml", "env": "dev"}, wait=False))
    assert mine.changed and other.changed
    both = run(run_module, emu, "alicloud_rds_instance_info", dict(tags={"team": "ml"}), check=True)
    assert not both.failed and not both.changed, both.result
    assert sorted(item["id"] for item in both["instances"]) == sorted([mine["instance"]["id"],
                                                                      other["instance"]["id"]])
    prod = run(run_module, emu, "alicloud_rds_instance_info", dict(tags={"team": "ml", "env": "prod"}))
    assert [item["id"] for item in prod["instances"]] == [mine["instance"]["id"]]
    assert prod["instances"][0]["tags"] == {"team": "ml", "env": "prod"}
    by_id = run(run_module, emu, "alicloud_rds_instance_info", dict(db_instance_ids=[other["instance"]["id"]]))
    assert [item["name"] for item in by_id["instances"]] == ["other-rds"]
    assert by_id["instances"][0]["connection_string"] and by_id["instances"][0]["port"]
    nothing = run(run_module, emu, "alicloud_rds_instance_info", dict(tags={"team": "nobody"}))
    assert nothing["instances"] == []
    mark = len(emu.requests())
    bad = run(run_module, emu, "alicloud_rds_instance_info", dict(db_instance_ids=["bogus id"]))
    assert bad.failed and "db_instance_ids" in bad["msg"] and emu.requests(mark) == []


# --- alicloud_rds_account -------------------------------------------------------------------------------------------

def test_account_lifecycle(run_module, alicloud_emulator, cloud, running_db):
    emu = alicloud_emulator
    args = dict(db_instance_id=running_db, name="mlflow", password=PASSWORD, description="MLflow account")

    mark = len(emu.requests())
    planned = run(run_module, emu, "alicloud_rds_account", args, check=True, diff=True)
    assert planned.changed and not planned.failed, planned.result
    assert [call["action"] for call in planned["api_calls"]] == ["CreateAccount"]
    assert planned["api_calls"][0]["params"]["AccountPassword"] == "********"
    assert changing_calls(emu, mark) == [] and cloud.accounts(running_db) == {}

    created = run(run_module, emu, "alicloud_rds_account", args, diff=True)
    assert created.changed and not created.failed, created.result
    assert created["account"]["status"] == "Available" and created["account"]["account_type"] == "Normal"
    assert cloud.accounts(running_db)["mlflow"]["AccountStatus"] == "Available"
    assert PASSWORD not in created.stdout + created.stderr

    mark = len(emu.requests())
    again = run(run_module, emu, "alicloud_rds_account", args, diff=True)
    assert not again.changed and not again.failed and again["api_calls"] == []
    assert changing_calls(emu, mark) == []

    rotate = dict(args, password=NEW_PASSWORD, update_password="always")
    preview = run(run_module, emu, "alicloud_rds_account", rotate, check=True, diff=True)
    assert preview.changed and [call["action"] for call in preview["api_calls"]] == ["ResetAccountPassword"]
    assert NEW_PASSWORD not in preview.stdout + preview.stderr
    mark = len(emu.requests())
    rotated = run(run_module, emu, "alicloud_rds_account", rotate)
    assert rotated.changed and not rotated.failed, rotated.result
    assert changing_calls(emu, mark) == ["ResetAccountPassword"]
    assert NEW_PASSWORD not in rotated.stdout + rotated.stderr
    logged = [entry for entry in emu.requests(mark) if entry["action"] == "ResetAccountPassword"][0]
    assert NEW_PASSWORD not in str(logged)

    described = run(run_module, emu, "alicloud_rds_account", dict(args, description="MLflow tracking server"),
                    diff=True)
    assert described.changed and not described.failed, described.result
    assert [call["action"] for call in described["api_calls"]] == ["ModifyAccountDescription"]
    assert described["diff"]["before"]["description"] == "MLflow account"
    assert cloud.accounts(running_db)["mlflow"]["AccountDescription"] == "MLflow tracking server"

    refused = run(run_module, emu, "alicloud_rds_account", dict(args, account_type="Super"))
    assert refused.failed and "account type cannot change in place" in refused["msg"]

    doomed = run(run_module, emu, "alicloud_rds_account", dict(db_instance_id=running_db, name="mlflow",
                                                               state="absent"), check=True, diff=True)
    assert doomed.changed and doomed["diff"]["after"] == {} and "mlflow" in cloud.accounts(running_db)
    deleted = run(run_module, emu, "alicloud_rds_account", dict(db_instance_id=running_db, name="mlflow",
                                                                state="absent"))
    assert deleted.changed and not deleted.failed and cloud.accounts(running_db) == {}
    gone = run(run_module, emu, "alicloud_rds_account", dict(db_instance_id=running_db, name="mlflow",
                                                             state="absent"))
    assert not gone.changed and not gone.failed
    no_instance = run(run_module, emu, "alicloud_rds_account", dict(db_instance_id="pgm-bp1doesnotexist000",
                                                                    name="mlflow", state="absent"))
    assert not no_instance.changed and not no_instance.failed


def test_account_create_needs_a_password(run_module, alicloud_emulator, running_db):
    result = run(run_module, alicloud_emulator, "alicloud_rds_account", dict(db_instance_id=running_db, name="mlflow"))
    assert result.failed and "password is required to create account mlflow" in result["msg"]


@pytest.mark.parametrize("override, named", [
    (dict(password="short1A"), "password must be 8-32 characters"),
    (dict(password="alllowercaseletters"), "password must be 8-32 characters"),
    (dict(password="Has~Tilde123"), "password must be 8-32 characters"),
    (dict(name="Upper"), "name 'Upper' is not a valid PostgreSQL account name"),
    (dict(name="pgsql"), "is not a valid PostgreSQL account name"),
    (dict(name="postgres"), "is not a valid PostgreSQL account name"),
    (dict(db_instance_id="nope"), "db_instance_id 'nope' does not look like an RDS instance ID"),
    (dict(description="http://x"), "description must be 2-256 characters"),
])
def test_account_bad_parameters_make_no_call(run_module, alicloud_emulator, override, named):
    args = dict(db_instance_id="pgm-bp1aaaaaaaaaaaaaaaa", name="mlflow", password=PASSWORD)
    args.update(override)
    result = run(run_module, alicloud_emulator, "alicloud_rds_account", args)
    assert result.failed and named in result["msg"]
    assert alicloud_emulator.requests() == []
    if "password" in override:
        assert override["password"] not in result.stdout + result.stderr


# --- alicloud_rds_database ------------------------------------------------------------------------------------------

def test_database_lifecycle(run_module, alicloud_emulator, cloud, running_db):
    emu = alicloud_emulator
    owner = run(run_module, emu, "alicloud_rds_account", dict(db_instance_id=running_db, name="mlflow",
                                                              password=PASSWORD))
    assert owner.changed, owner.result
    args = dict(db_instance_id=running_db, name="mlflow", owner="mlflow")

    mark = len(emu.requests())
    planned = run(run_module, emu, "alicloud_rds_database", args, check=True, diff=True)
    assert planned.changed and not planned.failed, planned.result
    assert [call["action"] for call in planned["api_calls"]] == ["CreateDatabase"]
    assert planned["api_calls"][0]["params"]["CharacterSetName"] == "UTF8,C,en_US.utf8"
    assert planned["diff"]["after"]["owner"] == "mlflow"
    assert changing_calls(emu, mark) == [] and cloud.databases(running_db) == {}

    created = run(run_module, emu, "alicloud_rds_database", args, diff=True)
    assert created.changed and not created.failed, created.result
    assert created["database"]["status"] == "Running" and created["database"]["owner"] == "mlflow"
    assert cloud.databases(running_db)["mlflow"]["DBStatus"] == "Running"

    mark = len(emu.requests())
    again = run(run_module, emu, "alicloud_rds_database", args, diff=True)
    assert not again.changed and not again.failed and again["api_calls"] == [], again.result
    assert again["diff"]["before"] == again["diff"]["after"]
    assert changing_calls(emu, mark) == []

    described = run(run_module, emu, "alicloud_rds_database", dict(args, description="MLflow backend store"),
                    check=True, diff=True)
    assert described.changed and [call["action"] for call in described["api_calls"]] == ["ModifyDBDescription"]
    assert cloud.databases(running_db)["mlflow"]["DBDescription"] == ""
    described = run(run_module, emu, "alicloud_rds_database", dict(args, description="MLflow backend store"))
    assert described.changed and not described.failed, described.result
    assert cloud.databases(running_db)["mlflow"]["DBDescription"] == "MLflow backend store"
    assert not run(run_module, emu, "alicloud_rds_database", dict(args, description="MLflow backend store")).changed

    second_owner = run(run_module, emu, "alicloud_rds_account", dict(db_instance_id=running_db, name="analyst",
                                                                     password=PASSWORD))
    assert second_owner.changed
    mark = len(emu.requests())
    refused = run(run_module, emu, "alicloud_rds_database", dict(args, owner="analyst", character_set="LATIN1"))
    assert refused.failed
    assert "cannot change character_set (UTF8 -> LATIN1), owner (mlflow -> analyst) in place" in refused["msg"]
    assert changing_calls(emu, mark) == []

    absent = dict(db_instance_id=running_db, name="mlflow", state="absent")
    doomed = run(run_module, emu, "alicloud_rds_database", absent, check=True, diff=True)
    assert doomed.changed and doomed["diff"]["after"] == {} and "mlflow" in cloud.databases(running_db)
    deleted = run(run_module, emu, "alicloud_rds_database", absent)
    assert deleted.changed and not deleted.failed and cloud.databases(running_db) == {}
    gone = run(run_module, emu, "alicloud_rds_database", absent)
    assert not gone.changed and not gone.failed


@pytest.mark.parametrize("override, named", [
    (dict(name="Bad_Name"), "name 'Bad_Name' is not a valid RDS database name"),
    (dict(name="x"), "is not a valid RDS database name"),
    (dict(owner="Not Valid"), "owner 'Not Valid' is not a valid PostgreSQL account name"),
    (dict(character_set="UTF8;DROP"), "character_set must be a non-empty name"),
])
def test_database_bad_parameters_make_no_call(run_module, alicloud_emulator, override, named):
    args = dict(db_instance_id="pgm-bp1aaaaaaaaaaaaaaaa", name="mlflow", owner="mlflow")
    args.update(override)
    result = run(run_module, alicloud_emulator, "alicloud_rds_database", args)
    assert result.failed and named in result["msg"]
    assert alicloud_emulator.requests() == []


# --- alicloud_rds_security_ips --------------------------------------------------------------------------------------

def test_security_ips_lifecycle(run_module, alicloud_emulator, cloud, running_db):
    emu = alicloud_emulator
    args = dict(db_instance_id=running_db, group_name="mlflow", ips=["192.168.0.10/32"])

    mark = len(emu.requests())
    planned = run(run_module, emu, "alicloud_rds_security_ips", args, check=True, diff=True)
    assert planned.changed and not planned.failed, planned.result
    assert planned["api_calls"][0]["params"]["ModifyMode"] == "Cover"
    assert planned["diff"] == {"before": {"name": "mlflow", "ips": []},
                               "after": {"name": "mlflow", "ips": ["192.168.0.10"]}}
    assert changing_calls(emu, mark) == [] and "mlflow" not in cloud.whitelist(running_db)

    created = run(run_module, emu, "alicloud_rds_security_ips", args)
    assert created.changed and created["group"] == {"name": "mlflow", "ips": ["192.168.0.10"]}
    assert cloud.whitelist(running_db)["mlflow"] == ["192.168.0.10"]
    assert cloud.whitelist(running_db)["default"] == ["127.0.0.1"]

    mark = len(emu.requests())
    again = run(run_module, emu, "alicloud_rds_security_ips", dict(args, ips=["192.168.0.10"]))
    assert not again.changed and not again.failed and changing_calls(emu, mark) == []

    moved = run(run_module, emu, "alicloud_rds_security_ips", dict(args, ips=["192.168.0.0/24"]), diff=True)
    assert moved.changed and moved["diff"]["before"]["ips"] == ["192.168.0.10"]
    assert cloud.whitelist(running_db)["mlflow"] == ["192.168.0.0/24"]

    added = run(run_module, emu, "alicloud_rds_security_ips", dict(args, ips=["10.0.0.7"], purge=False))
    assert added.changed and added["group"]["ips"] == ["10.0.0.7", "192.168.0.0/24"]

    removed = run(run_module, emu, "alicloud_rds_security_ips", dict(args, ips=["10.0.0.7"], state="absent"))
    assert removed.changed and cloud.whitelist(running_db)["mlflow"] == ["192.168.0.0/24"]
    dropped = run(run_module, emu, "alicloud_rds_security_ips", dict(args, ips=[], state="absent"))
    assert dropped.changed and "mlflow" not in cloud.whitelist(running_db)
    gone = run(run_module, emu, "alicloud_rds_security_ips", dict(args, ips=[], state="absent"))
    assert not gone.changed and not gone.failed


@pytest.mark.parametrize("override, named", [
    (dict(ips=["0.0.0.0/0"]), "0.0.0.0/0 opens the database to every address"),
    (dict(ips=["300.1.1.1"]), "'300.1.1.1' is not an IPv4 address"),
    (dict(ips=[]), "ips must list at least one entry"),
    (dict(group_name="Bad-Group"), "group_name 'Bad-Group'"),
])
def test_security_ips_bad_parameters_make_no_call(run_module, alicloud_emulator, override, named):
    args = dict(db_instance_id="pgm-bp1aaaaaaaaaaaaaaaa", group_name="mlflow", ips=["10.0.0.1"])
    args.update(override)
    result = run(run_module, alicloud_emulator, "alicloud_rds_security_ips", args)
    assert result.failed and named in result["msg"]
    assert alicloud_emulator.requests() == []
