#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: alicloud_rds_price_info
short_description: Ask RDS what a PostgreSQL instance would cost before ordering it
version_added: 0.1.0
description:
  - Calls RDS C(DescribePrice) for one new primary instance (engine version, instance class, storage, storage type,
    pay type and subscription period) and returns the estimate the RDS console shows before an order is confirmed.
  - Pay-as-you-go prices are per hour; subscription prices are for the whole period. Storage is included.
  - Creates nothing and changes nothing.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  engine:
    description:
      - The database engine.
    type: str
    default: PostgreSQL
    choices: [PostgreSQL]
  engine_version:
    description:
      - The engine version, such as V(16.0).
    type: str
    default: '16.0'
  instance_class:
    description:
      - The RDS instance class, such as V(pg.n2.2c.1m).
    type: str
    required: true
  storage:
    description:
      - Storage in GB, 20 to 32000 in steps of 5.
    type: int
    default: 20
  storage_type:
    description:
      - The storage type.
    type: str
    default: cloud_essd
    choices: [cloud_essd, cloud_essd2, cloud_essd3, general_essd, cloud_ssd, local_ssd]
  zone_id:
    description:
      - The zone of the primary node; prices can differ per zone.
    type: str
  pay_type:
    description:
      - V(Postpaid) (pay as you go, priced per hour) or V(Prepaid) (subscription for O(period) x O(used_time)), as
        RDS spells them.
    type: str
    default: Postpaid
    choices: [Postpaid, Prepaid]
  period:
    description:
      - The unit of a subscription, for O(pay_type=Prepaid).
    type: str
    default: Month
    choices: [Month, Year]
  used_time:
    description:
      - How many O(period)s a subscription lasts, 1 to 9 months or 1 to 5 years, for O(pay_type=Prepaid).
    type: int
    default: 1
  quantity:
    description:
      - How many instances, 1 to 30.
    type: int
    default: 1
extends_documentation_fragment:
  - computenest.mlflow.alicloud
attributes:
  check_mode:
    support: full
    description: Read-only; asks for the price in check mode too.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to compare.
notes:
  - RAM action C(rds:DescribePrice).
'''

EXAMPLES = r'''
- name: Price the backend store, pay as you go
  computenest.mlflow.alicloud_rds_price_info:
    region: cn-hangzhou
    zone_id: cn-hangzhou-h
    instance_class: pg.n2.2c.1m
    storage: 20
    storage_type: cloud_essd
  register: rds_price

- name: Price a three-month subscription
  computenest.mlflow.alicloud_rds_price_info:
    instance_class: pg.n2.2c.1m
    pay_type: Prepaid
    period: Month
    used_time: 3
'''

RETURN = r'''
currency:
  description: Currency of every price.
  returned: always
  type: str
  sample: CNY
price_unit:
  description: What the prices cover, V(Hour) for pay as you go, V(Month) or V(Year) for a subscription.
  returned: always
  type: str
  sample: Hour
period:
  description: How many O(period)s the prices cover (1 for pay as you go).
  returned: always
  type: int
  sample: 1
per:
  description: The period in words, for messages.
  returned: always
  type: str
  sample: hour
original_price:
  description: List price of the instance with its storage.
  returned: always
  type: float
  sample: 0.408
discount_price:
  description: Discount off the list price.
  returned: always
  type: float
  sample: 0.0
trade_price:
  description: What would be charged, list price minus discount.
  returned: always
  type: float
  sample: 0.408
rules:
  description: Promotion and discount rules applied, as RDS describes them.
  returned: always
  type: list
  elements: dict
  sample: [{rule_id: 1000000012, name: yearly-subscription, description: "Subscriptions of a year or more: 15% off"}]
request:
  description: The C(DescribePrice) parameters sent.
  returned: always
  type: dict
'''

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudModule, AlicloudParameterError, dig)

STORAGE_LIMITS = (20, 32000)
USED_TIME_LIMITS = {'Month': 9, 'Year': 5}


def validate(params):
    if not params['instance_class'] or '.' not in params['instance_class']:
        raise AlicloudParameterError('instance_class must be an RDS instance class such as pg.n2.2c.1m, got %r'
                                     % params['instance_class'])
    storage = params['storage']
    if not STORAGE_LIMITS[0] <= storage <= STORAGE_LIMITS[1] or storage % 5:
        raise AlicloudParameterError('storage must be %d to %d GB in steps of 5, got %d'
                                     % (STORAGE_LIMITS + (storage,)))
    if params['pay_type'] == 'Prepaid' and not 1 <= params['used_time'] <= USED_TIME_LIMITS[params['period']]:
        raise AlicloudParameterError('used_time must be 1 to %d with period %s, got %d'
                                     % (USED_TIME_LIMITS[params['period']], params['period'], params['used_time']))
    if not 1 <= params['quantity'] <= 30:
        raise AlicloudParameterError('quantity must be 1 to 30, got %d' % params['quantity'])


def price_request(params, region):
    request = {
        'RegionId': region, 'ZoneId': params['zone_id'], 'Engine': params['engine'],
        'EngineVersion': params['engine_version'], 'DBInstanceClass': params['instance_class'],
        'DBInstanceStorage': params['storage'], 'DBInstanceStorageType': params['storage_type'],
        'PayType': params['pay_type'], 'Quantity': params['quantity'], 'OrderType': 'BUY', 'InstanceUsedType': 0,
    }
    if params['pay_type'] == 'Prepaid':
        request.update(TimeType=params['period'], UsedTime=params['used_time'])
    return dict((key, value) for key, value in request.items() if value is not None)


def money(value):
    return float(value or 0)


def gather(module):
    params = module.params
    validate(params)
    request = price_request(params, module.region)
    body = module.client.call('rds', 'DescribePrice', request)
    info = body.get('PriceInfo') or {}
    rules = [dict(rule_id=rule.get('RuleId'), name=rule.get('Name'), description=rule.get('Description'))
             for rule in dig(body, 'Rules.Rule', []) or []]
    if params['pay_type'] == 'Postpaid':
        unit, period = 'Hour', 1
    else:
        unit, period = params['period'], params['used_time']
    per = unit.lower() if period == 1 else '%d %ss' % (period, unit.lower())
    module.exit_json(changed=False, currency=info.get('Currency'), price_unit=unit, period=period, per=per,
                     original_price=money(info.get('OriginalPrice')), discount_price=money(info.get('DiscountPrice')),
                     trade_price=money(info.get('TradePrice')), rules=rules, request=request)


def main():
    module = AlicloudModule(
        argument_spec=dict(
            engine=dict(type='str', default='PostgreSQL', choices=['PostgreSQL']),
            engine_version=dict(type='str', default='16.0'),
            instance_class=dict(type='str', required=True),
            storage=dict(type='int', default=20),
            storage_type=dict(type='str', default='cloud_essd',
                              choices=['cloud_essd', 'cloud_essd2', 'cloud_essd3', 'general_essd', 'cloud_ssd',
                                       'local_ssd']),
            zone_id=dict(type='str'),
            pay_type=dict(type='str', default='Postpaid', choices=['Postpaid', 'Prepaid']),
            period=dict(type='str', default='Month', choices=['Month', 'Year']),
            used_time=dict(type='int', default=1),
            quantity=dict(type='int', default=1),
        ),
        supports_check_mode=True,
    )
    module.run(gather, module)


if __name__ == '__main__':
    main()
