#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: alicloud_ecs_instance_info
short_description: List Alibaba Cloud ECS instances
version_added: 0.1.0
description:
  - Returns the ECS instances of a region that match every given filter, read through every page of
    C(DescribeInstances).
author:
  - computenest.mlflow maintainers (@computenest)
options:
  instance_ids:
    description:
      - Only these instance IDs (any number; they are asked for 100 at a time).
    type: list
    elements: str
  name:
    description:
      - Only instances with exactly this name.
    type: str
    aliases: [instance_name]
  name_prefix:
    description:
      - Only instances whose name starts with this prefix.
    type: str
  vpc_id:
    description:
      - Only instances in this VPC.
    type: str
  vswitch_id:
    description:
      - Only instances in this VSwitch.
    type: str
  status:
    description:
      - Only instances in this status.
    type: str
    choices: [Pending, Starting, Running, Stopping, Stopped]
  tags:
    description:
      - Only instances carrying all of these tags (at most 20).
    type: dict
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
- name: Instances of one deployment
  computenest.mlflow.alicloud_ecs_instance_info:
    tags:
      deployment: mlflow-prod
  register: found

- name: Their private addresses
  ansible.builtin.debug:
    msg: "{{ found.instances | map(attribute='private_ip') | list }}"
'''

RETURN = r'''
instances:
  description: Matching instances, sorted by ID.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Instance ID.
      type: str
      sample: i-bp67acfmxazb4ph6b2bx
    instance_id:
      description: Same as C(id).
      type: str
      sample: i-bp67acfmxazb4ph6b2bx
    name:
      description: Instance name.
      type: str
      sample: mlflow-prod
    status:
      description: Status.
      type: str
      sample: Running
    instance_type:
      description: Instance type.
      type: str
      sample: ecs.g7.large
    image_id:
      description: Image ID.
      type: str
      sample: debian_12_9_x64_20G_alibase_20250117.vhd
    zone_id:
      description: Zone.
      type: str
      sample: cn-hangzhou-h
    vpc_id:
      description: VPC.
      type: str
      sample: vpc-bp1k3c0k2x7m8g5s4q9e2
    vswitch_id:
      description: VSwitch.
      type: str
      sample: vsw-bp1s5fnvk4gn2tws03624
    security_group_ids:
      description: Security groups.
      type: list
      elements: str
      sample: [sg-bp67acfmxazb4ph6b2bx]
    private_ip:
      description: First private IP address.
      type: str
      sample: 172.16.1.10
    public_ip:
      description: Public IP address or EIP, empty when none.
      type: str
      sample: 47.98.10.20
    private_ip_addresses:
      description: All private IP addresses.
      type: list
      elements: str
      sample: [172.16.1.10]
    public_ip_addresses:
      description: All public IP addresses.
      type: list
      elements: str
      sample: [47.98.10.20]
    internet_max_bandwidth_out:
      description: Public bandwidth in Mbit/s.
      type: int
      sample: 10
    key_pair_name:
      description: Key pair, if any.
      type: str
      sample: ''
    tags:
      description: Tags.
      type: dict
      sample: {deployment: mlflow-prod}
    creation_time:
      description: Creation time.
      type: str
      sample: 2026-11-27T01:00Z
    instance_charge_type:
      description: C(PostPaid) (pay-as-you-go) or C(PrePaid) (subscription).
      type: str
      sample: PostPaid
    expired_time:
      description: End of the subscription of a C(PrePaid) instance (far in the future for C(PostPaid)).
      type: str
      sample: 2099-12-31T15:59Z
ids:
  description: IDs of the matching instances.
  returned: always
  type: list
  elements: str
  sample: [i-bp67acfmxazb4ph6b2bx]
'''

import json

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudModule, AlicloudParameterError, flatten_tags, tags_to_dict, validate_tags,
)
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud_ecs import describe_instance

IDS_PER_CALL = 100


def list_instances(module, params):
    base = dict(flatten_tags(params['tags']), RegionId=module.region, InstanceName=params['name'],
                VpcId=params['vpc_id'], VSwitchId=params['vswitch_id'], Status=params['status'])
    if params['instance_ids'] is None:
        return module.client.paginate('ecs', 'DescribeInstances', base, 'Instances.Instance', page_size=100)
    found = []
    ids = sorted(set(params['instance_ids']))
    for start in range(0, len(ids), IDS_PER_CALL):
        query = dict(base, InstanceIds=json.dumps(ids[start:start + IDS_PER_CALL]))
        found.extend(module.client.paginate('ecs', 'DescribeInstances', query, 'Instances.Instance', page_size=100))
    return found


def matches(raw, params):
    """Filters applied again locally: the API's name filter is not exact everywhere, and IDs must match exactly."""
    if params['instance_ids'] is not None and raw.get('InstanceId') not in params['instance_ids']:
        return False
    if params['name'] is not None and raw.get('InstanceName') != params['name']:
        return False
    if params['name_prefix'] and not (raw.get('InstanceName') or '').startswith(params['name_prefix']):
        return False
    if params['status'] and raw.get('Status') != params['status']:
        return False
    tags = tags_to_dict(raw.get('Tags'))
    return all(tags.get(k) == v for k, v in params['tags'].items())


def gather(module):
    params = module.params
    params['tags'] = validate_tags(params['tags'])
    for option, prefix in (('vpc_id', 'vpc-'), ('vswitch_id', 'vsw-')):
        if params[option] is not None and not params[option].startswith(prefix):
            raise AlicloudParameterError('%s must start with %s, got %r' % (option, prefix, params[option]))
    if params['instance_ids'] == []:
        module.exit_json(changed=False, instances=[], ids=[])
    seen = {}
    for raw in list_instances(module, params):
        if matches(raw, params):
            seen[raw['InstanceId']] = describe_instance(raw)
    instances = [seen[key] for key in sorted(seen)]
    module.exit_json(changed=False, instances=instances, ids=[i['id'] for i in instances])


def main():
    module = AlicloudModule(
        argument_spec=dict(
            instance_ids=dict(type='list', elements='str'),
            name=dict(type='str', aliases=['instance_name']),
            name_prefix=dict(type='str'),
            vpc_id=dict(type='str'),
            vswitch_id=dict(type='str'),
            status=dict(type='str', choices=['Pending', 'Starting', 'Running', 'Stopping', 'Stopped']),
            tags=dict(type='dict'),
        ),
        supports_check_mode=True,
    )
    module.run(gather, module)


if __name__ == '__main__':
    main()
