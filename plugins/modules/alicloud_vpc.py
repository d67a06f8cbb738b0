#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: alicloud_vpc
short_description: Create, update or delete an Alibaba Cloud VPC
version_added: 0.1.0
description:
  - Ensures a VPC with a given name exists (or does not) in a region.
  - The VPC is found by O(vpc_id) or by its exact O(name) through every page of C(DescribeVpcs); a second run with the
    same options changes nothing.
  - The create request carries a ClientToken derived from the region, name, CIDR block and tags, so a create that is
    retried after a lost reply returns the VPC made by the first attempt.
  - The name, description and tags are changed in place. A different CIDR block cannot be changed in place and fails
    with a message saying so.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  state:
    description:
      - V(present) creates or updates the VPC, V(absent) deletes it. Deleting a VPC that is already gone is success.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - VPC name, 2 to 128 characters, starting with a letter; letters, digits, C(.), C(_) and C(-).
      - The identity of the VPC when O(vpc_id) is not given. Required unless O(vpc_id) is given.
    type: str
    aliases: [vpc_name]
  vpc_id:
    description:
      - ID of an existing VPC to manage. With O(name) as well, the VPC is renamed.
    type: str
  cidr_block:
    description:
      - IPv4 CIDR block of the VPC, a private block from C(/8) to C(/28) such as V(10.0.0.0/16).
      - Required to create a VPC.
    type: str
    aliases: [cidr]
  description:
    description:
      - Description, 2 to 256 characters, not starting with C(http://) or C(https://).
    type: str
  tags:
    description:
      - Tags the VPC carries (at most 20).
    type: dict
  purge_tags:
    description:
      - Remove tags that are not in O(tags). Without it, other tags are kept.
    type: bool
    default: false
  wait:
    description:
      - Wait until a new VPC is C(Available), and until a deleted VPC is gone.
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
notes:
  - Supports C(check_mode) and C(diff).
'''

EXAMPLES = r'''
- name: A VPC for the MLflow deployment
  computenest.mlflow.alicloud_vpc:
    name: mlflow-prod
    cidr_block: 172.16.0.0/16
    description: MLflow tracking server network
    tags:
      deployment: mlflow-prod
  register: vpc

- name: Delete it again
  computenest.mlflow.alicloud_vpc:
    name: mlflow-prod
    state: absent
'''

RETURN = r'''
vpc:
  description: The VPC after the run (in check mode, the VPC as it would be; its ID is null when it would be created).
    Empty when O(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: VPC ID.
      type: str
      sample: vpc-bp1k3c0k2x7m8g5s4q9e2
    vpc_id:
      description: Same as RV(vpc.id).
      type: str
      sample: vpc-bp1k3c0k2x7m8g5s4q9e2
    name:
      description: VPC name.
      type: str
      sample: mlflow-prod
    cidr_block:
      description: IPv4 CIDR block.
      type: str
      sample: 172.16.0.0/16
    description:
      description: Description.
      type: str
      sample: MLflow tracking server network
    status:
      description: C(Pending) or C(Available).
      type: str
      sample: Available
    vrouter_id:
      description: ID of the VPC's router.
      type: str
      sample: vrt-bp1lhl0taikrteen8oxbd
    vswitch_ids:
      description: IDs of the VSwitches in the VPC.
      type: list
      elements: str
      sample: [vsw-bp1s5fnvk4gn2tws03624]
    tags:
      description: Tags of the VPC.
      type: dict
      sample: {deployment: mlflow-prod}
    region:
      description: Region ID.
      type: str
      sample: cn-hangzhou
api_calls:
  description: The API calls that change something, made (or, in check mode, that would be made), secrets masked.
  returned: always
  type: list
  elements: dict
  sample: [{product: vpc, action: CreateVpc, params: {VpcName: mlflow-prod, CidrBlock: 172.16.0.0/16}}]
'''

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudModule, AlicloudParameterError, flatten_tags, tags_to_dict,
    validate_cidr, validate_description, validate_name, validate_tags, wait_until,
)


def describe_vpc(vpc, region):
    return dict(
        id=vpc.get('VpcId'), vpc_id=vpc.get('VpcId'), name=vpc.get('VpcName'), cidr_block=vpc.get('CidrBlock'),
        description=vpc.get('Description', ''), status=vpc.get('Status'), vrouter_id=vpc.get('VRouterId'),
        vswitch_ids=list((vpc.get('VSwitchIds') or {}).get('VSwitchId', []) or []),
        tags=tags_to_dict(vpc.get('Tags')), region=region,
    )


def diff_view(vpc):
    if not vpc:
        return {}
    return dict((k, vpc.get(k)) for k in ('name', 'cidr_block', 'description', 'tags'))


def get_vpc(module, vpc_id):
    found = module.client.paginate('vpc', 'DescribeVpcs', {'RegionId': module.region, 'VpcId': vpc_id}, 'Vpcs.Vpc')
    found = [vpc for vpc in found if vpc.get('VpcId') == vpc_id]
    return found[0] if found else None


def find_vpc(module, params):
    if params['vpc_id']:
        return get_vpc(module, params['vpc_id'])
    found = module.client.paginate('vpc', 'DescribeVpcs', {'RegionId': module.region, 'VpcName': params['name']},
                                   'Vpcs.Vpc')
    found = [vpc for vpc in found if vpc.get('VpcName') == params['name']]
    if len(found) > 1 and params['tags']:
        found = [vpc for vpc in found
                 if all(tags_to_dict(vpc.get('Tags')).get(k) == v for k, v in params['tags'].items())]
    if len(found) > 1:
        raise AlicloudParameterError('name %r matches %d VPCs (%s): give vpc_id to choose one' % (
            params['name'], len(found), ', '.join(sorted(vpc['VpcId'] for vpc in found))))
    return found[0] if found else None


def validate(module, params):
    if params['state'] == 'present' and not (params['name'] or params['vpc_id']):
        raise AlicloudParameterError('name is required when state=present (or give vpc_id)')
    if params['state'] == 'absent' and not (params['name'] or params['vpc_id']):
        raise AlicloudParameterError('name or vpc_id is required when state=absent')
    validate_name(params['name'], 'name')
    params['cidr_block'] = validate_cidr(params['cidr_block'], 'cidr_block', 8, 28, private=True)
    validate_description(params['description'])
    params['tags'] = validate_tags(params['tags'])
    if params['wait_timeout'] < 0:
        raise AlicloudParameterError('wait_timeout must be 0 or more')


def wait_available(module, vpc_id, timeout):
    vpc = wait_until(lambda: get_vpc(module, vpc_id), lambda v: v is not None and v.get('Status') == 'Available',
                     timeout=timeout, describe=lambda v: v.get('Status') if v else 'not found',
                     what='VPC %s to become Available' % vpc_id)
    return vpc


def create(module, params):
    request = {
        'RegionId': module.region, 'VpcName': params['name'], 'CidrBlock': params['cidr_block'],
        'Description': params['description'],
    }
    request.update(flatten_tags(params['tags']))
    identity = ['vpc', module.region, params['name'], params['cidr_block'], params['tags']]
    vpc_id, found = module.create_with_client_token('vpc', 'CreateVpc', request, identity,
                                                    lambda reply: reply['VpcId'], lambda i: get_vpc(module, i))
    if vpc_id is None:
        return dict(id=None, vpc_id=None, name=params['name'], cidr_block=params['cidr_block'],
                    description=params['description'] or '', status=None, vrouter_id=None, vswitch_ids=[],
                    tags=params['tags'], region=module.region)
    if params['wait']:
        found = wait_available(module, vpc_id, params['wait_timeout'])
    return describe_vpc(found, module.region)


def update(module, params, current):
    view = describe_vpc(current, module.region)
    if params['cidr_block'] and params['cidr_block'] != view['cidr_block']:
        raise AlicloudParameterError(
            'cidr_block cannot be changed in place: VPC %s has %s, not %s. Delete the VPC or use another name.'
            % (view['id'], view['cidr_block'], params['cidr_block']))
    after = dict(view)
    changes = {}
    if params['name'] and params['name'] != view['name']:
        changes['VpcName'] = after['name'] = params['name']
    if params['description'] is not None and params['description'] != view['description']:
        changes['Description'] = after['description'] = params['description']
    changed = False
    if changes:
        module.mutate('vpc', 'ModifyVpcAttribute', dict(changes, VpcId=view['id'], RegionId=module.region))
        changed = True
    if params['tags'] or params['purge_tags']:
        if module.sync_tags('vpc', 'VPC', view['id'], view['tags'], params['tags'], params['purge_tags']):
            changed = True
            after['tags'] = dict(params['tags']) if params['purge_tags'] else dict(view['tags'], **params['tags'])
    if changed and not module.check_mode:
        after = describe_vpc(get_vpc(module, view['id']) or current, module.region)
    return changed, view, after


def delete(module, params, current):
    vpc_id = current['VpcId']
    # A VPC still Pending refuses deletion with IncorrectVpcStatus: wait for it to settle, then try again.
    module.delete_when_settled(
        'vpc', 'DeleteVpc', {'VpcId': vpc_id, 'RegionId': module.region}, 'VPC %s' % vpc_id,
        not_found_codes=('InvalidVpcId.NotFound', 'Forbidden.VpcNotFound'), busy_code='IncorrectVpcStatus',
        blocked_advice='delete its VSwitches and security groups first', timeout=params['wait_timeout'],
        fetch=(lambda: get_vpc(module, vpc_id)) if params['wait'] else None)


def ensure(module):
    params = module.params
    validate(module, params)
    current = find_vpc(module, params)
    if params['state'] == 'absent':
        if current is None:
            module.finish(False, vpc={})
        before = diff_view(describe_vpc(current, module.region))
        delete(module, params, current)
        module.finish(True, diff_before=before, diff_after={}, vpc={})
    if current is None:
        if params['vpc_id']:
            raise AlicloudParameterError('vpc_id %s does not exist in region %s' % (params['vpc_id'], module.region))
        if not params['cidr_block']:
            raise AlicloudParameterError('cidr_block is required to create VPC %r' % params['name'])
        vpc = create(module, params)
        module.finish(True, diff_before={}, diff_after=diff_view(vpc), vpc=vpc)
    changed, before, after = update(module, params, current)
    module.finish(changed, diff_before=diff_view(before), diff_after=diff_view(after), vpc=after)


def main():
    module = AlicloudModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            name=dict(type='str', aliases=['vpc_name']),
            vpc_id=dict(type='str'),
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
