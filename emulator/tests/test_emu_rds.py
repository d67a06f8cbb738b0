"""RDS PostgreSQL through the Tea SDK: instance lifecycle, accounts, databases, whitelist, net info, errors."""
import pytest
from alibabacloud_rds20140815 import models
from alibabacloud_tea_openapi import exceptions as tea_exceptions

from .emu_helpers import FROZEN_CLOCK_SPEED, build_network, tea_rds_client


@pytest.fixture
def alicloud_emulator(alicloud_emulator_factory):
    """A nearly frozen clock for this module: tests see transient states (Creating, Pending, Starting) for sure,
    however busy the machine, and move time on with advance_clock."""
    return alicloud_emulator_factory(clock_speed=FROZEN_CLOCK_SPEED)


def create_request(network, **overrides):
    fields = dict(region_id=network["region"], engine="PostgreSQL", engine_version="16.0",
                  dbinstance_class="pg.n2.medium.2c", dbinstance_storage=20, dbinstance_net_type="Intranet",
                  pay_type="Postpaid", security_iplist="10.0.0.0/16", instance_network_type="VPC",
                  vpcid=network["vpc_id"], v_switch_id=network["vswitch_id"], zone_id=network["zone_id"],
                  dbinstance_storage_type="cloud_essd", category="Basic")
    fields.update(overrides)
    return models.CreateDBInstanceRequest(**fields)


def tea_error(call, *args):
    with pytest.raises(tea_exceptions.ClientException) as caught:
        call(*args)
    return caught.value.code, caught.value.status_code


def attribute(rds, db_instance_id):
    response = rds.describe_dbinstance_attribute(models.DescribeDBInstanceAttributeRequest(
        dbinstance_id=db_instance_id))
    return response.body.items.dbinstance_attribute[0]


@pytest.fixture
def frozen_rds(frozen_emulator):
    return tea_rds_client(frozen_emulator)


@pytest.fixture
def frozen_network(frozen_api, frozen_emulator):
    return build_network(frozen_api, frozen_emulator)


@pytest.fixture
def running_db(rds, alicloud_emulator, network):
    db_instance_id = rds.create_dbinstance(create_request(network)).body.dbinstance_id
    alicloud_emulator.advance_clock(500)
    assert attribute(rds, db_instance_id).dbinstance_status == "Running"
    return db_instance_id


def test_create_db_instance_answers_with_real_types(frozen_rds, frozen_emulator, frozen_network):
    body = frozen_rds.create_dbinstance(create_request(frozen_network)).body
    assert body.dbinstance_id.startswith("pgm-")
    assert body.port == "5432" and isinstance(body.port, str)
    assert body.connection_string == f"{body.dbinstance_id}.pg.rds.aliyuncs.com"
    assert body.order_id.isdigit()
    item = attribute(frozen_rds, body.dbinstance_id)
    assert (item.dbinstance_status, item.engine, item.engine_version) == ("Creating", "PostgreSQL", "16.0")
    assert (item.dbinstance_storage, item.port, item.vpc_id) == (20, "5432", frozen_network["vpc_id"])
    assert item.security_iplist == "10.0.0.0/16"
    assert isinstance(item.dbinstance_memory, int) and isinstance(item.max_connections, int)


def test_rds_takes_several_times_longer_than_ecs(frozen_api, frozen_rds, frozen_emulator, frozen_network):
    db_instance_id = frozen_rds.create_dbinstance(create_request(frozen_network)).body.dbinstance_id
    instance_id = frozen_api("ecs", "RunInstances", ImageId="debian_12_9_x64_20G_alibase_20250117.vhd",
                             InstanceType="ecs.g7.large", VSwitchId=frozen_network["vswitch_id"],
                             SecurityGroupId=frozen_network["security_group_id"])["InstanceIdSets"]["InstanceIdSet"][0]
    frozen_emulator.advance_clock(45)
    instance = frozen_api("ecs", "DescribeInstances", InstanceIds=f'["{instance_id}"]')["Instances"]["Instance"][0]
    assert instance["Status"] == "Running"
    assert attribute(frozen_rds, db_instance_id).dbinstance_status == "Creating"
    assert tea_error(frozen_rds.create_account, models.CreateAccountRequest(
        dbinstance_id=db_instance_id, account_name="mlflow", account_password="Str0ng!Pass")) == \
        ("IncorrectDBInstanceState", 403)
    frozen_emulator.advance_clock(450)
    assert attribute(frozen_rds, db_instance_id).dbinstance_status == "Running"


