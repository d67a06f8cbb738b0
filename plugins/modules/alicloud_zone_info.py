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
author:
  - computenest.mlflow maintainers (@computenest)
options:
  zone_id:
    description:
      - A zone that must exist in the region.
    type: str
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
    module.exit_json(changed=False, region=region, regions=regions, region_ids=region_ids, zones=zones,
                     zone_ids=zone_ids)


def main():
    module = AlicloudModule(argument_spec=dict(zone_id=dict(type='str')), supports_check_mode=True)
    module.run(gather, module)


if __name__ == '__main__':
    main()
