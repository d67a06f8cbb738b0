"""ECS DescribePrice (2014-05-26) and RDS DescribePrice (2014-08-15), answered from a small price table.

The figures are plausible list prices in CNY, not Alibaba Cloud's: tests compare estimates with this table, so it is
the single source of truth here. Pay-as-you-go prices are per hour, subscription prices per month; a subscription of
one year or more gets YEARLY_DISCOUNT off, reported as a rule like the real APIs do.
"""
from ..catalog import RDS_CLASSES, RDS_ENGINES, instance_type_shape, zones_of
from ..errors import ApiError, invalid_parameter
from . import api

CURRENCY = "CNY"

# ECS instance types: (per hour pay-as-you-go, per month subscription).
ECS_INSTANCE_TYPE_PRICES = {
    "ecs.t6-c1m1.large": (0.0700, 35.00), "ecs.t6-c1m2.large": (0.1000, 50.00), "ecs.t6-c1m4.large": (0.1500, 75.00),
    "ecs.e-c1m2.large": (0.1800, 90.00), "ecs.e-c1m4.large": (0.2800, 140.00), "ecs.u1-c1m2.large": (0.3000, 150.00),
    "ecs.u1-c1m4.xlarge": (0.9800, 490.00), "ecs.c7.large": (0.4500, 225.00), "ecs.c7.xlarge": (0.9000, 450.00),
    "ecs.g7.large": (0.5800, 290.00), "ecs.g7.xlarge": (1.1600, 580.00), "ecs.g7.2xlarge": (2.3200, 1160.00),
    "ecs.r7.large": (0.7600, 380.00), "ecs.g8i.large": (0.6200, 310.00), "ecs.g8i.xlarge": (1.2400, 620.00),
    "ecs.c8i.large": (0.4800, 240.00),
}
# Any other well-formed type is priced by its shape: per vCPU and per GiB of memory.
ECS_PER_VCPU = (0.1200, 60.00)
ECS_PER_GIB_MEMORY = (0.0400, 20.00)
# System disk categories: per GB (per hour, per month).
ECS_DISK_PER_GB = {
    "cloud_efficiency": (0.0005, 0.35), "cloud_ssd": (0.0014, 1.00), "cloud_essd": (0.0014, 1.00),
    "cloud_essd_entry": (0.0007, 0.50), "cloud_auto": (0.0010, 0.70),
}
ECS_SYSTEM_DISK_SIZE_LIMITS = (20, 2048)
# PayByBandwidth, per Mbps (per hour, per month): the first 5 Mbps at one rate, every Mbps beyond at the other.
ECS_BANDWIDTH_FIRST_MBPS = 5
ECS_BANDWIDTH_PER_MBPS_UP_TO_5 = (0.0630, 23.00)
ECS_BANDWIDTH_PER_MBPS_ABOVE_5 = (0.2500, 80.00)

# RDS PostgreSQL classes: (per hour pay-as-you-go, per month subscription), storage included separately.
RDS_CLASS_PRICES = {
    "pg.n2.small.1": (0.2000, 100.00), "pg.n2.medium.1": (0.5000, 250.00), "pg.n2.small.2c": (0.3000, 150.00),
    "pg.n2.medium.2c": (0.5600, 280.00), "pg.n4.medium.2c": (0.8400, 420.00), "pg.n2.large.1": (1.1000, 550.00),
    "pg.n4.large.1": (1.6800, 840.00), "pg.x4.large.2c": (1.9000, 950.00), "pg.n2.2c.1m": (0.3800, 190.00),
    "pg.n2.4c.2m": (0.7600, 380.00), "pg.n2.2c.2m": (0.5200, 260.00), "pg.n4.2c.1m": (0.4200, 210.00),
    "pg.n4.4c.1m": (0.8400, 420.00), "pgx.n2.medium.2c": (0.6000, 300.00),
}
# RDS storage types: per GB (per hour, per month).
RDS_STORAGE_PER_GB = {
    "cloud_essd": (0.0014, 1.00), "cloud_essd2": (0.0028, 2.00), "cloud_essd3": (0.0056, 4.00),
    "general_essd": (0.0014, 1.00), "cloud_ssd": (0.0011, 0.80), "local_ssd": (0.0011, 0.80),
}

YEARLY_DISCOUNT = 0.15
YEARLY_RULE_ID = 1_000_000_012
YEARLY_RULE = "Subscriptions of a year or more: 15% off the monthly price"
HOURLY, MONTHLY = 0, 1
# Hourly prices keep four decimals, periodic ones two, as the consoles show them.
DECIMALS = {HOURLY: 4, MONTHLY: 2}


