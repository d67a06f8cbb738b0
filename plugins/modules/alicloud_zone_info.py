#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: alicloud_zone_info
short_description: List Alibaba Cloud regions and the zones of a region
version_added: 0.1.0
description:
  - Returns the regions ECS offers (C(DescribeRegions)) and the zones of the module's region (C(DescribeZones)).
  - With O(zone_id), checks that the zone belongs to the region and fails naming the zones that do when it does not;
    use it to validate input before creating anything.
  - With O(zone_id) and O(instance_charge_type), also asks ECS which instance types the zone sells now
    (C(DescribeAvailableResource), as the console does before it offers a type) and returns RV(instance_types).
  - With O(zone_id) and O(db_engine_version), also asks RDS which instance classes the zone sells for that engine,
    storage type, edition and billing (C(DescribeAvailableClasses)) and returns RV(db_instance_classes).
  - All calls are reads; RAM actions C(ecs:DescribeRegions), C(ecs:DescribeZones), and with the options above
    C(ecs:DescribeAvailableResource) and C(rds:DescribeAvailableClasses).
author:
  - computenest.mlflow maintainers (@computenest)
options:
  zone_id:
    description:
      - A zone that must exist in the region.
    type: str
  instance_charge_type:
    description:
      - ECS billing to ask the zone's instance types for. Needs O(zone_id).
    type: str
    choices: [PostPaid, PrePaid]
  db_engine:
    description:
      - RDS engine to ask the zone's instance classes for.
    type: str
    default: PostgreSQL
  db_engine_version:
    description:
      - RDS engine version to ask the zone's instance classes for, such as C(16.0). Needs O(zone_id).
    type: str
  db_storage_type:
    description:
      - RDS storage type of the classes asked for.
    type: str
    default: cloud_essd
  db_category:
    description:
      - RDS edition of the classes asked for.
    type: str
    default: Basic
  db_pay_type:
    description:
      - RDS billing of the classes asked for, in RDS spelling.
    type: str
    choices: [Postpaid, Prepaid]
    default: Postpaid
extends_documentation_fragment:
  - computenest.mlflow.alicloud
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to compare.
'''

EXAMPLES = r'''
- name: Refuse a zone that is not in the region
  computenest.mlflow.alicloud_zone_info:
    region: cn-hangzhou
    zone_id: cn-hangzhou-h
  register: zones

- name: Ask what the zone sells before ordering
  computenest.mlflow.alicloud_zone_info:
    region: cn-hangzhou
    zone_id: cn-hangzhou-h
    instance_charge_type: PostPaid
    db_engine_version: "16.0"
  register: sold

- name: Refuse a type the zone does not sell
  ansible.builtin.assert:
    that:
      - "'ecs.g7.large' in sold.instance_types"
      - "'pg.n2.2c.1m' in sold.db_instance_classes"

- name: Pick the first zone
  ansible.builtin.set_fact:
    zone: "{{ zones.zone_ids | first }}"
'''

RETURN = r'''
region:
  description: The region the zones belong to.
  returned: always
  type: str
  sample: cn-hangzhou
regions:
  description: Regions, sorted by ID.
  returned: always
  type: list
  elements: dict
  contains:
    region_id:
      description: Region ID.
      type: str
      sample: cn-hangzhou
    local_name:
      description: Display name.
      type: str
      sample: China (Hangzhou)
    endpoint:
      description: ECS endpoint of the region.
      type: str
      sample: ecs-cn-hangzhou.aliyuncs.com
region_ids:
  description: IDs of RV(regions).
  returned: always
  type: list
  elements: str
  sample: [cn-beijing, cn-hangzhou]
zones:
  description: Zones of the region, sorted by ID.
  returned: always
  type: list
  elements: dict
  contains:
    zone_id:
      description: Zone ID.
      type: str
      sample: cn-hangzhou-h
    local_name:
      description: Display name.
      type: str
      sample: Hangzhou Zone H
zone_ids:
  description: IDs of RV(zones).
  returned: always
  type: list
  elements: str
  sample: [cn-hangzhou-h, cn-hangzhou-i]
instance_types:
  description: Instance types O(zone_id) sells now for O(instance_charge_type) (status Available), sorted.
  returned: when O(zone_id) and O(instance_charge_type) are given
  type: list
  elements: str
  sample: [ecs.c7.large, ecs.g7.large]
instance_types_sold_out:
  description: Instance types O(zone_id) sells but has no stock of now, sorted.
  returned: when O(zone_id) and O(instance_charge_type) are given
  type: list
  elements: str
  sample: [ecs.r7.large]
