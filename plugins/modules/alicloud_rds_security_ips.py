#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: alicloud_rds_security_ips
short_description: Reconcile an IP whitelist group of an ApsaraDB RDS instance
version_added: 0.1.0
description:
  - Makes one whitelist group of an RDS instance hold exactly the listed IPv4 addresses and CIDR blocks
    (C(ModifySecurityIps) with mode C(Cover)), or only adds them (I(purge=false)), and reads the result back with
    C(DescribeDBInstanceIPArrayList).
  - With I(state=absent) removes the listed entries from the group, or the whole group when I(ips) is empty.
  - Addresses are compared as networks, so C(10.0.0.5) and C(10.0.0.5/32) are the same entry.
  - Waits for the instance to be C(Running) (whitelists change only then). Nothing to remove is success.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  db_instance_id:
    description: ID of the RDS instance.
    type: str
    required: true
  group_name:
    description:
      - Whitelist group (C(DBInstanceIPArrayName)); 2-120 characters of lower case letters, digits and C(_),
        starting with a letter and ending with a letter or digit.
    type: str
    default: default
  ips:
    description:
      - IPv4 addresses or CIDR blocks, at most 1000. C(0.0.0.0/0) opens the database to every address and is
        refused unless I(allow_any) is set.
    type: list
    elements: str
    default: []
  purge:
    description: With I(state=present), remove entries of the group that I(ips) does not list.
    type: bool
    default: true
  allow_any:
    description: Accept C(0.0.0.0/0) in I(ips).
    type: bool
    default: false
  state:
    description: C(present) or C(absent).
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description: Seconds to wait for the instance to be C(Running).
    type: int
    default: 600
extends_documentation_fragment:
  - computenest.mlflow.alicloud
notes:
  - Supports check mode and diff mode.
seealso:
  - module: computenest.mlflow.alicloud_rds_instance
'''

EXAMPLES = r'''
- name: Only the MLflow server may reach the database
  computenest.mlflow.alicloud_rds_security_ips:
    db_instance_id: "{{ rds.instance.id }}"
    group_name: mlflow
    ips:
      - "{{ ecs.instance.private_ip }}"

- name: Remove the group again
  computenest.mlflow.alicloud_rds_security_ips:
    db_instance_id: "{{ rds.instance.id }}"
    group_name: mlflow
    state: absent
'''

RETURN = r'''
group:
  description: The group as read back (in check mode, what it would be).
  returned: always
  type: dict
  contains:
    name:
      description: Group name.
      type: str
      sample: mlflow
    ips:
      description: Entries of the group, sorted; empty when the group does not exist.
      type: list
      elements: str
      sample: ["192.168.0.10"]
api_calls:
  description: The changing API calls made, or in check mode the ones that would be made.
  returned: always
  type: list
  elements: dict
  sample: [{product: rds, action: ModifySecurityIps, params: {DBInstanceIPArrayName: mlflow, ModifyMode: Cover,
                                                              SecurityIps: 192.168.0.10}}]