def ecs_instance_type_price(instance_type):
    """(hourly, monthly) of a type: the table's entry, or one derived from its vCPUs and memory."""
    if instance_type in ECS_INSTANCE_TYPE_PRICES:
        return ECS_INSTANCE_TYPE_PRICES[instance_type]
    shape = instance_type_shape(instance_type)
    if shape is None:
        return None
    vcpus, memory_mib = shape
    return tuple(round(vcpus * cpu + memory_mib / 1024 * memory, DECIMALS[index])
                 for index, (cpu, memory) in enumerate(zip(ECS_PER_VCPU, ECS_PER_GIB_MEMORY)))


def ecs_bandwidth_price(mbps, which):
    first = min(mbps, ECS_BANDWIDTH_FIRST_MBPS)
    beyond = max(0, mbps - ECS_BANDWIDTH_FIRST_MBPS)
    return first * ECS_BANDWIDTH_PER_MBPS_UP_TO_5[which] + beyond * ECS_BANDWIDTH_PER_MBPS_ABOVE_5[which]


def _billing(unit, period):
    """(which price column, how many units of it, the discount rate) for a price unit and period."""
    if unit == "Hour":
        return HOURLY, period, 0.0
    if unit == "Month":
        return MONTHLY, period, 0.0
    return MONTHLY, 12 * period, YEARLY_DISCOUNT


def _line(base_price, multiplier, discount, which):
    original = round(base_price * multiplier, DECIMALS[which])
    discount_amount = round(original * discount, DECIMALS[which])
    return original, discount_amount, round(original - discount_amount, DECIMALS[which])


def _period(params, name, unit, limits):
    low, high = limits[unit]
    return params.integer(name, 1, minimum=low, maximum=high, code=f"Invalid{name}.ValueNotSupported")


@api("ecs", "DescribePrice")
def ecs_describe_price(ctx):
    params = ctx.params
    region_id = ctx.region()
    # Only instances are priced (disks, bandwidth and dedicated hosts on their own are not).
    params.choice("ResourceType", ("instance",), default="instance", code="InvalidResourceType.ValueNotSupported")
    unit = params.choice("PriceUnit", ("Hour", "Month", "Year"), default="Hour",
                         code="InvalidPriceUnit.ValueNotSupported")
    period = _period(params, "Period", unit, {"Hour": (1, 1), "Month": (1, 9), "Year": (1, 5)})
    amount = params.integer("Amount", 1, minimum=1, maximum=1000, code="InvalidAmount.ValueNotSupported")
    zone_id = params.get("ZoneId")
    if zone_id is not None and zone_id not in {zone[0] for zone in zones_of(region_id)}:
        raise ApiError("InvalidZoneId.NotFound", f"The specified ZoneId {zone_id} does not exist.", status=404)
    instance_type = params.require("InstanceType")
    type_price = ecs_instance_type_price(instance_type)
    if type_price is None:
        raise ApiError("InvalidInstanceType.ValueNotSupported",
                       f"The specified InstanceType {instance_type} does not exist or is not supported.")
    disk_category = params.choice("SystemDisk.Category", tuple(ECS_DISK_PER_GB), default="cloud_essd",
                                  code="InvalidSystemDiskCategory.ValueNotSupported")
    disk_size = params.integer("SystemDisk.Size", ECS_SYSTEM_DISK_SIZE_LIMITS[0],
                               minimum=ECS_SYSTEM_DISK_SIZE_LIMITS[0], maximum=ECS_SYSTEM_DISK_SIZE_LIMITS[1],
                               code="InvalidSystemDiskSize.ValueNotSupported")
    bandwidth = params.integer("InternetMaxBandwidthOut", 0, minimum=0, maximum=100,
                               code="InvalidInternetMaxBandwidthOut.Malformed")
    charge_type = params.choice("InternetChargeType", ("PayByBandwidth", "PayByTraffic"), default="PayByTraffic",
                                code="InvalidInternetChargeType.ValueNotSupported")
    which, multiplier, discount = _billing(unit, period)
    multiplier *= amount
    # PayByTraffic bills outbound traffic per GB after use: the bandwidth itself costs nothing up front.
    bandwidth_price = ecs_bandwidth_price(bandwidth, which) if charge_type == "PayByBandwidth" else 0.0
    items = [("instanceType", type_price[which]), ("systemDisk", ECS_DISK_PER_GB[disk_category][which] * disk_size)]
    if bandwidth:
        items.append(("bandwidth", bandwidth_price))
    rules = [{"RuleId": YEARLY_RULE_ID, "Description": YEARLY_RULE}] if discount else []
    details = []
    totals = [0.0, 0.0, 0.0]
    for resource, price in items:
        line = _line(price, multiplier, discount, which)
        totals = [total + part for total, part in zip(totals, line)]
        details.append({"Resource": resource, "OriginalPrice": line[0], "DiscountPrice": line[1],
                        "TradePrice": line[2], "SubRules": {"Rule": list(rules)}})
    original, discount_amount, trade = (round(total, DECIMALS[which]) for total in totals)
    return {"PriceInfo": {
        "Price": {"OriginalPrice": original, "DiscountPrice": discount_amount, "TradePrice": trade,
                  "Currency": CURRENCY, "ReservedInstanceHourPrice": 0.0,
                  "DetailInfos": {"DetailInfo": details}},
        "Rules": {"Rule": rules},
    }}