def test_describe_db_instances_filters_and_paging(rds, alicloud_emulator, network):
    ids = [rds.create_dbinstance(create_request(network, dbinstance_description=f"db{n}")).body.dbinstance_id
           for n in range(5)]
    listing = rds.describe_dbinstances(models.DescribeDBInstancesRequest(region_id="cn-hangzhou", page_size=2))
    assert (listing.body.total_record_count, listing.body.page_record_count) == (5, 2)
    assert [item.dbinstance_id for item in listing.body.items.dbinstance] == ids[:2]
    collected, token = [], None
    while True:
        page = rds.describe_dbinstances(models.DescribeDBInstancesRequest(
            region_id="cn-hangzhou", max_results=2, next_token=token)).body
        collected += [item.dbinstance_id for item in page.items.dbinstance]
        token = page.next_token
        if not token:
            break
    assert collected == ids
    by_vpc = rds.describe_dbinstances(models.DescribeDBInstancesRequest(region_id="cn-hangzhou",
                                                                        vpc_id=network["vpc_id"]))
    assert by_vpc.body.total_record_count == 5
    one = rds.describe_dbinstances(models.DescribeDBInstancesRequest(region_id="cn-hangzhou",
                                                                     dbinstance_id=ids[3]))
    assert [item.dbinstance_id for item in one.body.items.dbinstance] == [ids[3]]
    assert one.body.items.dbinstance[0].dbinstance_status == "Creating"
    assert rds.describe_dbinstances(models.DescribeDBInstancesRequest(
        region_id="cn-shanghai")).body.total_record_count == 0


def test_create_db_instance_validation(rds, network):
    assert tea_error(rds.create_dbinstance, create_request(network, engine="Oracle")) == \
        ("InvalidEngine.Malformed", 400)
    assert tea_error(rds.create_dbinstance, create_request(network, dbinstance_storage=22)) == \
        ("InvalidDBInstanceStorage.Malformed", 400)
    assert tea_error(rds.create_dbinstance, create_request(network, dbinstance_class="pg.nope")) == \
        ("InvalidDBInstanceClass.NotFound", 400)
    assert tea_error(rds.create_dbinstance, create_request(network, security_iplist="300.1.1.1")) == \
        ("InvalidSecurityIPList.Malformed", 400)
    assert tea_error(rds.create_dbinstance, create_request(network, engine_version=None)) == \
        ("MissingParameter", 400)
    assert tea_error(rds.create_dbinstance, create_request(network, v_switch_id="vsw-nope")) == \
        ("InvalidVSwitchId.NotFound", 404)
    dry = rds.create_dbinstance(create_request(network, dry_run=True)).body
    assert dry.dry_run_result is True and dry.dbinstance_id is None
    assert rds.describe_dbinstances(models.DescribeDBInstancesRequest(
        region_id="cn-hangzhou")).body.total_record_count == 0


def test_create_db_instance_client_token(rds, network):
    first = rds.create_dbinstance(create_request(network, client_token="rds-token")).body
    again = rds.create_dbinstance(create_request(network, client_token="rds-token")).body
    assert again.dbinstance_id == first.dbinstance_id
    assert tea_error(rds.create_dbinstance, create_request(network, client_token="rds-token",
                                                           dbinstance_storage=50)) == \
        ("IdempotentParameterMismatch", 400)


def test_accounts(rds, alicloud_emulator, running_db):
    def create(name, password="Str0ng!Pass", account_type="Normal"):
        return rds.create_account(models.CreateAccountRequest(dbinstance_id=running_db, account_name=name,
                                                              account_password=password, account_type=account_type))
    create("mlflow")
    accounts = rds.describe_accounts(models.DescribeAccountsRequest(dbinstance_id=running_db)).body
    (account,) = accounts.accounts.dbinstance_account
    assert (account.account_name, account.account_status, account.account_type) == \
        ("mlflow", "Unavailable", "Normal")
    alicloud_emulator.advance_clock(10)
    account = rds.describe_accounts(models.DescribeAccountsRequest(
        dbinstance_id=running_db, account_name="mlflow")).body.accounts.dbinstance_account[0]
    assert account.account_status == "Available"
    assert tea_error(create, "mlflow") == ("InvalidAccountName.Duplicate", 400)
    assert tea_error(create, "Bad-Name") == ("InvalidAccountName.Malformed", 400)
    assert tea_error(create, "postgres") == ("InvalidAccountName.Malformed", 400)
    assert tea_error(create, "other", "weak") == ("InvalidAccountPassword.Malformed", 400)
    rds.modify_account_description(models.ModifyAccountDescriptionRequest(
        dbinstance_id=running_db, account_name="mlflow", account_description="tracking server"))
    account = rds.describe_accounts(models.DescribeAccountsRequest(
        dbinstance_id=running_db)).body.accounts.dbinstance_account[0]
    assert account.account_description == "tracking server"
    rds.reset_account_password(models.ResetAccountPasswordRequest(dbinstance_id=running_db, account_name="mlflow",
                                                                  account_password="An0ther!Pass"))
    rds.delete_account(models.DeleteAccountRequest(dbinstance_id=running_db, account_name="mlflow"))
    assert rds.describe_accounts(models.DescribeAccountsRequest(
        dbinstance_id=running_db)).body.accounts.dbinstance_account == []
    assert tea_error(rds.delete_account, models.DeleteAccountRequest(dbinstance_id=running_db,
                                                                     account_name="mlflow")) == \
        ("InvalidAccountName.NotFound", 404)
    # The password went to the backend only: neither the request log nor the resource view holds it.
    assert "Str0ng!Pass" not in repr(alicloud_emulator.requests())
    assert "Str0ng!Pass" not in repr(alicloud_emulator.resources())


