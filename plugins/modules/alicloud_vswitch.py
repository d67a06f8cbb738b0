#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: alicloud_vswitch
short_description: Create, update or delete an Alibaba Cloud VSwitch
version_added: 0.1.0
description:
  - Ensures a VSwitch with a given name exists (or does not) in a VPC, and waits until it is C(Available).
  - The VSwitch is found by O(vswitch_id) or by its exact O(name) in O(vpc_id) through every page of
    C(DescribeVSwitches).
  - The create request carries a ClientToken derived from the VPC, name, zone, CIDR block and tags, so a create that is
    retried after a lost reply returns the VSwitch made by the first attempt.
  - Name, description and tags are changed in place; a different zone or CIDR block cannot be changed in place and
    fails with a message saying so.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  state:
    description:
      - V(present) creates or updates the VSwitch, V(absent) deletes it. Deleting one that is already gone is success.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - VSwitch name, 2 to 128 characters, starting with a letter; letters, digits, C(.), C(_) and C(-).
      - The identity of the VSwitch (within O(vpc_id)) when O(vswitch_id) is not given.
    type: str
    aliases: [vswitch_name]
  vswitch_id:
    description:
      - ID of an existing VSwitch to manage. With O(name) as well, the VSwitch is renamed.
    type: str
  vpc_id:
    description:
      - ID of the VPC the VSwitch belongs to. Required unless O(vswitch_id) is given.
    type: str
  zone_id:
    description:
      - Zone of the VSwitch, a zone of the module's region such as V(cn-hangzhou-h). Required to create.
    type: str
    aliases: [zone]
  cidr_block:
    description:
      - IPv4 CIDR block, C(/16) to C(/29), inside the VPC's CIDR block. Required to create.
    type: str
    aliases: [cidr]
  description:
    description:
      - Description, 2 to 256 characters, not starting with C(http://) or C(https://).
    type: str
  tags:
    description:
      - Tags the VSwitch carries (at most 20).
    type: dict
  purge_tags:
    description:
      - Remove tags that are not in O(tags).
    type: bool
    default: false
  wait:
    description:
      - Wait until a new VSwitch is C(Available), and until a deleted one is gone.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait.
    type: int
    default: 300
extends_documentation_fragment:
  - computenest.mlflow.alicloud
attributes:
  check_mode:
    support: full
    description: Reports the API calls it would make in RV(api_calls) and makes none that change anything.
  diff_mode:
    support: full
    description: Returns the attributes it manages before and after the change.
'''

EXAMPLES = r'''
- name: A VSwitch in zone H
  computenest.mlflow.alicloud_vswitch:
    name: mlflow-prod
    vpc_id: "{{ vpc.vpc.id }}"
    zone_id: cn-hangzhou-h
    cidr_block: 172.16.1.0/24
    tags:
      deployment: mlflow-prod
  register: vswitch

- name: Remove it
  computenest.mlflow.alicloud_vswitch:
    name: mlflow-prod
    vpc_id: "{{ vpc.vpc.id }}"
    state: absent
'''

RETURN = r'''
vswitch:
  description: The VSwitch after the run (in check mode as it would be; ID null when it would be created). Empty when
    O(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: VSwitch ID.
      type: str
      sample: vsw-bp1s5fnvk4gn2tws03624
    vswitch_id:
      description: Same as RV(vswitch.id).
      type: str
      sample: vsw-bp1s5fnvk4gn2tws03624
    name:
      description: Name.
      type: str
      sample: mlflow-prod
    vpc_id:
      description: VPC ID.
      type: str
      sample: vpc-bp1k3c0k2x7m8g5s4q9e2
    zone_id:
      description: Zone ID.
      type: str
      sample: cn-hangzhou-h
    cidr_block:
      description: IPv4 CIDR block.
      type: str
      sample: 172.16.1.0/24
    description:
      description: Description.
      type: str
      sample: ''
    status:
      description: C(Pending) or C(Available).
      type: str
      sample: Available
    available_ip_address_count:
      description: Free private IP addresses left.
      type: int
      sample: 252
    tags:
      description: Tags.
      type: dict
      sample: {deployment: mlflow-prod}
api_calls:
  description: The API calls that change something, made (or, in check mode, that would be made).
  returned: always
  type: list
  elements: dict
  sample: [{product: vpc, action: CreateVSwitch, params: {VSwitchName: mlflow-prod, CidrBlock: 172.16.1.0/24}}]
'''

import ipaddress

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudApiError, AlicloudModule, AlicloudParameterError, flatten_tags, tags_to_dict,
    validate_cidr, validate_description, validate_name, validate_tags, validate_zone_in_region, wait_until,
)


def describe_vswitch(vsw):
    return dict(
        id=vsw.get('VSwitchId'), vswitch_id=vsw.get('VSwitchId'), name=vsw.get('VSwitchName'),
        vpc_id=vsw.get('VpcId'), zone_id=vsw.get('ZoneId'), cidr_block=vsw.get('CidrBlock'),
        description=vsw.get('Description', ''), status=vsw.get('Status'),
        available_ip_address_count=vsw.get('AvailableIpAddressCount'), tags=tags_to_dict(vsw.get('Tags')),
    )


def diff_view(vsw):
    if not vsw:
        return {}
    return dict((k, vsw.get(k)) for k in ('name', 'vpc_id', 'zone_id', 'cidr_block', 'description', 'tags'))


def get_vswitch(module, vswitch_id):
    found = module.client.paginate('vpc', 'DescribeVSwitches', {'RegionId': module.region, 'VSwitchId': vswitch_id},
                                   'VSwitches.VSwitch')
    found = [vsw for vsw in found if vsw.get('VSwitchId') == vswitch_id]
    return found[0] if found else None


def find_vswitch(module, params):
    if params['vswitch_id']:
        return get_vswitch(module, params['vswitch_id'])
    found = module.client.paginate('vpc', 'DescribeVSwitches',
                                   {'RegionId': module.region, 'VpcId': params['vpc_id'],
                                    'VSwitchName': params['name']}, 'VSwitches.VSwitch')
    found = [vsw for vsw in found if vsw.get('VSwitchName') == params['name'] and vsw.get('VpcId') == params['vpc_id']]
    if len(found) > 1:
        raise AlicloudParameterError('name %r matches %d VSwitches in %s (%s): give vswitch_id to choose one' % (
            params['name'], len(found), params['vpc_id'], ', '.join(sorted(v['VSwitchId'] for v in found))))
    return found[0] if found else None


def get_vpc(module, vpc_id):
    found = module.client.paginate('vpc', 'DescribeVpcs', {'RegionId': module.region, 'VpcId': vpc_id}, 'Vpcs.Vpc')
    found = [vpc for vpc in found if vpc.get('VpcId') == vpc_id]
    return found[0] if found else None


def validate(module, params):
    if not params['vswitch_id'] and not (params['name'] and params['vpc_id']):
        raise AlicloudParameterError('name and vpc_id are required unless vswitch_id is given')
    validate_name(params['name'], 'name')
    params['cidr_block'] = validate_cidr(params['cidr_block'], 'cidr_block', 16, 29, private=True)
    validate_description(params['description'])
    params['tags'] = validate_tags(params['tags'])
    if params['wait_timeout'] < 0:
        raise AlicloudParameterError('wait_timeout must be 0 or more')
    # The region is known without any API call; a zone of another region is refused here.
    validate_zone_in_region(params['zone_id'], module.region)


def wait_available(module, vswitch_id, timeout):
    return wait_until(lambda: get_vswitch(module, vswitch_id),
                      lambda v: v is not None and v.get('Status') == 'Available', timeout=timeout,
                      describe=lambda v: v.get('Status') if v else 'not found',
                      what='VSwitch %s to become Available' % vswitch_id)


def create(module, params):
    for option in ('zone_id', 'cidr_block'):
        if not params[option]:
            raise AlicloudParameterError('%s is required to create VSwitch %r' % (option, params['name']))
    vpc = get_vpc(module, params['vpc_id'])
    if vpc is None:
        raise AlicloudParameterError('vpc_id %s does not exist in region %s' % (params['vpc_id'], module.region))
    if not ipaddress.IPv4Network(params['cidr_block']).subnet_of(ipaddress.IPv4Network(vpc['CidrBlock'])):
        raise AlicloudParameterError('cidr_block %s is not inside the CIDR block %s of VPC %s' % (
            params['cidr_block'], vpc['CidrBlock'], params['vpc_id']))
    request = {
        'RegionId': module.region, 'VpcId': params['vpc_id'], 'ZoneId': params['zone_id'],
        'CidrBlock': params['cidr_block'], 'VSwitchName': params['name'], 'Description': params['description'],
    }
    request.update(flatten_tags(params['tags']))
    identity = ['vswitch', module.region, params['vpc_id'], params['name'], params['zone_id'], params['cidr_block'],
                params['tags']]

    def attempt_create():
        try:
            return module.create_with_client_token('vpc', 'CreateVSwitch', request, identity,
                                                   lambda reply: reply['VSwitchId'],
                                                   lambda i: get_vswitch(module, i))
        except AlicloudApiError as error:
            # A VPC still Pending refuses new VSwitches for a moment; the same ClientToken keeps retries single.
            if error.code == 'IncorrectVpcStatus':
                module.api_calls.pop()
                return None
            raise

    if module.check_mode:
        attempt_create()
        return dict(id=None, vswitch_id=None, name=params['name'], vpc_id=params['vpc_id'], zone_id=params['zone_id'],
                    cidr_block=params['cidr_block'], description=params['description'] or '', status=None,
                    available_ip_address_count=None, tags=params['tags'])
    vswitch_id, found = wait_until(attempt_create, lambda r: r is not None, timeout=params['wait_timeout'],
                                   describe=lambda r: 'IncorrectVpcStatus',
                                   what='VPC %s to accept a VSwitch' % params['vpc_id'])
    if params['wait']:
        found = wait_available(module, vswitch_id, params['wait_timeout'])
    return describe_vswitch(found)


def update(module, params, current):
    view = describe_vswitch(current)
    for option in ('zone_id', 'cidr_block'):
        if params[option] and params[option] != view[option]:
            raise AlicloudParameterError(
                '%s cannot be changed in place: VSwitch %s has %s, not %s. Delete it or use another name.'
                % (option, view['id'], view[option], params[option]))
    if params['vpc_id'] and params['vpc_id'] != view['vpc_id']:
        raise AlicloudParameterError('VSwitch %s belongs to VPC %s, not %s; a VSwitch cannot move between VPCs'
                                     % (view['id'], view['vpc_id'], params['vpc_id']))
    after = dict(view)
    changes = {}
    if params['name'] and params['name'] != view['name']:
        changes['VSwitchName'] = after['name'] = params['name']
    if params['description'] is not None and params['description'] != view['description']:
        changes['Description'] = after['description'] = params['description']
    changed = False
    if changes:
        module.mutate('vpc', 'ModifyVSwitchAttribute', dict(changes, VSwitchId=view['id'], RegionId=module.region))
        changed = True
    if params['tags'] or params['purge_tags']:
        if module.sync_tags('vpc', 'VSWITCH', view['id'], view['tags'], params['tags'], params['purge_tags']):
            changed = True
            after['tags'] = dict(params['tags']) if params['purge_tags'] else dict(view['tags'], **params['tags'])
    if changed and not module.check_mode:
        after = describe_vswitch(get_vswitch(module, view['id']) or current)
    return changed, view, after


def delete(module, params, current):
    vswitch_id = current['VSwitchId']
    module.delete_when_settled(
        'vpc', 'DeleteVSwitch', {'VSwitchId': vswitch_id, 'RegionId': module.region}, 'VSwitch %s' % vswitch_id,
        not_found_codes=('InvalidVSwitchId.NotFound', 'InvalidVswitchID.NotFound'), busy_code='IncorrectVSwitchStatus',
        blocked_advice='delete its ECS and RDS instances first', timeout=params['wait_timeout'],
        fetch=(lambda: get_vswitch(module, vswitch_id)) if params['wait'] else None)


def ensure(module):
    params = module.params
    validate(module, params)
    current = find_vswitch(module, params)
    if params['state'] == 'absent':
        if current is None:
            module.finish(False, vswitch={})
        before = diff_view(describe_vswitch(current))
        delete(module, params, current)
        module.finish(True, diff_before=before, diff_after={}, vswitch={})
    if current is None:
        if params['vswitch_id']:
            raise AlicloudParameterError('vswitch_id %s does not exist in region %s' % (params['vswitch_id'],
                                                                                        module.region))
        vswitch = create(module, params)
        module.finish(True, diff_before={}, diff_after=diff_view(vswitch), vswitch=vswitch)
    changed, before, after = update(module, params, current)
    module.finish(changed, diff_before=diff_view(before), diff_after=diff_view(after), vswitch=after)


def main():
    module = AlicloudModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            name=dict(type='str', aliases=['vswitch_name']),
            vswitch_id=dict(type='str'),
            vpc_id=dict(type='str'),
            zone_id=dict(type='str', aliases=['zone']),
            cidr_block=dict(type='str', aliases=['cidr']),
            description=dict(type='str'),
            tags=dict(type='dict'),
            purge_tags=dict(type='bool', default=False),
            wait=dict(type='bool', default=True),
            wait_timeout=dict(type='int', default=300),
        ),
        supports_check_mode=True,
    )
    module.run(ensure, module)


if __name__ == '__main__':
    main()
