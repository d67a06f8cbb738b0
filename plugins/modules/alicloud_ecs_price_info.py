#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: alicloud_ecs_price_info
short_description: Ask ECS what an instance would cost before ordering it
version_added: 0.1.0
description:
  - Calls ECS C(DescribePrice) for one configuration (instance type, system disk, outbound bandwidth, pay type and
    subscription period) and returns the itemised estimate the ECS console shows before an order is confirmed.
  - Pay-as-you-go prices are per hour; subscription prices are for the whole period.
  - Creates nothing and changes nothing.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  instance_type:
    description:
      - The ECS instance type, such as V(ecs.g7.large).
    type: str
    required: true
  zone_id:
    description:
      - The zone the instance would be created in; prices can differ per zone.
    type: str
  system_disk_category:
    description:
      - The system disk category.
    type: str
    default: cloud_essd
    choices: [cloud_essd, cloud_essd_entry, cloud_auto, cloud_ssd, cloud_efficiency]
  system_disk_size:
    description:
      - The system disk size in GiB, 20 to 2048.
    type: int
    default: 40
  internet_max_bandwidth_out:
    description:
      - Outbound public bandwidth in Mbit/s, 0 to 100; 0 means no public IP address.
    type: int
    default: 0
  internet_charge_type:
    description:
      - How public traffic is billed. V(PayByTraffic) bills each GB sent after use, so its bandwidth line is zero here.
    type: str
    default: PayByTraffic
    choices: [PayByTraffic, PayByBandwidth]
  pay_type:
    description:
      - V(PostPaid) (pay as you go, priced per hour) or V(PrePaid) (subscription, priced for O(period_months)).
    type: str
    default: PostPaid
    choices: [PostPaid, PrePaid]
  period_months:
    description:
      - Subscription length in months for O(pay_type=PrePaid), one of 1 to 9, 12, 24, 36, 48 or 60.
      - Ignored for V(PostPaid).
    type: int
    default: 1
  amount:
    description:
      - How many instances, 1 to 100.
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
  - RAM action C(ecs:DescribePrice).
'''

EXAMPLES = r'''
- name: Price the MLflow server, pay as you go
  computenest.mlflow.alicloud_ecs_price_info:
    region: cn-hangzhou
    zone_id: cn-hangzhou-h
    instance_type: ecs.g7.large
    system_disk_category: cloud_essd
    system_disk_size: 40
    internet_max_bandwidth_out: 5
  register: ecs_price

- name: Show it
  ansible.builtin.debug:
    msg: "{{ ecs_price.trade_price }} {{ ecs_price.currency }} per {{ ecs_price.price_unit }}"

- name: Price a one-year subscription
  computenest.mlflow.alicloud_ecs_price_info:
    instance_type: ecs.g7.large
    pay_type: PrePaid
    period_months: 12
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
  description: How many RV(price_unit)s the prices cover (1 for pay as you go).
  returned: always
  type: int
  sample: 1
per:
  description: The period in words, for messages.
  returned: always
  type: str
  sample: hour
original_price:
  description: List price of the whole configuration.
  returned: always
  type: float
  sample: 0.694
discount_price:
  description: Discount off the list price.
  returned: always
  type: float
  sample: 0.0
trade_price:
  description: What would be charged, list price minus discount.
  returned: always
  type: float
  sample: 0.694
items:
  description: The estimate per billed resource.
  returned: always
  type: list
  elements: dict
  contains:
    resource:
      description: V(instanceType), V(systemDisk), V(bandwidth) or another resource ECS bills.
      type: str
      sample: instanceType
    original_price:
      description: List price of this resource.
      type: float
    discount_price:
      description: Discount on this resource.
      type: float
    trade_price:
      description: What this resource would cost.
      type: float
rules:
  description: Promotion and discount rules applied, as ECS describes them.
  returned: always
  type: list
  elements: dict
  sample: [{rule_id: 1000000012, description: "Subscriptions of a year or more: 15% off"}]
notes:
  description: What the estimate leaves out.
  returned: always
  type: list
  elements: str
  sample: [Outbound traffic is billed per GB after use (PayByTraffic) and is not part of this estimate.]
request:
  description: The C(DescribePrice) parameters sent.
  returned: always
  type: dict