def test_databases(rds, alicloud_emulator, running_db):
    rds.create_account(models.CreateAccountRequest(dbinstance_id=running_db, account_name="mlflow",
                                                   account_password="Str0ng!Pass"))
    rds.create_database(models.CreateDatabaseRequest(dbinstance_id=running_db, dbname="mlflow",
                                                     character_set_name="UTF8", account_name="mlflow"))
    (database,) = rds.describe_databases(models.DescribeDatabasesRequest(
        dbinstance_id=running_db)).body.databases.database
    assert (database.dbname, database.dbstatus, database.character_set_name) == ("mlflow", "Creating", "UTF8")
    assert database.accounts.account_privilege_info[0].account == "mlflow"
    alicloud_emulator.advance_clock(10)
    database = rds.describe_databases(models.DescribeDatabasesRequest(
        dbinstance_id=running_db, dbname="mlflow")).body.databases.database[0]
    assert database.dbstatus == "Running"
    account = rds.describe_accounts(models.DescribeAccountsRequest(
        dbinstance_id=running_db)).body.accounts.dbinstance_account[0]
    privilege = account.database_privileges.database_privilege[0]
    assert (privilege.dbname, privilege.account_privilege) == ("mlflow", "DBOwner")
    rds.modify_dbdescription(models.ModifyDBDescriptionRequest(dbinstance_id=running_db, dbname="mlflow",
                                                               dbdescription="runs"))
    assert rds.describe_databases(models.DescribeDatabasesRequest(
        dbinstance_id=running_db)).body.databases.database[0].dbdescription == "runs"
    duplicate = models.CreateDatabaseRequest(dbinstance_id=running_db, dbname="mlflow", character_set_name="UTF8")
    assert tea_error(rds.create_database, duplicate) == ("InvalidDBName.Duplicate", 400)
    assert tea_error(rds.create_database, models.CreateDatabaseRequest(
        dbinstance_id=running_db, dbname="9bad", character_set_name="UTF8")) == ("InvalidDBName.Malformed", 400)
    assert tea_error(rds.create_database, models.CreateDatabaseRequest(
        dbinstance_id=running_db, dbname="other")) == ("MissingParameter", 400)
    rds.delete_database(models.DeleteDatabaseRequest(dbinstance_id=running_db, dbname="mlflow"))
    assert rds.describe_databases(models.DescribeDatabasesRequest(
        dbinstance_id=running_db)).body.databases.database == []
    assert tea_error(rds.delete_database, models.DeleteDatabaseRequest(dbinstance_id=running_db,
                                                                       dbname="mlflow")) == \
        ("InvalidDBName.NotFound", 404)


def test_security_ips(rds, running_db):
    def modify(ips, mode=None, group=None):
        return rds.modify_security_ips(models.ModifySecurityIpsRequest(
            dbinstance_id=running_db, security_ips=ips, modify_mode=mode, dbinstance_iparray_name=group))

    def arrays():
        items = rds.describe_dbinstance_iparray_list(models.DescribeDBInstanceIPArrayListRequest(
            dbinstance_id=running_db)).body.items.dbinstance_iparray
        return {item.dbinstance_iparray_name: item.security_iplist for item in items}
    assert modify("10.0.1.0/24,10.0.2.5").body.task_id
    assert arrays() == {"default": "10.0.1.0/24,10.0.2.5"}
    modify("192.168.0.1", mode="Append")
    assert arrays() == {"default": "10.0.1.0/24,10.0.2.5,192.168.0.1"}
    modify("10.0.2.5", mode="Delete")
    assert arrays() == {"default": "10.0.1.0/24,192.168.0.1"}
    modify("172.16.0.0/12", group="app_servers")
    assert arrays() == {"default": "10.0.1.0/24,192.168.0.1", "app_servers": "172.16.0.0/12"}
    assert attribute(rds, running_db).security_iplist == "10.0.1.0/24,192.168.0.1,172.16.0.0/12"
    assert tea_error(modify, "not-an-ip") == ("InvalidSecurityIPList.Malformed", 400)


