"""ECS and RDS DescribePrice through the official SDKs: shapes, the price table, validation."""
import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from alibabacloud_rds20140815 import models
from alibabacloud_tea_openapi import exceptions as tea_exceptions

from alicloud_emulator.services import pricing

from .emu_helpers import tea_rds_client


def ecs_price(api, **params):
    return api("ecs", "DescribePrice", RegionId="cn-hangzhou", **params)["PriceInfo"]


def test_ecs_pay_as_you_go_is_itemised_per_hour(api):
    info = ecs_price(api, InstanceType="ecs.g7.large", SystemDiskCategory="cloud_essd", SystemDiskSize=40,
                     InternetMaxBandwidthOut=8, InternetChargeType="PayByBandwidth", PriceUnit="Hour")
    price = info["Price"]
    details = {item["Resource"]: item for item in price["DetailInfos"]["DetailInfo"]}
    assert set(details) == {"instanceType", "systemDisk", "bandwidth"}
    assert details["instanceType"]["TradePrice"] == pricing.ECS_INSTANCE_TYPE_PRICES["ecs.g7.large"][0] == 0.58
    assert details["systemDisk"]["TradePrice"] == round(40 * pricing.ECS_DISK_PER_GB["cloud_essd"][0], 4)
    # 5 Mbps at the first rate, 3 at the higher one.
    assert details["bandwidth"]["TradePrice"] == round(5 * 0.063 + 3 * 0.25, 4)
    assert price["Currency"] == "CNY"
    assert price["DiscountPrice"] == 0
    assert price["TradePrice"] == price["OriginalPrice"] == round(0.58 + 0.056 + 1.065, 4)
    assert info["Rules"]["Rule"] == []


def test_ecs_subscription_by_month_and_year(api):
    month = ecs_price(api, InstanceType="ecs.g7.large", SystemDiskCategory="cloud_essd", SystemDiskSize=40,
                      PriceUnit="Month", Period=3)["Price"]
    assert month["TradePrice"] == round(3 * (290.00 + 40 * 1.00), 2) == 990.0
    assert month["DiscountPrice"] == 0
    year = ecs_price(api, InstanceType="ecs.g7.large", SystemDiskCategory="cloud_essd", SystemDiskSize=40,
                     PriceUnit="Year", Period=1)
    assert year["Price"]["OriginalPrice"] == 12 * 330.0
    assert year["Price"]["DiscountPrice"] == round(12 * 330.0 * 0.15, 2)
    assert year["Price"]["TradePrice"] == round(12 * 330.0 * 0.85, 2)
    assert year["Rules"]["Rule"][0]["RuleId"] == pricing.YEARLY_RULE_ID


def test_ecs_pay_by_traffic_costs_nothing_up_front_and_unlisted_types_follow_their_shape(api):
    price = ecs_price(api, InstanceType="ecs.g7.4xlarge", InternetMaxBandwidthOut=10)["Price"]
    details = {item["Resource"]: item["TradePrice"] for item in price["DetailInfos"]["DetailInfo"]}
    assert details["bandwidth"] == 0
    # 16 vCPUs, 64 GiB, priced per vCPU and per GiB; system disk defaults to 20 GB cloud_essd.
    assert details["instanceType"] == round(16 * 0.12 + 64 * 0.04, 4)
    assert details["systemDisk"] == round(20 * 0.0014, 4)


@pytest.mark.parametrize("params, code", [
    (dict(InstanceType="m1.tiny"), "InvalidInstanceType.ValueNotSupported"),
    (dict(InstanceType="ecs.g7.large", PriceUnit="Month", Period=10), "InvalidPeriod.ValueNotSupported"),
    (dict(InstanceType="ecs.g7.large", SystemDiskCategory="floppy"), "InvalidSystemDiskCategory.ValueNotSupported"),
    (dict(InstanceType="ecs.g7.large", SystemDiskSize=10), "InvalidSystemDiskSize.ValueNotSupported"),
    (dict(PriceUnit="Hour"), "MissingParameter"),
])
def test_ecs_describe_price_rejects_bad_input(api, params, code):
    with pytest.raises(ServerException) as caught:
        ecs_price(api, **params)
    assert caught.value.get_error_code() == code


def rds_price(emulator, **fields):
    request = dict(region_id="cn-hangzhou", engine="PostgreSQL", engine_version="16.0",
                   dbinstance_class="pg.n2.2c.1m", dbinstance_storage=20, dbinstance_storage_type="cloud_essd",
                   quantity=1)
    request.update(fields)
    return tea_rds_client(emulator).describe_price(models.DescribePriceRequest(**request)).body


def test_rds_pay_as_you_go_per_hour(alicloud_emulator):
    body = rds_price(alicloud_emulator, pay_type="Postpaid")
    expected = round(pricing.RDS_CLASS_PRICES["pg.n2.2c.1m"][0] + 20 * pricing.RDS_STORAGE_PER_GB["cloud_essd"][0], 4)
    assert body.price_info.trade_price == body.price_info.original_price == expected == 0.408
    assert body.price_info.discount_price == 0
    assert body.price_info.currency == "CNY"


def test_rds_subscription_with_used_time(alicloud_emulator):
    months = rds_price(alicloud_emulator, pay_type="Prepaid", time_type="Month", used_time=2).price_info
    assert months.trade_price == 2 * (190.0 + 20.0)
    year = rds_price(alicloud_emulator, pay_type="Prepaid", time_type="Year", used_time=1)
    assert year.price_info.original_price == 12 * 210.0
    assert year.price_info.trade_price == round(12 * 210.0 * 0.85, 2)
    assert year.rules.rule[0].rule_id == pricing.YEARLY_RULE_ID
    assert year.price_info.rule_ids.rule_id == [str(pricing.YEARLY_RULE_ID)]


@pytest.mark.parametrize("fields, code", [
    (dict(dbinstance_class="pg.nope"), "InvalidDBInstanceClass.NotFound"),
    (dict(dbinstance_storage=22), "InvalidDBInstanceStorage.Malformed"),
    (dict(pay_type="Prepaid"), "MissingParameter"),
    (dict(engine_version="9.4", pay_type="Postpaid"), "InvalidEngineVersion.Malformed"),
])
def test_rds_describe_price_rejects_bad_input(alicloud_emulator, fields, code):
    with pytest.raises(tea_exceptions.ClientException) as caught:
        rds_price(alicloud_emulator, **fields)
    assert caught.value.code == code