@api("rds", "DescribePrice")
def rds_describe_price(ctx):
    params = ctx.params
    region_id = ctx.region(required=False) or "cn-hangzhou"
    engine = params.choice("Engine", tuple(RDS_ENGINES), required=True, code="InvalidEngine.Malformed")
    engine_version = params.require("EngineVersion")
    if engine_version not in RDS_ENGINES[engine]:
        raise ApiError("InvalidEngineVersion.Malformed", f"The specified EngineVersion {engine_version} is not valid.")
    db_class = params.require("DBInstanceClass")
    if db_class not in RDS_CLASSES:
        raise ApiError("InvalidDBInstanceClass.NotFound", f"The specified DBInstanceClass {db_class} is not found.")
    storage = params.integer("DBInstanceStorage", required=True, code="InvalidDBInstanceStorage.Malformed")
    if not 20 <= storage <= 32000 or storage % 5:
        raise ApiError("InvalidDBInstanceStorage.Malformed",
                       "DBInstanceStorage must be 20 to 32000 GB in steps of 5 GB.")
    storage_type = params.choice("DBInstanceStorageType", tuple(RDS_STORAGE_PER_GB), default="cloud_essd")
    quantity = params.integer("Quantity", 1, minimum=1, maximum=30, code="InvalidQuantity.Malformed")
    zone_id = params.get("ZoneId")
    if zone_id is not None and zone_id not in {zone[0] for zone in zones_of(region_id)}:
        raise ApiError("InvalidZoneId.NotFound", f"The specified ZoneId {zone_id} does not exist.")
    pay_type = params.choice("PayType", ("Postpaid", "Prepaid"), default="Prepaid", code="InvalidPayType.Malformed")
    params.choice("OrderType", ("BUY",), default="BUY", code="InvalidOrderType.Malformed")
    commodity = params.get("CommodityCode")
    if commodity is not None and commodity not in ("bards", "rds", "bards_intl", "rds_intl"):
        raise invalid_parameter("CommodityCode", "Only primary instances are priced.")
    if commodity is not None and commodity.startswith("bards") != (pay_type == "Postpaid"):
        raise invalid_parameter("CommodityCode", f"{commodity} does not match PayType {pay_type}.")
    if pay_type == "Postpaid":
        unit, period = "Hour", 1
    else:
        unit = params.choice("TimeType", ("Month", "Year"), required=True, code="InvalidTimeType.Malformed")
        period = _period(params, "UsedTime", unit, {"Month": (1, 999), "Year": (1, 100)})
    which, multiplier, discount = _billing(unit, period)
    price = RDS_CLASS_PRICES[db_class][which] + RDS_STORAGE_PER_GB[storage_type][which] * storage
    original, discount_amount, trade = _line(price, multiplier * quantity, discount, which)
    rules = [{"RuleId": YEARLY_RULE_ID, "Name": "yearly-subscription", "Description": YEARLY_RULE}] if discount else []
    return {
        "PriceInfo": {"Currency": CURRENCY, "OriginalPrice": original, "DiscountPrice": discount_amount,
                      "TradePrice": trade, "RuleIds": {"RuleId": [str(rule["RuleId"]) for rule in rules]},
                      "Coupons": {"Coupon": []},
                      "ActivityInfo": {"CheckErrMsg": "", "ErrorCode": "", "Success": "true"}},
        "Rules": {"Rule": rules},
        "ShowDiscount": bool(discount),
    }