def test_net_info(rds, network, running_db):
    info = rds.describe_dbinstance_net_info(models.DescribeDBInstanceNetInfoRequest(dbinstance_id=running_db)).body
    assert info.instance_network_type == "VPC"
    (net,) = info.dbinstance_net_infos.dbinstance_net_info
    assert net.connection_string == f"{running_db}.pg.rds.aliyuncs.com"
    assert (net.port, net.iptype, net.vpcid, net.v_switch_id) == \
        ("5432", "Private", network["vpc_id"], network["vswitch_id"])
    assert net.ipaddress.startswith("10.0.1.")


def test_delete_db_instance(rds, alicloud_emulator, running_db):
    rds.delete_dbinstance(models.DeleteDBInstanceRequest(dbinstance_id=running_db))
    assert attribute(rds, running_db).dbinstance_status == "Deleting"
    assert tea_error(rds.create_account, models.CreateAccountRequest(
        dbinstance_id=running_db, account_name="late", account_password="Str0ng!Pass")) == \
        ("IncorrectDBInstanceState", 403)
    alicloud_emulator.advance_clock(70)
    assert tea_error(attribute, rds, running_db) == ("InvalidDBInstanceId.NotFound", 400)
    assert tea_error(rds.delete_dbinstance, models.DeleteDBInstanceRequest(dbinstance_id=running_db)) == \
        ("InvalidDBInstanceId.NotFound", 400)


def test_prepaid_instance_cannot_be_deleted(rds, alicloud_emulator, network):
    db_instance_id = rds.create_dbinstance(create_request(network, pay_type="Prepaid")).body.dbinstance_id
    alicloud_emulator.advance_clock(500)
    assert tea_error(rds.delete_dbinstance, models.DeleteDBInstanceRequest(dbinstance_id=db_instance_id)) == \
        ("OperationDenied.DBInstancePayType", 403)


def test_modify_spec(rds, alicloud_emulator, running_db):
    rds.modify_dbinstance_spec(models.ModifyDBInstanceSpecRequest(dbinstance_id=running_db,
                                                                  dbinstance_class="pg.n4.large.1",
                                                                  dbinstance_storage=100, pay_type="Postpaid"))
    item = attribute(rds, running_db)
    assert (item.dbinstance_status, item.dbinstance_class, item.dbinstance_storage) == \
        ("DBInstanceClassChanging", "pg.n4.large.1", 100)
    alicloud_emulator.advance_clock(130)
    assert attribute(rds, running_db).dbinstance_status == "Running"


def test_tags(rds, network):
    db_instance_id = rds.create_dbinstance(create_request(network, tag=[
        models.CreateDBInstanceRequestTag(key="app", value="mlflow")])).body.dbinstance_id

    def tags():
        body = rds.list_tag_resources(models.ListTagResourcesRequest(
            region_id="cn-hangzhou", resource_type="INSTANCE", resource_id=[db_instance_id])).body
        return {(row.tag_key, row.tag_value) for row in body.tag_resources.tag_resource}
    assert tags() == {("app", "mlflow")}
    rds.tag_resources(models.TagResourcesRequest(region_id="cn-hangzhou", resource_type="INSTANCE",
                                                 resource_id=[db_instance_id],
                                                 tag=[models.TagResourcesRequestTag(key="env", value="dev")]))
    assert tags() == {("app", "mlflow"), ("env", "dev")}
    rds.untag_resources(models.UntagResourcesRequest(region_id="cn-hangzhou", resource_type="INSTANCE",
                                                     resource_id=[db_instance_id], tag_key=["app"]))
    assert tags() == {("env", "dev")}
    by_tag = rds.describe_dbinstances(models.DescribeDBInstancesRequest(region_id="cn-hangzhou",
                                                                        tags='{"env": "dev"}')).body
    assert [item.dbinstance_id for item in by_tag.items.dbinstance] == [db_instance_id]
    assert tea_error(rds.tag_resources, models.TagResourcesRequest(
        region_id="cn-hangzhou", resource_type="INSTANCE", resource_id=["pgm-missing"],
        tag=[models.TagResourcesRequestTag(key="a", value="b")])) == ("InvalidDBInstanceId.NotFound", 400)


