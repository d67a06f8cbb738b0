#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: alicloud_rds_instance_info
short_description: List ApsaraDB RDS for PostgreSQL instances
version_added: 0.1.0
description:
  - Lists the PostgreSQL instances of a region through every page of C(DescribeDBInstances), filtered by IDs, name,
    VPC and tags, with each instance's intranet connection string and port.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  db_instance_ids:
    description: Only these instances.
    type: list
    elements: str
  name:
    description: Only instances with exactly this name (C(DBInstanceDescription)).
    type: str
  vpc_id:
    description: Only instances in this VPC.
    type: str
  tags:
    description: Only instances carrying every one of these tags.
    type: dict
  include_deleting:
    description: Also list instances that are being deleted.
    type: bool
    default: false
extends_documentation_fragment:
  - computenest.mlflow.alicloud
notes:
  - Read only; supports check mode.
seealso:
  - module: computenest.mlflow.alicloud_rds_instance
'''

EXAMPLES = r'''
- name: Find the database of one deployment by its tag
  computenest.mlflow.alicloud_rds_instance_info:
    tags:
      computenest-mlflow-deployment: mlflow-prod
  register: found

- name: Show its address
  ansible.builtin.debug:
    msg: "{{ found.instances[0].connection_string }}:{{ found.instances[0].port }}"
  when: found.instances | length > 0
'''

RETURN = r'''
instances:
  description: The matching instances, sorted by ID.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Instance ID.
      type: str
      sample: pgm-bp1k2ak9bdy8h0f5z
    name:
      description: Instance description.
      type: str
      sample: mlflow-prod
    status:
      description: C(DBInstanceStatus).
      type: str
      sample: Running
    engine:
      description: Engine.
      type: str
      sample: PostgreSQL
    engine_version:
      description: Engine version.
      type: str
      sample: "16.0"
    instance_class:
      description: Instance class.
      type: str
      sample: pg.n2.2c.1m
    storage:
      description: Storage in GB.
      type: int
      sample: 20
    storage_type:
      description: Storage type.
      type: str
      sample: cloud_essd
    category:
      description: Edition.
      type: str
      sample: Basic
    pay_type:
      description: C(Postpaid) or C(Prepaid).
      type: str
      sample: Postpaid
    zone_id:
      description: Zone.
      type: str
      sample: cn-hangzhou-i
    vpc_id:
      description: VPC ID.
      type: str
      sample: vpc-bp1exampleexample
    vswitch_id:
      description: VSwitch ID.
      type: str
      sample: vsw-bp1exampleexample
    connection_string:
      description: Intranet host name.
      type: str
      sample: pgm-bp1k2ak9bdy8h0f5z.pg.rds.aliyuncs.com
    port:
      description: Intranet port.
      type: int
      sample: 5432
    tags:
      description: The tags the instance was matched on (I(tags)); empty without that filter.
      type: dict
      sample: {computenest-mlflow-deployment: mlflow-prod}
'''

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudError,
    AlicloudModule,
)
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud_rds import (
    GONE_STATES,
    describe_instance,
    facts_of,
    instance_id_problem,
    ids_with_tags,
)


def list_instances(module):
    params = module.params
    query = {'RegionId': module.region, 'Engine': 'PostgreSQL'}
    if params['vpc_id']:
        query['VpcId'] = params['vpc_id']
    tagged = ids_with_tags(module, params['tags'], query) if params['tags'] else None
    wanted_ids = set(params['db_instance_ids'] or [])
    if len(wanted_ids) == 1:
        query['DBInstanceId'] = next(iter(wanted_ids))
    items = module.client.paginate('rds', 'DescribeDBInstances', query, 'Items.DBInstance', page_size=100)
    instances = []
    for item in sorted(items, key=lambda entry: entry.get('DBInstanceId', '')):
        if wanted_ids and item.get('DBInstanceId') not in wanted_ids:
            continue
        if params['name'] is not None and item.get('DBInstanceDescription') != params['name']:
            continue
        if item.get('DBInstanceStatus') in GONE_STATES and not params['include_deleting']:
            continue
        if tagged is not None and item.get('DBInstanceId') not in tagged:
            continue
        tags = dict((k, '' if v is None else str(v)) for k, v in params['tags'].items()) if params['tags'] else None
        attribute = describe_instance(module.client, item['DBInstanceId'])
        if attribute is None:
            continue
        instances.append(facts_of(module, attribute, tags=tags))
    return instances


def main():
    module = AlicloudModule(
        argument_spec=dict(
            db_instance_ids=dict(type='list', elements='str'),
            name=dict(type='str'),
            vpc_id=dict(type='str'),
            tags=dict(type='dict'),
            include_deleting=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    problems = [problem for problem in (instance_id_problem(item, 'db_instance_ids')
                                        for item in module.params['db_instance_ids'] or []) if problem]
    if problems:
        module.fail_json(msg='Invalid parameters: ' + '; '.join(problems))
    try:
        instances = list_instances(module)
    except AlicloudError as error:
        module.fail_alicloud(error)
    module.exit_json(changed=False, instances=instances)


if __name__ == '__main__':
    main()
