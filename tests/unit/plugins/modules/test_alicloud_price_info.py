"""Pure logic of the price modules: how a pay type and period become DescribePrice parameters, and input rules."""
import pytest

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import AlicloudParameterError
from ansible_collections.computenest.mlflow.plugins.modules import alicloud_ecs_price_info as ecs_price
from ansible_collections.computenest.mlflow.plugins.modules import alicloud_rds_price_info as rds_price


def ecs_params(**overrides):
    params = dict(instance_type='ecs.g7.large', zone_id=None, system_disk_category='cloud_essd', system_disk_size=40,
                  internet_max_bandwidth_out=5, internet_charge_type='PayByTraffic', pay_type='PostPaid',
                  period_months=1, amount=1)
    params.update(overrides)
    return params


def rds_params(**overrides):
    params = dict(engine='PostgreSQL', engine_version='16.0', instance_class='pg.n2.2c.1m', storage=20,
                  storage_type='cloud_essd', zone_id='cn-hangzhou-h', pay_type='Postpaid', period='Month', used_time=1,
                  quantity=1)
    params.update(overrides)
    return params


@pytest.mark.parametrize('pay_type, months, unit, period', [
    ('PostPaid', 7, 'Hour', 1),
    ('PrePaid', 1, 'Month', 1),
    ('PrePaid', 9, 'Month', 9),
    ('PrePaid', 12, 'Year', 1),
    ('PrePaid', 36, 'Year', 3),
])
def test_ecs_period_becomes_price_unit_and_period(pay_type, months, unit, period):
    request = ecs_price.price_request(ecs_params(pay_type=pay_type, period_months=months), 'cn-hangzhou')
    assert (request['PriceUnit'], request['Period']) == (unit, period)
    assert request['SystemDisk.Category'] == 'cloud_essd' and request['SystemDisk.Size'] == 40
    assert 'ZoneId' not in request


@pytest.mark.parametrize('overrides, option', [
    (dict(instance_type='g7.large'), 'instance_type'),
    (dict(system_disk_size=19), 'system_disk_size'),
    (dict(internet_max_bandwidth_out=101), 'internet_max_bandwidth_out'),
    (dict(pay_type='PrePaid', period_months=11), 'period_months'),
    (dict(amount=0), 'amount'),
])
def test_ecs_bad_input_names_the_option(overrides, option):
    with pytest.raises(AlicloudParameterError, match='^' + option):
        ecs_price.validate(ecs_params(**overrides))


def test_ecs_postpaid_ignores_the_period():
    ecs_price.validate(ecs_params(pay_type='PostPaid', period_months=11))


def test_rds_subscription_sends_time_type_and_used_time_only_when_prepaid():
    postpaid = rds_price.price_request(rds_params(), 'cn-hangzhou')
    assert 'TimeType' not in postpaid and 'UsedTime' not in postpaid and postpaid['PayType'] == 'Postpaid'
    prepaid = rds_price.price_request(rds_params(pay_type='Prepaid', period='Year', used_time=2), 'cn-hangzhou')
    assert (prepaid['TimeType'], prepaid['UsedTime'], prepaid['OrderType']) == ('Year', 2, 'BUY')


@pytest.mark.parametrize('overrides, option', [
    (dict(instance_class='pg'), 'instance_class'),
    (dict(storage=21), 'storage'),
    (dict(storage=15), 'storage'),
    (dict(pay_type='Prepaid', period='Year', used_time=6), 'used_time'),
    (dict(quantity=31), 'quantity'),
])
def test_rds_bad_input_names_the_option(overrides, option):
    with pytest.raises(AlicloudParameterError, match='^' + option):
        rds_price.validate(rds_params(**overrides))
