#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: alicloud_ecs_instance
short_description: Create, start or delete one Alibaba Cloud ECS instance in a VPC
version_added: 0.1.0
description:
  - Ensures one ECS instance with a given name (and tags) is running, or is gone; pay-as-you-go (C(PostPaid)) or a
    subscription (C(PrePaid)) bought for O(period) O(period_unit)s.
  - The instance is found by O(instance_id) or by its exact O(name) and O(tags) through every page of
    C(DescribeInstances).
  - The create request (C(RunInstances)) carries a ClientToken derived from the region, name, tags, image, type,
    network, disk and bandwidth (and, for a subscription, the charge type and period), so a create retried after a
    lost reply returns the instance made by the first attempt instead of a second one.
  - Waits until the instance is C(Running) and returns its private and public IP addresses. With a public bandwidth
    above 0 and no public address yet, one is allocated.
  - Image, instance type, VSwitch, zone, security group, bandwidth and charge type cannot be changed in place; a
    difference fails with a message naming it. Tags are updated in place; a stopped instance is started.
  - With O(state=absent) the instance is stopped, then deleted; an instance already gone is success.
  - C(DeleteInstance) refuses a subscription instance that has not expired (error C(ChargeTypeViolation)). With
    O(state=absent) a C(PrePaid) instance is therefore only released with O(release_prepaid=true), which first
    converts it to pay-as-you-go with C(ModifyInstanceChargeType) (the unused part of the subscription is refunded
    as the account's refund rules say), then stops and deletes it. Without it the module fails before changing
    anything.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  state:
    description:
      - V(present) creates the instance or starts it, V(absent) stops and deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Instance name, 2 to 128 characters, starting with a letter; letters, digits, C(.), C(_), C(:) and C(-).
      - Its identity, together with O(tags), when O(instance_id) is not given.
    type: str
    aliases: [instance_name]
  instance_id:
    description:
      - ID of an existing instance to manage.
    type: str
  image_id:
    description:
      - Image, for example V(debian_12_9_x64_20G_alibase_20250117.vhd). Required to create.
    type: str
  instance_type:
    description:
      - Instance type, for example V(ecs.g7.large). Required to create.
    type: str
  vswitch_id:
    description:
      - VSwitch the instance is attached to; its zone is the instance's zone. Required to create.
    type: str
  zone_id:
    description:
      - Zone, a zone of the module's region. Must be the VSwitch's zone; defaults to it.
    type: str
  security_group_id:
    description:
      - Security group of the instance, in the VSwitch's VPC. Required to create.
    type: str
  password:
    description:
      - Login password, only used at creation (it cannot be read back). 8 to 30 characters with at least three of
        upper case, lower case, digits and special characters C(()`~!@#$%^&*-_+=|{}[]:;'<>,.?/), not starting with C(/).
    type: str
  key_pair_name:
    description:
      - SSH key pair to log in with, instead of O(password). Only used at creation.
    type: str
  host_name:
    description:
      - Host name of the operating system; only used at creation.
    type: str
  description:
    description:
      - Instance description, only used at creation.
    type: str
  system_disk_category:
    description:
      - System disk category.
    type: str
    choices: [cloud_essd, cloud_essd_entry, cloud_auto, cloud_ssd, cloud_efficiency]
    default: cloud_essd
  system_disk_size:
    description:
      - System disk size in GiB, 20 to 2048.
    type: int
    default: 40
  internet_max_bandwidth_out:
    description:
      - Public outbound bandwidth in Mbit/s, 0 to 100. Above 0 the instance gets a public IP address.
      - Unset means 0 for a new instance and no check against an existing one.
    type: int
  internet_charge_type:
    description:
      - How public traffic is billed.
    type: str
    choices: [PayByTraffic, PayByBandwidth]
    default: PayByTraffic
  instance_charge_type:
    description:
      - How the instance is billed. V(PostPaid) is pay-as-you-go; V(PrePaid) is a subscription paid for
        O(period) O(period_unit)s up front (the account must have the balance to pay the order).
      - Fixed at creation; a different value for an existing instance fails (it is not converted).
    type: str
    choices: [PostPaid, PrePaid]
    default: PostPaid
  period:
    description:
      - Subscription length in O(period_unit)s, required with O(instance_charge_type=PrePaid) and ignored
        otherwise.
      - With O(period_unit=Month) one of 1 to 9, 12, 24, 36, 48 or 60; with O(period_unit=Week) 1 to 4.
      - Only used at creation.
    type: int
  period_unit:
    description:
      - Unit of O(period).
    type: str
    choices: [Month, Week]
    default: Month
  auto_renew:
    description:
      - Renew the subscription automatically when it ends (O(instance_charge_type=PrePaid) only). Only used at
        creation.
    type: bool
    default: false
  release_prepaid:
    description:
      - With O(state=absent), release a C(PrePaid) (subscription) instance that has not expired by converting it to
        pay-as-you-go (C(ModifyInstanceChargeType)) and then deleting it.
      - Without it, O(state=absent) on a subscription instance fails before anything is changed.
    type: bool
    default: false
  tags:
    description:
      - Tags of the instance (at most 20).
      - Without O(instance_id) they are part of the identity. An instance is matched when it has O(name) and carries
        all of these tags. To add tags to an existing instance, address it by O(instance_id).
    type: dict
  purge_tags:
    description:
      - Remove tags that are not in O(tags).
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), delete a running instance without stopping it first.
    type: bool
    default: false
  wait:
    description:
      - Wait until the instance is C(Running) (or deleted).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait.
    type: int
    default: 600
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
- name: The MLflow server
  computenest.mlflow.alicloud_ecs_instance:
    name: mlflow-prod
    image_id: debian_12_9_x64_20G_alibase_20250117.vhd
    instance_type: ecs.g7.large
    vswitch_id: "{{ vswitch.vswitch.id }}"
    security_group_id: "{{ sg.security_group.id }}"
    password: "{{ ecs_password }}"
    system_disk_size: 40
    internet_max_bandwidth_out: 10
    tags:
      deployment: mlflow-prod
  register: server

- name: Show its addresses
  ansible.builtin.debug:
    msg: "{{ server.instance.private_ip }} / {{ server.instance.public_ip }}"

- name: A subscription instance, bought for three months
  computenest.mlflow.alicloud_ecs_instance:
    name: mlflow-prepaid
    image_id: debian_12_9_x64_20G_alibase_20250117.vhd
    instance_type: ecs.g7.large
    vswitch_id: "{{ vswitch.vswitch.id }}"
    security_group_id: "{{ sg.security_group.id }}"
    password: "{{ ecs_password }}"
    instance_charge_type: PrePaid
    period: 3
    period_unit: Month

- name: Release it before it expires (converted to pay-as-you-go, then deleted)
  computenest.mlflow.alicloud_ecs_instance:
    name: mlflow-prepaid
    state: absent
    release_prepaid: true

- name: Delete it
  computenest.mlflow.alicloud_ecs_instance:
    name: mlflow-prod
    tags:
      deployment: mlflow-prod
    state: absent
'''

RETURN = r'''
instance:
  description: The instance after the run (in check mode as it would be; ID null when it would be created). Empty
    when O(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: Instance ID.
      type: str
      sample: i-bp67acfmxazb4ph6b2bx
    instance_id:
      description: Same as RV(instance.id).
      type: str
      sample: i-bp67acfmxazb4ph6b2bx
    name:
      description: Instance name.
      type: str
      sample: mlflow-prod
    status:
      description: Status, C(Running) after a successful wait.
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
      description: Public IP address (or EIP), empty when it has none.
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
    instance_charge_type:
      description: C(PostPaid) (pay-as-you-go) or C(PrePaid) (subscription).
      type: str
      sample: PrePaid
    expired_time:
      description: End of the subscription of a C(PrePaid) instance (far in the future for C(PostPaid)).
      type: str
      sample: 2026-12-27T01:00Z
    creation_time:
      description: Creation time.
      type: str
      sample: 2026-11-27T01:00Z
api_calls:
  description: The API calls that change something, made (or, in check mode, that would be made); the password is
    masked.
  returned: always
  type: list
  elements: dict
  sample: [{product: ecs, action: RunInstances, params: {InstanceName: mlflow-prod, Password: '********'}}]
'''

import json
import re

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudApiError, AlicloudModule, AlicloudParameterError, client_token, flatten_tags, tags_to_dict,
    validate_description, validate_name, validate_tags, validate_zone_in_region, wait_until,
)
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud_ecs import describe_instance

PASSWORD_SPECIALS = "()`~!@#$%^&*-_+=|{}[]:;'<>,.?/"
# The subscription lengths RunInstances sells, per PeriodUnit.
PREPAID_PERIODS = {'Month': (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36, 48, 60), 'Week': (1, 2, 3, 4)}
# States from which StartInstance or DeleteInstance must first wait.
TRANSIENT_STATES = ('Pending', 'Starting', 'Stopping')


def validate_password(password):
    if password is None:
        return
    if not 8 <= len(password) <= 30:
        raise AlicloudParameterError('password must be 8 to 30 characters long')
    if password.startswith('/'):
        raise AlicloudParameterError('password must not start with /')
    classes = [any(c.isupper() and c.isascii() for c in password), any(c.islower() and c.isascii() for c in password),
               any(c.isdigit() for c in password), any(c in PASSWORD_SPECIALS for c in password)]
    if sum(classes) < 3:
        raise AlicloudParameterError('password must contain at least three of: upper case letters, lower case '
                                     'letters, digits, special characters %s' % PASSWORD_SPECIALS)
    bad = sorted(set(c for c in password if not (c.isascii() and c.isalnum()) and c not in PASSWORD_SPECIALS))
    if bad:
        raise AlicloudParameterError('password may only contain letters, digits and %s (found %s)'
                                     % (PASSWORD_SPECIALS, ' '.join(repr(c) for c in bad)))


def validate(module, params):
    if not params['instance_id'] and not params['name']:
        raise AlicloudParameterError('name is required unless instance_id is given')
    validate_name(params['name'], 'name', extra_chars=':')
    validate_description(params['description'])
    params['tags'] = validate_tags(params['tags'])
    validate_password(params['password'])
    if params['password'] and params['key_pair_name']:
        raise AlicloudParameterError('password and key_pair_name are mutually exclusive: give one')
    if params['instance_type'] and not re.match(r'^ecs\.[a-z0-9-]+\.[a-z0-9-]+$', params['instance_type']):
        raise AlicloudParameterError('instance_type must look like ecs.<family>.<size> (for example ecs.g7.large), '
                                     'got %r' % params['instance_type'])
    if params['image_id'] is not None and not re.match(r'^[A-Za-z0-9][A-Za-z0-9._-]{1,127}$', params['image_id']):
        raise AlicloudParameterError('image_id %r is not an image ID' % params['image_id'])
    for option, prefix in (('vswitch_id', 'vsw-'), ('security_group_id', 'sg-'), ('instance_id', 'i-')):
        if params[option] is not None and not params[option].startswith(prefix):
            raise AlicloudParameterError('%s must start with %s, got %r' % (option, prefix, params[option]))
    if not 20 <= params['system_disk_size'] <= 2048:
        raise AlicloudParameterError('system_disk_size must be 20 to 2048 GiB, got %d' % params['system_disk_size'])
    if params['internet_max_bandwidth_out'] is not None and not 0 <= params['internet_max_bandwidth_out'] <= 100:
        raise AlicloudParameterError('internet_max_bandwidth_out must be 0 to 100 Mbit/s, got %d'
                                     % params['internet_max_bandwidth_out'])
    if params['host_name'] is not None and not re.match(r'^[A-Za-z0-9]([A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$',
                                                        params['host_name']):
        raise AlicloudParameterError('host_name must be 1 to 64 letters, digits, dots or hyphens, not starting or '
                                     'ending with a dot or hyphen, got %r' % params['host_name'])
    if params['wait_timeout'] < 0:
        raise AlicloudParameterError('wait_timeout must be 0 or more')
    if params['state'] == 'present' and params['instance_charge_type'] == 'PrePaid':
        allowed = PREPAID_PERIODS[params['period_unit']]
        if params['period'] is None:
            raise AlicloudParameterError('period is required with instance_charge_type=PrePaid: one of %s (%ss)'
                                         % (', '.join(str(p) for p in allowed), params['period_unit']))
        if params['period'] not in allowed:
            raise AlicloudParameterError('period must be one of %s with period_unit=%s, got %d'
                                         % (', '.join(str(p) for p in allowed), params['period_unit'],
                                            params['period']))
    validate_zone_in_region(params['zone_id'], module.region)


def diff_view(instance):
    if not instance:
        return {}
    return dict((k, instance.get(k)) for k in ('name', 'status', 'instance_type', 'image_id', 'zone_id', 'vswitch_id',
                                               'security_group_ids', 'internet_max_bandwidth_out',
                                               'instance_charge_type', 'tags'))


def get_instance(module, instance_id):
    found = module.client.paginate('ecs', 'DescribeInstances',
                                   {'RegionId': module.region, 'InstanceIds': json.dumps([instance_id])},
                                   'Instances.Instance', page_size=100)
    found = [i for i in found if i.get('InstanceId') == instance_id]
    return found[0] if found else None


def find_instance(module, params):
    if params['instance_id']:
        return get_instance(module, params['instance_id'])
    query = dict(flatten_tags(params['tags']), RegionId=module.region, InstanceName=params['name'])
    found = module.client.paginate('ecs', 'DescribeInstances', query, 'Instances.Instance', page_size=100)
    found = [i for i in found if i.get('InstanceName') == params['name']
             and all(tags_to_dict(i.get('Tags')).get(k) == v for k, v in params['tags'].items())]
    if len(found) > 1:
        raise AlicloudParameterError('name %r with these tags matches %d instances (%s): give instance_id or more '
                                     'distinctive tags' % (params['name'], len(found),
                                                           ', '.join(sorted(i['InstanceId'] for i in found))))
    return found[0] if found else None


def wait_status(module, instance_id, wanted, timeout):
    return wait_until(lambda: get_instance(module, instance_id),
                      lambda i: i is not None and i.get('Status') in wanted, timeout=timeout,
                      describe=lambda i: i.get('Status') if i else 'not found',
                      what='instance %s to be %s' % (instance_id, ' or '.join(wanted)))


def ensure_public_ip(module, params, instance):
    """RunInstances gives a public IP when bandwidth > 0; an instance without one gets it allocated."""
    if not params['internet_max_bandwidth_out'] or instance['public_ip']:
        return False
    reply = module.mutate('ecs', 'AllocatePublicIpAddress', {'InstanceId': instance['id'], 'RegionId': module.region})
    if reply and reply.get('IpAddress'):
        instance['public_ip'] = reply['IpAddress']
        instance['public_ip_addresses'] = [reply['IpAddress']]
    return True


def check_network(module, params):
    """Read-only checks that turn the API's terse mismatch errors into messages naming the option."""
    vswitches = module.client.paginate('vpc', 'DescribeVSwitches',
                                       {'RegionId': module.region, 'VSwitchId': params['vswitch_id']},
                                       'VSwitches.VSwitch')
    vswitch = next((v for v in vswitches if v.get('VSwitchId') == params['vswitch_id']), None)
    if vswitch is None:
        raise AlicloudParameterError('vswitch_id %s does not exist in region %s' % (params['vswitch_id'],
                                                                                    module.region))
    if params['zone_id'] and params['zone_id'] != vswitch.get('ZoneId'):
        raise AlicloudParameterError('zone_id %s is not the zone of VSwitch %s (%s); leave zone_id out or give %s'
                                     % (params['zone_id'], params['vswitch_id'], vswitch.get('ZoneId'),
                                        vswitch.get('ZoneId')))
    groups = module.client.paginate('ecs', 'DescribeSecurityGroups',
                                    {'RegionId': module.region, 'SecurityGroupId': params['security_group_id']},
                                    'SecurityGroups.SecurityGroup', page_size=50)
    group = next((g for g in groups if g.get('SecurityGroupId') == params['security_group_id']), None)
    if group is None:
        raise AlicloudParameterError('security_group_id %s does not exist in region %s'
                                     % (params['security_group_id'], module.region))
    if group.get('VpcId') != vswitch.get('VpcId'):
        raise AlicloudParameterError('security_group_id %s is in VPC %s but vswitch_id %s is in VPC %s; both must be '
                                     'in the same VPC' % (params['security_group_id'], group.get('VpcId'),
                                                          params['vswitch_id'], vswitch.get('VpcId')))


def create(module, params):
    missing = [o for o in ('image_id', 'instance_type', 'vswitch_id', 'security_group_id') if not params[o]]
    if missing:
        raise AlicloudParameterError('%s required to create instance %r' % (
            ' and '.join(missing) + (' are' if len(missing) > 1 else ' is'), params['name']))
    check_network(module, params)
    identity = [module.region, params['name'], params['tags'], params['image_id'], params['instance_type'],
                params['vswitch_id'], params['zone_id'], params['security_group_id'], params['system_disk_category'],
                params['system_disk_size'], params['internet_max_bandwidth_out'] or 0, params['key_pair_name']]
    prepaid = params['instance_charge_type'] == 'PrePaid'
    if prepaid:
        # A subscription is another purchase than pay-as-you-go: another token (pay-as-you-go tokens are unchanged).
        identity += ['PrePaid', params['period'], params['period_unit']]
    request = {
        'RegionId': module.region, 'ZoneId': params['zone_id'], 'ImageId': params['image_id'],
        'InstanceType': params['instance_type'], 'SecurityGroupId': params['security_group_id'],
        'VSwitchId': params['vswitch_id'], 'InstanceName': params['name'], 'HostName': params['host_name'],
        'Description': params['description'], 'Password': params['password'],
        'KeyPairName': params['key_pair_name'], 'InstanceChargeType': params['instance_charge_type'],
        'Period': params['period'] if prepaid else None, 'PeriodUnit': params['period_unit'] if prepaid else None,
        'AutoRenew': params['auto_renew'] if prepaid else None,
        'InternetMaxBandwidthOut': params['internet_max_bandwidth_out'] or 0,
        'InternetChargeType': params['internet_charge_type'] if params['internet_max_bandwidth_out'] else None,
        'SystemDisk.Category': params['system_disk_category'], 'SystemDisk.Size': params['system_disk_size'],
        'Amount': 1,
    }
    request.update(flatten_tags(params['tags']))
    request = dict((k, v) for k, v in request.items() if v is not None)

    def single_id(reply):
        ids = (reply.get('InstanceIdSets') or {}).get('InstanceIdSet') or []
        if len(ids) != 1:
            raise AlicloudApiError('UnexpectedReply', 'RunInstances returned %d instance IDs: %s' % (len(ids), ids),
                                   request_id=reply.get('RequestId'), product='ecs', action='RunInstances')
        return ids[0]

    instance_id, found = module.create_with_client_token('ecs', 'RunInstances', request, ['ecs-instance'] + identity,
                                                         single_id, lambda i: get_instance(module, i))
    if instance_id is None:
        return dict(id=None, instance_id=None, name=params['name'], status='Running',
                    instance_type=params['instance_type'], image_id=params['image_id'], zone_id=params['zone_id'],
                    vpc_id=None, vswitch_id=params['vswitch_id'], security_group_ids=[params['security_group_id']],
                    private_ip='', public_ip='', private_ip_addresses=[], public_ip_addresses=[],
                    internet_max_bandwidth_out=params['internet_max_bandwidth_out'] or 0,
                    key_pair_name=params['key_pair_name'] or '', tags=params['tags'], creation_time=None,
                    instance_charge_type=params['instance_charge_type'], expired_time=None)
    if not params['wait']:
        return describe_instance(found)
    instance = describe_instance(wait_status(module, instance_id, ('Running',), params['wait_timeout']))
    if ensure_public_ip(module, params, instance):
        instance = describe_instance(get_instance(module, instance['id'])) if not instance['public_ip'] else instance
    return instance


def check_immutable(params, current):
    for option, actual in (('instance_type', current['instance_type']), ('image_id', current['image_id']),
                           ('vswitch_id', current['vswitch_id']), ('zone_id', current['zone_id'])):
        if params[option] and actual and params[option] != actual:
            raise AlicloudParameterError('%s cannot be changed in place: instance %s has %s, not %s. Delete the '
                                         'instance (state=absent) and create it again.'
                                         % (option, current['id'], actual, params[option]))
    if params['security_group_id'] and params['security_group_id'] not in current['security_group_ids']:
        raise AlicloudParameterError('security_group_id cannot be changed in place: instance %s is in %s, not %s'
                                     % (current['id'], ', '.join(current['security_group_ids']) or 'no group',
                                        params['security_group_id']))
    charge_type = current.get('instance_charge_type')
    if charge_type and params['instance_charge_type'] != charge_type:
        raise AlicloudParameterError('instance_charge_type cannot be changed in place: instance %s is %s, not %s. '
                                     'Keep instance_charge_type=%s, or delete the instance (state=absent%s) and '
                                     'create it again.' % (current['id'], charge_type, params['instance_charge_type'],
                                                           charge_type, ', release_prepaid=true'
                                                           if charge_type == 'PrePaid' else ''))
    actual_bandwidth = current.get('internet_max_bandwidth_out')
    wanted_bandwidth = params['internet_max_bandwidth_out']
    if wanted_bandwidth is not None and actual_bandwidth is not None and int(actual_bandwidth) != wanted_bandwidth:
        raise AlicloudParameterError('internet_max_bandwidth_out cannot be changed in place: instance %s has %s '
                                     'Mbit/s, not %s' % (current['id'], actual_bandwidth,
                                                         params['internet_max_bandwidth_out']))


def update(module, params, raw):
    before = describe_instance(raw)
    check_immutable(params, before)
    after = dict(before)
    changed = False
    instance_id = before['id']
    status = before['status']
    if status in TRANSIENT_STATES and not module.check_mode:
        status = wait_status(module, instance_id, ('Running', 'Stopped'), params['wait_timeout'])['Status']
    if status == 'Stopped':
        module.mutate('ecs', 'StartInstance', {'InstanceId': instance_id, 'RegionId': module.region})
        changed = True
        after['status'] = 'Running'
    if params['tags'] or params['purge_tags']:
        if module.sync_tags('ecs', 'instance', instance_id, before['tags'], params['tags'], params['purge_tags']):
            changed = True
            after['tags'] = dict(params['tags']) if params['purge_tags'] else dict(before['tags'], **params['tags'])
    if module.check_mode:
        if params['internet_max_bandwidth_out'] and not before['public_ip']:
            module.mutate('ecs', 'AllocatePublicIpAddress', {'InstanceId': instance_id, 'RegionId': module.region})
            changed = True
        return changed, before, after
    if params['wait'] and status != 'Running':
        after = describe_instance(wait_status(module, instance_id, ('Running',), params['wait_timeout']))
    elif changed:
        after = describe_instance(get_instance(module, instance_id) or raw)
    if ensure_public_ip(module, params, after):
        changed = True
        after = describe_instance(get_instance(module, instance_id) or raw) if not after['public_ip'] else after
    return changed, before, after


def refuse_prepaid(module, params, raw):
    """A subscription instance is released only on request, and before anything else is touched."""
    if raw.get('InstanceChargeType') == 'PrePaid' and not params['release_prepaid']:
        raise AlicloudParameterError(
            'instance %s is a subscription (PrePaid, paid until %s): DeleteInstance refuses it '
            '(ChargeTypeViolation). To release it now, set release_prepaid=true: it is converted to pay-as-you-go '
            '(ModifyInstanceChargeType) and then deleted. Nothing was changed.'
            % (raw['InstanceId'], raw.get('ExpiredTime') or 'its expiry'))


def convert_to_postpaid(module, params, raw):
    """ModifyInstanceChargeType to PostPaid, then wait until DescribeInstances says so."""
    instance_id = raw['InstanceId']
    request = {'RegionId': module.region, 'InstanceIds': json.dumps([instance_id]),
               'InstanceChargeType': 'PostPaid', 'ClientToken': client_token('ecs-release-prepaid', instance_id)}
    if module.check_mode:
        module.mutate('ecs', 'ModifyInstanceChargeType', request)
        return raw.get('Status')
    status = raw.get('Status')
    if status in TRANSIENT_STATES:
        status = wait_status(module, instance_id, ('Running', 'Stopped'), params['wait_timeout'])['Status']
    try:
        module.mutate('ecs', 'ModifyInstanceChargeType', request)
    except AlicloudApiError:
        # A retried call whose first reply was lost: already converted is what we wanted.
        current = get_instance(module, instance_id)
        if current is None or current.get('InstanceChargeType') != 'PostPaid':
            raise
    converted = wait_until(lambda: get_instance(module, instance_id),
                           lambda i: i is None or i.get('InstanceChargeType') == 'PostPaid',
                           timeout=params['wait_timeout'],
                           describe=lambda i: i.get('InstanceChargeType') if i else 'gone',
                           what='instance %s to become PostPaid' % instance_id)
    return converted.get('Status') if converted else status


def delete(module, params, raw):
    instance_id = raw['InstanceId']
    status = raw.get('Status')
    if raw.get('InstanceChargeType') == 'PrePaid':
        status = convert_to_postpaid(module, params, raw)
    if module.check_mode:
        if status in ('Running', 'Starting', 'Pending') and not params['force']:
            module.mutate('ecs', 'StopInstance', {'InstanceId': instance_id, 'RegionId': module.region})
        module.mutate('ecs', 'DeleteInstance', {'InstanceId': instance_id, 'RegionId': module.region,
                                                'Force': params['force']})
        return
    if status in TRANSIENT_STATES and not params['force']:
        status = wait_status(module, instance_id, ('Running', 'Stopped'), params['wait_timeout'])['Status']
    if status == 'Running' and not params['force']:
        try:
            module.mutate('ecs', 'StopInstance', {'InstanceId': instance_id, 'RegionId': module.region})
        except AlicloudApiError as error:
            if error.code != 'InvalidInstanceId.NotFound':
                raise
            return
        wait_status(module, instance_id, ('Stopped',), params['wait_timeout'])

    def attempt_delete():
        try:
            module.mutate('ecs', 'DeleteInstance', {'InstanceId': instance_id, 'RegionId': module.region,
                                                    'Force': params['force']})
        except AlicloudApiError as error:
            if error.code in ('InvalidInstanceId.NotFound', 'InvalidInstanceId.Malformed'):
                return True
            if error.code.startswith('IncorrectInstanceStatus'):
                module.api_calls.pop()  # not made: it is tried again
                return error.code
            raise
        return True

    wait_until(attempt_delete, lambda r: r is True, timeout=params['wait_timeout'],
               describe=lambda r: r if isinstance(r, str) else 'deleted',
               what='instance %s to accept deletion' % instance_id)
    if params['wait']:
        wait_until(lambda: get_instance(module, instance_id), lambda i: i is None, timeout=params['wait_timeout'],
                   describe=lambda i: i.get('Status') if i else 'gone', what='instance %s to be deleted' % instance_id)


def ensure(module):
    params = module.params
    validate(module, params)
    current = find_instance(module, params)
    if params['state'] == 'absent':
        if current is None:
            module.finish(False, instance={})
        refuse_prepaid(module, params, current)
        before = diff_view(describe_instance(current))
        delete(module, params, current)
        module.finish(True, diff_before=before, diff_after={}, instance={})
    if current is None:
        if params['instance_id']:
            raise AlicloudParameterError('instance_id %s does not exist in region %s' % (params['instance_id'],
                                                                                         module.region))
        instance = create(module, params)
        module.finish(True, diff_before={}, diff_after=diff_view(instance), instance=instance)
    changed, before, after = update(module, params, current)
    module.finish(changed, diff_before=diff_view(before), diff_after=diff_view(after), instance=after)


def main():
    module = AlicloudModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            name=dict(type='str', aliases=['instance_name']),
            instance_id=dict(type='str'),
            image_id=dict(type='str'),
            instance_type=dict(type='str'),
            vswitch_id=dict(type='str'),
            zone_id=dict(type='str'),
            security_group_id=dict(type='str'),
            password=dict(type='str', no_log=True),
            key_pair_name=dict(type='str', no_log=False),
            host_name=dict(type='str'),
            description=dict(type='str'),
            system_disk_category=dict(type='str', default='cloud_essd',
                                      choices=['cloud_essd', 'cloud_essd_entry', 'cloud_auto', 'cloud_ssd',
                                               'cloud_efficiency']),
            system_disk_size=dict(type='int', default=40),
            internet_max_bandwidth_out=dict(type='int'),
            internet_charge_type=dict(type='str', default='PayByTraffic', choices=['PayByTraffic', 'PayByBandwidth']),
            instance_charge_type=dict(type='str', default='PostPaid', choices=['PostPaid', 'PrePaid']),
            period=dict(type='int'),
            period_unit=dict(type='str', default='Month', choices=['Month', 'Week']),
            auto_renew=dict(type='bool', default=False),
            release_prepaid=dict(type='bool', default=False),
            tags=dict(type='dict'),
            purge_tags=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
            wait=dict(type='bool', default=True),
            wait_timeout=dict(type='int', default=600),
        ),
        supports_check_mode=True,
    )
    module.run(ensure, module)


if __name__ == '__main__':
    main()