def test_prepaid_instance_transformed_to_postpaid_then_deleted(rds, alicloud_emulator, network):
    db_instance_id = rds.create_dbinstance(create_request(network, pay_type="Prepaid", period="Month",
                                                          used_time="2")).body.dbinstance_id
    transform = models.TransformDBInstancePayTypeRequest(dbinstance_id=db_instance_id, pay_type="Postpaid")
    # Creating: not yet.
    assert tea_error(rds.transform_dbinstance_pay_type, transform) == ("IncorrectDBInstanceState", 403)
    alicloud_emulator.advance_clock(500)
    item = attribute(rds, db_instance_id)
    assert (item.pay_type, bool(item.expire_time)) == ("Prepaid", True)
    assert tea_error(rds.delete_dbinstance, models.DeleteDBInstanceRequest(dbinstance_id=db_instance_id)) == \
        ("OperationDenied.DBInstancePayType", 403)
    body = rds.transform_dbinstance_pay_type(transform).body
    assert (body.dbinstance_id, body.charge_type) == (db_instance_id, "Postpaid")
    item = attribute(rds, db_instance_id)
    assert (item.pay_type, item.expire_time) == ("Postpaid", "")
    assert tea_error(rds.transform_dbinstance_pay_type, transform)[0] == "InvalidPayType.Malformed"
    rds.delete_dbinstance(models.DeleteDBInstanceRequest(dbinstance_id=db_instance_id))
    assert attribute(rds, db_instance_id).dbinstance_status == "Deleting"


def test_prepaid_used_time_validation(rds, network):
    assert tea_error(rds.create_dbinstance, create_request(network, pay_type="Prepaid", period="Month",
                                                           used_time="10"))[0] == "InvalidUsedTime.Malformed"


# --- what a zone sells ------------------------------------------------------------------------------------------
def available_classes(rds, zone_id, **overrides):
    fields = dict(region_id="cn-hangzhou", zone_id=zone_id, engine="PostgreSQL", engine_version="16.0",
                  dbinstance_storage_type="cloud_essd", category="Basic", instance_charge_type="Postpaid")
    fields.update(overrides)
    body = rds.describe_available_classes(models.DescribeAvailableClassesRequest(**fields)).body
    return [entry.dbinstance_class for entry in body.dbinstance_classes]


def test_available_classes_are_what_the_zone_sells(rds):
    everywhere = available_classes(rds, "cn-hangzhou-i")
    assert "pg.n2.2c.1m" in everywhere and "pg.x4.large.2c" in everywhere and everywhere == sorted(everywhere)
    # Zone H does not sell the x4 family; zone K has no stock of pg.n4.large.1: neither is offered there.
    assert "pg.x4.large.2c" not in available_classes(rds, "cn-hangzhou-h")
    assert "pg.n4.large.1" not in available_classes(rds, "cn-hangzhou-k")
    body = rds.describe_available_classes(models.DescribeAvailableClassesRequest(
        region_id="cn-hangzhou", zone_id="cn-hangzhou-i", engine="PostgreSQL", engine_version="16.0",
        dbinstance_storage_type="cloud_essd", category="Basic", instance_charge_type="Prepaid")).body
    assert body.dbinstance_classes[0].dbinstance_storage_range.step == 5


@pytest.mark.parametrize("overrides, code", [
    ({"zone_id": "cn-hangzhou-z"}, "InvalidZoneId.NotFound"),
    ({"engine_version": "9.4"}, "InvalidEngineVersion.Malformed"),
    ({"category": None}, "MissingParameter"),
])
def test_available_classes_refuses_what_it_cannot_answer(rds, overrides, code):
    fields = dict(region_id="cn-hangzhou", zone_id="cn-hangzhou-i", engine="PostgreSQL", engine_version="16.0",
                  dbinstance_storage_type="cloud_essd", category="Basic", instance_charge_type="Postpaid")
    fields.update(overrides)
    assert tea_error(rds.describe_available_classes, models.DescribeAvailableClassesRequest(**fields))[0] == code


def test_a_class_the_zone_does_not_sell_is_not_created(rds, alicloud_emulator, api):
    network = build_network(api, alicloud_emulator)
    assert network["zone_id"] == "cn-hangzhou-h"
    code, _status = tea_error(rds.create_dbinstance, create_request(network, dbinstance_class="pg.x4.large.2c"))
    assert code == "InvalidDBInstanceClass.NotFound"
    assert alicloud_emulator.resources()["db_instances"] == []