db_instance_classes:
  description: RDS instance classes O(zone_id) sells now for the engine, storage type, edition and billing, sorted.
  returned: when O(zone_id) and O(db_engine_version) are given
  type: list
  elements: str
  sample: [pg.n2.2c.1m, pg.n2.4c.2m]
'''

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import AlicloudModule, AlicloudParameterError


def gather(module):
    region = module.region
    regions_body = module.client.call('ecs', 'DescribeRegions', {'RegionId': region})
    regions = sorted(
        (dict(region_id=r.get('RegionId'), local_name=r.get('LocalName'), endpoint=r.get('RegionEndpoint'))
         for r in (regions_body.get('Regions') or {}).get('Region') or []),
        key=lambda r: r['region_id'] or '')
    region_ids = [r['region_id'] for r in regions]
    if region_ids and region not in region_ids:
        raise AlicloudParameterError('region %s is not one of the regions: %s' % (region, ', '.join(region_ids)))
    zones_body = module.client.call('ecs', 'DescribeZones', {'RegionId': region})
    zones = sorted((dict(zone_id=z.get('ZoneId'), local_name=z.get('LocalName'))
                    for z in (zones_body.get('Zones') or {}).get('Zone') or []), key=lambda z: z['zone_id'] or '')
    zone_ids = [z['zone_id'] for z in zones]
    zone_id = module.params['zone_id']
    if zone_id is not None and zone_id not in zone_ids:
        raise AlicloudParameterError('zone_id %s is not a zone of region %s; its zones are: %s'
                                     % (zone_id, region, ', '.join(zone_ids) or 'none'))
    result = dict(changed=False, region=region, regions=regions, region_ids=region_ids, zones=zones,
                  zone_ids=zone_ids)
    if module.params['instance_charge_type']:
        result.update(instance_types_of_zone(module, zone_id))
    if module.params['db_engine_version']:
        result['db_instance_classes'] = db_classes_of_zone(module, zone_id)
    module.exit_json(**result)


def instance_types_of_zone(module, zone_id):
    """The instance types the zone sells (with stock, and sold out) for the billing asked, as the console lists them."""
    body = module.client.call('ecs', 'DescribeAvailableResource', {
        'RegionId': module.region, 'ZoneId': zone_id, 'DestinationResource': 'InstanceType',
        'InstanceChargeType': module.params['instance_charge_type'], 'ResourceType': 'instance'})
    statuses = {}
    for zone in (body.get('AvailableZones') or {}).get('AvailableZone') or []:
        if zone.get('ZoneId') != zone_id:
            continue
        for resource in (zone.get('AvailableResources') or {}).get('AvailableResource') or []:
            if resource.get('Type') != 'InstanceType':
                continue
            for supported in (resource.get('SupportedResources') or {}).get('SupportedResource') or []:
                statuses[supported.get('Value')] = supported.get('Status')
    return dict(instance_types=sorted(value for value, status in statuses.items() if status == 'Available'),
                instance_types_sold_out=sorted(value for value, status in statuses.items() if status != 'Available'))


def db_classes_of_zone(module, zone_id):
    """The RDS classes the zone sells for the engine, version, storage type, edition and billing asked."""
    params = module.params
    body = module.client.call('rds', 'DescribeAvailableClasses', {
        'RegionId': module.region, 'ZoneId': zone_id, 'Engine': params['db_engine'],
        'EngineVersion': params['db_engine_version'], 'DBInstanceStorageType': params['db_storage_type'],
        'Category': params['db_category'], 'InstanceChargeType': params['db_pay_type']})
    return sorted(set(entry.get('DBInstanceClass') for entry in body.get('DBInstanceClasses') or []
                      if entry.get('DBInstanceClass')))


def main():
    module = AlicloudModule(
        argument_spec=dict(
            zone_id=dict(type='str'),
            instance_charge_type=dict(type='str', choices=['PostPaid', 'PrePaid']),
            db_engine=dict(type='str', default='PostgreSQL'),
            db_engine_version=dict(type='str'),
            db_storage_type=dict(type='str', default='cloud_essd'),
            db_category=dict(type='str', default='Basic'),
            db_pay_type=dict(type='str', choices=['Postpaid', 'Prepaid'], default='Postpaid'),
        ),
        required_by=dict(instance_charge_type='zone_id', db_engine_version='zone_id'),
        supports_check_mode=True)
    module.run(gather, module)


if __name__ == '__main__':
    main()