'''

import ipaddress
import re

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudApiError,
    AlicloudError,
    AlicloudModule,
)
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud_rds import (
    INSTANCE_NOT_FOUND_CODES,
    api_call,
    as_list,
    instance_id_problem,
    instance_to_clean,
    require_running_instance,
)

_GROUP_NAME = re.compile(r'^[a-z][a-z0-9_]{0,118}[a-z0-9]$')
MAX_ENTRIES = 1000


def canonical(entry):
    """'10.0.0.5/32' -> '10.0.0.5', '10.0.0.0/24' stays; raises ValueError for anything not IPv4."""
    network = ipaddress.IPv4Network(to_text(entry.strip()), strict=False)
    if network.prefixlen == 32:
        return str(network.network_address)
    return str(network)


def validate(module):
    params = module.params
    problems = []
    problem = instance_id_problem(params['db_instance_id'])
    if problem:
        problems.append(problem)
    if not _GROUP_NAME.match(params['group_name']) and params['group_name'] != 'default':
        problems.append('group_name %r must be 2-120 characters of lower case letters, digits and "_", starting with '
                        'a letter and ending with a letter or digit' % params['group_name'])
    wanted = []
    for entry in params['ips']:
        try:
            wanted.append(canonical(entry))
        except ValueError:
            problems.append('ips: %r is not an IPv4 address or CIDR block' % entry)
    if '0.0.0.0/0' in wanted and not params['allow_any'] and params['state'] == 'present':
        problems.append('ips: 0.0.0.0/0 opens the database to every address; set allow_any=true if you mean it')
    if len(set(wanted)) > MAX_ENTRIES:
        problems.append('ips: at most %d entries, got %d' % (MAX_ENTRIES, len(set(wanted))))
    if params['state'] == 'present' and not wanted:
        problems.append('ips must list at least one entry with state=present (use state=absent to remove a group)')
    if problems:
        module.fail_json(msg='Invalid parameters: ' + '; '.join(problems))
    return sorted(set(wanted))


def read_group(module):
    """Sorted canonical entries of the group, or None when the group does not exist."""
    params = module.params
    body = module.client.call('rds', 'DescribeDBInstanceIPArrayList', {'DBInstanceId': params['db_instance_id']})
    for group in as_list(body.get('Items'), 'DBInstanceIPArray'):
        if group.get('DBInstanceIPArrayName') == params['group_name']:
            entries = [item for item in (group.get('SecurityIPList') or '').split(',') if item.strip()]
            return sorted(set(canonical(item) for item in entries))
    return None


def modify(module, mode, entries, result):
    params = module.params
    request = {
        'DBInstanceId': params['db_instance_id'],
        'DBInstanceIPArrayName': params['group_name'],
        'SecurityIps': ','.join(entries),
        'ModifyMode': mode,
    }
    result['api_calls'].append(api_call('ModifySecurityIps', request))
    if not module.check_mode:
        module.client.call('rds', 'ModifySecurityIps', request)


def reconcile(module, wanted, result):
    params = module.params
    current = read_group(module)
    have = current or []
    if params['state'] == 'present':
        after = wanted if params['purge'] else sorted(set(have) | set(wanted))
        if after != have or current is None:
            modify(module, 'Cover', after, result)
    else:
        if current is None:
            after = None
        else:
            removing = [entry for entry in have if entry in wanted] if wanted else list(have)
            after = [entry for entry in have if entry not in removing]
            if removing and (after or params['group_name'] != 'default'):
                modify(module, 'Delete', removing, result)
            elif removing:
                # RDS keeps at least one entry in the default group: what is left is the loopback address only.
                after = ['127.0.0.1']
                modify(module, 'Cover', after, result)
            if not after and params['group_name'] != 'default':
                after = None
    result['changed'] = bool(result['api_calls'])
    result['diff'] = dict(before=dict(name=params['group_name'], ips=have),
                          after=dict(name=params['group_name'], ips=after or []))
    if result['changed'] and not module.check_mode:
        after = read_group(module)
    result['group'] = dict(name=params['group_name'], ips=after or [])


def main():
    module = AlicloudModule(
        argument_spec=dict(
            db_instance_id=dict(type='str', required=True),
            group_name=dict(type='str', default='default'),
            ips=dict(type='list', elements='str', default=[]),
            purge=dict(type='bool', default=True),
            allow_any=dict(type='bool', default=False),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            wait_timeout=dict(type='int', default=600),
        ),
        supports_check_mode=True,
    )
    wanted = validate(module)
    params = module.params
    result = dict(changed=False, api_calls=[], group=dict(name=params['group_name'], ips=[]))
    try:
        if params['state'] == 'absent':
            if instance_to_clean(module, params['db_instance_id'], params['wait_timeout']) is not None:
                reconcile(module, wanted, result)
        else:
            if require_running_instance(module, params['db_instance_id'], params['wait_timeout']) is None:
                module.fail_json(msg='RDS instance %s does not exist' % params['db_instance_id'], **result)
            reconcile(module, wanted, result)
    except AlicloudApiError as error:
        if params['state'] == 'absent' and error.code in INSTANCE_NOT_FOUND_CODES:
            result.update(changed=False, api_calls=[])
        else:
            module.fail_alicloud(error, **result)
    except AlicloudError as error:
        module.fail_alicloud(error, **result)
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