'''

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudModule, AlicloudParameterError, dig)

PREPAID_MONTHS = list(range(1, 10)) + [12, 24, 36, 48, 60]
DISK_SIZE_LIMITS = (20, 2048)


def validate(params):
    if not params['instance_type'] or not params['instance_type'].startswith('ecs.'):
        raise AlicloudParameterError('instance_type must be an ECS instance type such as ecs.g7.large, got %r'
                                     % params['instance_type'])
    if not DISK_SIZE_LIMITS[0] <= params['system_disk_size'] <= DISK_SIZE_LIMITS[1]:
        raise AlicloudParameterError('system_disk_size must be %d to %d GiB, got %d'
                                     % (DISK_SIZE_LIMITS + (params['system_disk_size'],)))
    if not 0 <= params['internet_max_bandwidth_out'] <= 100:
        raise AlicloudParameterError('internet_max_bandwidth_out must be 0 to 100 Mbit/s, got %d'
                                     % params['internet_max_bandwidth_out'])
    if params['pay_type'] == 'PrePaid' and params['period_months'] not in PREPAID_MONTHS:
        raise AlicloudParameterError('period_months must be one of %s for pay_type PrePaid, got %d'
                                     % (', '.join(str(m) for m in PREPAID_MONTHS), params['period_months']))
    if not 1 <= params['amount'] <= 100:
        raise AlicloudParameterError('amount must be 1 to 100, got %d' % params['amount'])


def price_request(params, region):
    """DescribePrice parameters; ECS counts a subscription in months up to 9, then in whole years."""
    if params['pay_type'] == 'PostPaid':
        unit, period = 'Hour', 1
    elif params['period_months'] < 12:
        unit, period = 'Month', params['period_months']
    else:
        unit, period = 'Year', params['period_months'] // 12
    request = {
        'RegionId': region, 'ResourceType': 'instance', 'InstanceType': params['instance_type'],
        'SystemDisk.Category': params['system_disk_category'], 'SystemDisk.Size': params['system_disk_size'],
        'InternetMaxBandwidthOut': params['internet_max_bandwidth_out'],
        'InternetChargeType': params['internet_charge_type'], 'PriceUnit': unit, 'Period': period,
        'Amount': params['amount'], 'ZoneId': params['zone_id'],
    }
    return dict((key, value) for key, value in request.items() if value is not None)


def money(value):
    return float(value or 0)


def gather(module):
    params = module.params
    validate(params)
    request = price_request(params, module.region)
    body = module.client.call('ecs', 'DescribePrice', request)
    price = dig(body, 'PriceInfo.Price', {}) or {}
    items = [dict(resource=detail.get('Resource'), original_price=money(detail.get('OriginalPrice')),
                  discount_price=money(detail.get('DiscountPrice')), trade_price=money(detail.get('TradePrice')))
             for detail in dig(price, 'DetailInfos.DetailInfo', []) or []]
    rules = [dict(rule_id=rule.get('RuleId'), description=rule.get('Description'))
             for rule in dig(body, 'PriceInfo.Rules.Rule', []) or []]
    notes = []
    if params['internet_max_bandwidth_out'] and params['internet_charge_type'] == 'PayByTraffic':
        notes.append('Outbound traffic is billed per GB after use (PayByTraffic) and is not part of this estimate.')
    unit, period = request['PriceUnit'], request['Period']
    per = unit.lower() if period == 1 else '%d %ss' % (period, unit.lower())
    module.exit_json(changed=False, currency=price.get('Currency'), price_unit=unit, period=period, per=per,
                     original_price=money(price.get('OriginalPrice')), discount_price=money(price.get('DiscountPrice')),
                     trade_price=money(price.get('TradePrice')), items=items, rules=rules, notes=notes,
                     request=request)


def main():
    module = AlicloudModule(
        argument_spec=dict(
            instance_type=dict(type='str', required=True),
            zone_id=dict(type='str'),
            system_disk_category=dict(type='str', default='cloud_essd',
                                      choices=['cloud_essd', 'cloud_essd_entry', 'cloud_auto', 'cloud_ssd',
                                               'cloud_efficiency']),
            system_disk_size=dict(type='int', default=40),
            internet_max_bandwidth_out=dict(type='int', default=0),
            internet_charge_type=dict(type='str', default='PayByTraffic', choices=['PayByTraffic', 'PayByBandwidth']),
            pay_type=dict(type='str', default='PostPaid', choices=['PostPaid', 'PrePaid']),
            period_months=dict(type='int', default=1),
            amount=dict(type='int', default=1),
        ),
        supports_check_mode=True,
    )
    module.run(gather, module)


if __name__ == '__main__':
    main()
