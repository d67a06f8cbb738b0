#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: alicloud_rds_instance
short_description: Create, resize and delete an ApsaraDB RDS for PostgreSQL instance
version_added: 0.1.0
description:
  - Ensures an RDS PostgreSQL instance in a VPC exists with the given class, storage and engine version, or is gone.
  - The instance is found by I(name) (its description) through every page of C(DescribeDBInstances), narrowed by
    I(tags), or directly by I(db_instance_id).
  - Creation sends a ClientToken derived from the instance's identity, so a create retried after a lost reply
    returns the first instance instead of a second one.
  - The class, the storage size (up only) and the storage type change in place with C(ModifyDBInstanceSpec).
    The engine version, category, pay type, zone, VPC and VSwitch cannot change in place; asking for that fails
    with a message naming each field, before anything is changed.
  - Deleting an instance that is already gone is success.
  - C(DeleteDBInstance) refuses a C(Prepaid) (subscription) instance that has not expired
    (C(OperationDenied.DBInstancePayType)). With I(state=absent) such an instance is released only with
    I(release_prepaid=true), which first converts it to pay-as-you-go with C(TransformDBInstancePayType), then
    deletes it.
    Without it the module fails before changing anything, naming that error code.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  state:
    description:
      - C(present) creates the instance or brings it to the requested class and storage.
      - C(absent) deletes it (and with I(wait) waits until it is gone).
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the instance (RDS calls it C(DBInstanceDescription)); identifies the instance when no
        I(db_instance_id) is given. 2-256 characters, starting with a letter.
    type: str
    required: true
  db_instance_id:
    description:
      - ID of an existing instance to manage, instead of finding it by I(name).
    type: str
  engine_version:
    description:
      - PostgreSQL major version as RDS spells it, for example C(16.0). Required with I(state=present).
    type: str
  instance_class:
    description:
      - Instance class, for example C(pg.n2.2c.1m). Required with I(state=present).
    type: str
  storage:
    description:
      - Storage in GB, a multiple of 5 from 20 to 32000. Required with I(state=present). Can grow in place, never
        shrink.
    type: int
  storage_type:
    description: Storage type.
    type: str
    choices: [cloud_essd, cloud_essd2, cloud_essd3, cloud_ssd, local_ssd, general_essd]
    default: cloud_essd
  category:
    description: Edition of the instance.
    type: str
    choices: [Basic, HighAvailability, cluster]
    default: Basic
  pay_type:
    description: Billing method in RDS's spelling (pay as you go or subscription).
    type: str
    choices: [Postpaid, Prepaid]
    default: Postpaid
  period:
    description: Unit of I(used_time) for a C(Prepaid) instance.
    type: str
    choices: [Month, Year]
    default: Month
  used_time:
    description: Subscription length of a C(Prepaid) instance, in I(period) units (1-9 months or 1-5 years).
    type: int
    default: 1
  release_prepaid:
    description:
      - With I(state=absent), release a C(Prepaid) instance that has not expired; convert it to C(Postpaid)
        (C(TransformDBInstancePayType)), wait until it is, then delete it.
      - Without it, I(state=absent) on a C(Prepaid) instance fails and nothing is changed.
    type: bool
    default: false
  zone_id:
    description: Zone of the instance. Required with I(state=present).
    type: str
  vpc_id:
    description: VPC of the instance. Required with I(state=present).
    type: str
  vswitch_id:
    description: VSwitch of the instance, in I(vpc_id) and I(zone_id). Required with I(state=present).
    type: str
  security_ips:
    description:
      - Initial whitelist of the C(default) group, used only when the instance is created.
      - The default admits nothing but the loopback address; manage whitelists with
        M(computenest.mlflow.alicloud_rds_security_ips).
    type: list
    elements: str
    default: ['127.0.0.1']
  tags:
    description:
      - Tags of the instance. On an existing instance missing tags are added (C(TagResources)).
      - When several instances share I(name), the tags choose among them.
    type: dict
  purge_tags:
    description:
      - Remove tags of an existing instance that I(tags) does not list (reads them with C(ListTagResources)).
        Only with I(tags).
    type: bool
    default: false
  wait:
    description:
      - Wait until the instance is C(Running) (I(state=present)) or gone (I(state=absent)).
      - With C(false) the create request is sent and the module returns at once, so other resources can be built
        meanwhile; run it again with C(true) to wait.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 1800
extends_documentation_fragment:
  - computenest.mlflow.alicloud
notes:
  - Supports check mode and diff mode. In check mode nothing is sent except Describe calls, and C(api_calls) lists
    the calls that would change something.
seealso:
  - module: computenest.mlflow.alicloud_rds_instance_info
  - module: computenest.mlflow.alicloud_rds_account
  - module: computenest.mlflow.alicloud_rds_database
  - module: computenest.mlflow.alicloud_rds_security_ips
'''

EXAMPLES = r'''
- name: Request the MLflow backend database without waiting, to build other resources meanwhile
  computenest.mlflow.alicloud_rds_instance:
    name: mlflow-prod
    engine_version: "16.0"
    instance_class: pg.n2.2c.1m
    storage: 20
    zone_id: cn-hangzhou-i
    vpc_id: vpc-bp1exampleexample
    vswitch_id: vsw-bp1exampleexample
    tags:
      computenest-mlflow-deployment: mlflow-prod
    wait: false

- name: Wait until it is running and read its intranet address
  computenest.mlflow.alicloud_rds_instance:
    name: mlflow-prod
    engine_version: "16.0"
    instance_class: pg.n2.2c.1m
    storage: 20
    zone_id: cn-hangzhou-i
    vpc_id: vpc-bp1exampleexample
    vswitch_id: vsw-bp1exampleexample
    tags:
      computenest-mlflow-deployment: mlflow-prod
  register: rds

- name: Release a subscription (Prepaid) instance before it expires, then delete it
  computenest.mlflow.alicloud_rds_instance:
    name: mlflow-prepaid
    state: absent
    release_prepaid: true

- name: Delete it and wait until it is gone
  computenest.mlflow.alicloud_rds_instance:
    name: mlflow-prod
    tags:
      computenest-mlflow-deployment: mlflow-prod
    state: absent
'''

RETURN = r'''
instance:
  description: The instance after the change (in check mode, what it would be). Empty after I(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: Instance ID (absent in check mode before creation).
      type: str
      sample: pgm-bp1k2ak9bdy8h0f5z
    name:
      description: Instance description.
      type: str
      sample: mlflow-prod
    status:
      description: C(DBInstanceStatus), for example C(Creating) or C(Running).
      type: str
      sample: Running
    engine:
      description: Always C(PostgreSQL).
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
      description: Intranet (VPC) host name of the instance.
      type: str
      sample: pgm-bp1k2ak9bdy8h0f5z.pg.rds.aliyuncs.com
    port:
      description: Intranet port, as an integer.
      type: int
      sample: 5432
    tags:
      description: Tags of the instance; without I(purge_tags), only the requested ones are read back.
      type: dict
      sample: {computenest-mlflow-deployment: mlflow-prod}
api_calls:
  description: The changing API calls made, or in check mode the ones that would be made (secrets masked).
  returned: always
  type: list
  elements: dict
  sample: [{product: rds, action: CreateDBInstance, params: {DBInstanceDescription: mlflow-prod, EngineVersion: "16.0"}}]
'''

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudApiError,
    AlicloudError,
    AlicloudModule,
    AlicloudWaitError,
    client_token,
    wait_until,
)
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud_rds import (
    GONE_STATES,
    INSTANCE_NOT_FOUND_CODES,
    api_call,
    describe_instance,
    facts_of,
    instance_id_problem,
    port_number,
    ids_with_tags,
    list_tags,
    missing_tags,
    wait_for_instance,
    wait_for_instance_gone,
)

ENGINE = 'PostgreSQL'
# Bound on create/delete cycles of one identity that create_once steps over.
MAX_TOKEN_GENERATIONS = 50
# Seconds a just-created instance may take to show up in DescribeDBInstanceAttribute.
VISIBILITY_GRACE = 5
# Fields that CreateDBInstance fixes for the life of the instance, as (option, attribute field).
FIXED_FIELDS = (
    ('engine_version', 'EngineVersion'),
    ('category', 'Category'),
    ('pay_type', 'PayType'),
    ('zone_id', 'ZoneId'),
    ('vpc_id', 'VpcId'),
    ('vswitch_id', 'VSwitchId'),
)


def validate(module):
    """Every rule that can be checked without the cloud, before the first call."""
    params = module.params
    problems = []
    name = params['name']
    if not 2 <= len(name) <= 256 or not name[0].isalpha() or name.startswith(('http://', 'https://')):
        problems.append('name must be 2-256 characters starting with a letter, got %r' % name)
    if params['db_instance_id']:
        problem = instance_id_problem(params['db_instance_id'])
        if problem:
            problems.append(problem)
    if params['state'] == 'present':
        storage = params['storage']
        if storage is not None and (storage % 5 or not 20 <= storage <= 32000):
            problems.append('storage must be a multiple of 5 from 20 to 32000 (GB), got %d' % storage)
        version = params['engine_version']
        if version is not None and not _looks_like_version(version):
            problems.append('engine_version must be a PostgreSQL major version as RDS spells it, like "16.0", got %r'
                            % version)
        for option, prefix in (('vpc_id', 'vpc-'), ('vswitch_id', 'vsw-')):
            if params[option] is not None and not params[option].startswith(prefix):
                problems.append('%s must start with %r, got %r' % (option, prefix, params[option]))
        if params['pay_type'] == 'Prepaid':
            limit = 9 if params['period'] == 'Month' else 5
            if not 1 <= params['used_time'] <= limit:
                problems.append('used_time must be 1-%d with period=%s, got %d'
                                % (limit, params['period'], params['used_time']))
        if not params['security_ips']:
            problems.append('security_ips must list at least one address (RDS needs one); the default is 127.0.0.1')
    if params['purge_tags'] and params['tags'] is None:
        problems.append('purge_tags needs tags')
    for key, value in (params['tags'] or {}).items():
        if not key or len(key) > 128 or key.startswith(('aliyun', 'acs:')):
            problems.append('tags: key %r must be 1-128 characters and not start with "aliyun" or "acs:"' % key)
        if value is not None and len(str(value)) > 128:
            problems.append('tags: value of %r must be at most 128 characters' % key)
    if problems:
        module.fail_json(msg='Invalid parameters: ' + '; '.join(problems))


def _looks_like_version(version):
    parts = version.split('.')
    return len(parts) == 2 and all(part.isdigit() for part in parts)


def find_instance(module):
    """The attribute of the instance this task manages, or None. Fails when the name matches more than one."""
    params = module.params
    client = module.client
    if params['db_instance_id']:
        attribute = describe_instance(client, params['db_instance_id'])
        if attribute is not None and attribute.get('DBInstanceStatus') in GONE_STATES and \
                params['state'] == 'present':
            module.fail_json(msg='RDS instance %s is %s; it cannot be used' % (
                params['db_instance_id'], attribute.get('DBInstanceStatus')))
        return attribute
    query = {'RegionId': module.region, 'Engine': ENGINE}
    items = module.client.paginate('rds', 'DescribeDBInstances', query, 'Items.DBInstance', page_size=100)
    matches = [item for item in items if item.get('DBInstanceDescription') == params['name']]
    live = [item for item in matches if item.get('DBInstanceStatus') not in GONE_STATES]
    if len(live) > 1 and params['tags']:
        # The name is the identity; tags only choose among instances that share it.
        tagged = ids_with_tags(module, params['tags'])
        live = [item for item in live if item['DBInstanceId'] in tagged]
    if len(live) > 1:
        module.fail_json(msg='%d RDS instances are named %r (%s); give db_instance_id to choose one' % (
            len(live), params['name'], ', '.join(sorted(item['DBInstanceId'] for item in live))))
    if live:
        return describe_instance(client, live[0]['DBInstanceId'])
    if matches and params['state'] == 'absent':
        # Already being deleted: nothing to send, but state=absent may still wait for it to go.
        return describe_instance(client, matches[0]['DBInstanceId'])
    return None


def desired_facts(module):
    params = module.params
    return dict(
        name=params['name'], engine=ENGINE, engine_version=params['engine_version'],
        instance_class=params['instance_class'], storage=params['storage'], storage_type=params['storage_type'],
        category=params['category'], pay_type=params['pay_type'], zone_id=params['zone_id'],
        vpc_id=params['vpc_id'], vswitch_id=params['vswitch_id'],
        tags=dict((k, '' if v is None else str(v)) for k, v in (params['tags'] or {}).items()),
    )


COMPARED = ('name', 'engine_version', 'instance_class', 'storage', 'storage_type', 'category', 'pay_type',
            'zone_id', 'vpc_id', 'vswitch_id', 'tags')


def diff_view(facts):
    return dict((key, facts.get(key)) for key in COMPARED) if facts else {}


def create_once(module, request):
    """CreateDBInstance with a ClientToken derived from the request, so a retried create returns the first instance.

    The cloud remembers a token after its instance is deleted: when the token answers with an instance that is gone,
    this identity was created and deleted before, and the next generation of the token is used. Every generation is
    as deterministic as the first, so a lost reply in any of them is still answered with the same instance.
    """
    for generation in range(1, MAX_TOKEN_GENERATIONS + 1):
        parts = ('rds-instance', request) if generation == 1 else ('rds-instance', request, generation)
        body = module.client.call('rds', 'CreateDBInstance', dict(request, ClientToken=client_token(*parts)))
        attribute = _visible(module, body['DBInstanceId'])
        if attribute is not None and attribute.get('DBInstanceStatus') not in GONE_STATES:
            return body
    module.fail_json(msg='CreateDBInstance kept answering with deleted instances for %d ClientToken generations'
                         % MAX_TOKEN_GENERATIONS)


def _visible(module, db_instance_id):
    """The instance's attribute, allowing a few seconds for a new instance to be listed; None if it stays gone."""
    try:
        return wait_until(lambda: describe_instance(module.client, db_instance_id),
                          lambda attribute: attribute is not None, timeout=VISIBILITY_GRACE, delay=0.5,
                          what='RDS instance %s to be listed' % db_instance_id)
    except AlicloudWaitError:
        return None


def create(module, result):
    params = module.params
    desired = desired_facts(module)
    request = {
        'RegionId': module.region,
        'Engine': ENGINE,
        'EngineVersion': params['engine_version'],
        'DBInstanceClass': params['instance_class'],
        'DBInstanceStorage': params['storage'],
        'DBInstanceStorageType': params['storage_type'],
        'Category': params['category'],
        'DBInstanceNetType': 'Intranet',
        'InstanceNetworkType': 'VPC',
        'VPCId': params['vpc_id'],
        'VSwitchId': params['vswitch_id'],
        'ZoneId': params['zone_id'],
        'PayType': params['pay_type'],
        'SecurityIPList': ','.join(params['security_ips']),
        'DBInstanceDescription': params['name'],
    }
    if params['pay_type'] == 'Prepaid':
        request.update(Period=params['period'], UsedTime=str(params['used_time']))
    if desired['tags']:
        request['Tag'] = [{'Key': key, 'Value': desired['tags'][key]} for key in sorted(desired['tags'])]
    result['api_calls'].append(api_call('CreateDBInstance', request))
    result['changed'] = True
    result['diff'] = dict(before={}, after=diff_view(desired))
    if module.check_mode:
        result['instance'] = dict(desired, id=None, status='Creating', connection_string=None, port=None)
        return
    body = create_once(module, request)
    db_instance_id = body['DBInstanceId']
    if params['wait']:
        attribute = wait_for_instance(module.client, db_instance_id, params['wait_timeout'])
        result['instance'] = facts_of(module, attribute, tags=desired['tags'])
        return
    attribute = describe_instance(module.client, db_instance_id)
    if attribute:
        facts = facts_of(module, attribute, tags=desired['tags'], with_connection=False)
    else:
        facts = dict(desired, status='Creating', connection_string=None, port=None)
    facts['id'] = db_instance_id
    facts['connection_string'] = facts.get('connection_string') or body.get('ConnectionString')
    facts['port'] = facts.get('port') or port_number(body.get('Port'))
    result['instance'] = facts


def plan_update(module, attribute, tags):
    """The calls that bring the instance to the requested state, and the state it would then be in."""
    params = module.params
    db_instance_id = attribute['DBInstanceId']
    current = facts_of(module, attribute, tags=tags, with_connection=False)
    desired = desired_facts(module)

    fixed = []
    for option, field in FIXED_FIELDS:
        if params[option] is not None and attribute.get(field) not in (None, '') and \
                str(attribute.get(field)) != str(params[option]):
            fixed.append('%s (%s -> %s)' % (option, attribute.get(field), params[option]))
    if current['storage'] is not None and params['storage'] < current['storage']:
        fixed.append('storage (%s GB -> %s GB: RDS storage only grows)' % (current['storage'], params['storage']))
    if fixed:
        module.fail_json(
            msg='RDS instance %s cannot change %s in place; delete it (state=absent) and create it again, or keep '
                'the current values' % (db_instance_id, ', '.join(fixed)),
            instance=facts_of(module, attribute, tags=tags))

    calls = []
    after = dict(current)
    spec = {}
    if params['instance_class'] != current['instance_class']:
        spec['DBInstanceClass'] = after['instance_class'] = params['instance_class']
    if current['storage'] is not None and params['storage'] > current['storage']:
        spec['DBInstanceStorage'] = after['storage'] = params['storage']
    if current['storage_type'] and params['storage_type'] != current['storage_type']:
        spec['DBInstanceStorageType'] = after['storage_type'] = params['storage_type']
    if spec:
        spec.update(DBInstanceId=db_instance_id, PayType=attribute.get('PayType') or params['pay_type'])
        calls.append(('ModifyDBInstanceSpec', spec))
    if tags is not None:
        add_tags = dict((k, v) for k, v in desired['tags'].items() if tags.get(k) != v)
        remove_tags = sorted(k for k in tags if k not in desired['tags']) if params['purge_tags'] else []
        after['tags'] = dict((k, v) for k, v in tags.items() if k not in remove_tags)
        after['tags'].update(add_tags)
        base = {'RegionId': module.region, 'ResourceType': 'INSTANCE', 'ResourceId': [db_instance_id]}
        if add_tags:
            calls.append(('TagResources', dict(base, Tag=[{'Key': k, 'Value': add_tags[k]} for k in sorted(add_tags)])))
        if remove_tags:
            calls.append(('UntagResources', dict(base, TagKey=remove_tags)))
    return calls, current, after


def update(module, attribute, result):
    params = module.params
    db_instance_id = attribute['DBInstanceId']
    tags = None
    if params['tags'] is not None:
        desired = desired_facts(module)['tags']
        if params['purge_tags']:
            tags = list_tags(module, db_instance_id)
        else:
            # Without purging only the requested tags matter: learn which of them the instance lacks.
            lacking = missing_tags(module, db_instance_id, desired)
            tags = dict((key, value) for key, value in desired.items() if key not in lacking)
    calls, current, after = plan_update(module, attribute, tags)
    result['api_calls'].extend(api_call(action, request) for action, request in calls)
    result['changed'] = bool(calls)
    result['diff'] = dict(before=diff_view(current), after=diff_view(after))
    if module.check_mode:
        result['instance'] = dict(facts_of(module, attribute, tags=tags), **dict(
            (key, after[key]) for key in ('instance_class', 'storage', 'storage_type', 'tags')))
        return
    # Resizing needs a Running instance (one created with wait=false may still be Creating), and wait=true promises
    # a Running instance in any case.
    if (params['wait'] or calls) and attribute.get('DBInstanceStatus') != 'Running':
        attribute = wait_for_instance(module.client, db_instance_id, params['wait_timeout'])
    for action, request in calls:
        module.client.call('rds', action, request)
    if calls:
        attribute = wait_for_instance(module.client, db_instance_id, params['wait_timeout']) if params['wait'] \
            else (describe_instance(module.client, db_instance_id) or attribute)
    result['instance'] = facts_of(module, attribute, tags=after['tags'] if tags is not None else None)


def transform_to_postpaid(module, attribute, result):
    """TransformDBInstancePayType to Postpaid, then wait until the instance is Running and Postpaid."""
    params = module.params
    db_instance_id = attribute['DBInstanceId']
    request = {'DBInstanceId': db_instance_id, 'PayType': 'Postpaid',
               'ClientToken': client_token('rds-release-prepaid', db_instance_id)}
    result['api_calls'].append(api_call('TransformDBInstancePayType', request))
    result['changed'] = True
    if module.check_mode:
        return attribute
    if attribute.get('DBInstanceStatus') != 'Running':
        # The pay type changes only on a Running instance.
        wait_for_instance(module.client, db_instance_id, params['wait_timeout'])
    try:
        module.client.call('rds', 'TransformDBInstancePayType', request)
    except AlicloudApiError:
        # A retried call whose first reply was lost: already Postpaid is what was asked for.
        current = describe_instance(module.client, db_instance_id)
        if current is None or current.get('PayType') != 'Postpaid':
            raise
    return wait_until(
        lambda: describe_instance(module.client, db_instance_id),
        lambda current: current is not None and current.get('PayType') == 'Postpaid' and
        current.get('DBInstanceStatus') == 'Running',
        timeout=params['wait_timeout'],
        describe=lambda current: '%s/%s' % (current.get('PayType'), current.get('DBInstanceStatus'))
        if current else 'not found',
        what='RDS instance %s to be Postpaid and Running' % db_instance_id)


def delete(module, attribute, result):
    params = module.params
    db_instance_id = attribute['DBInstanceId']
    result['instance'] = {}
    if attribute.get('DBInstanceStatus') not in GONE_STATES:
        if attribute.get('PayType') == 'Prepaid':
            if not params['release_prepaid']:
                module.fail_json(
                    msg='RDS instance %s is Prepaid (subscription, until %s): DeleteDBInstance refuses it '
                        '(OperationDenied.DBInstancePayType). To release it now set release_prepaid=true: it is '
                        'converted to Postpaid (TransformDBInstancePayType) and then deleted. Nothing was changed.'
                        % (db_instance_id, attribute.get('ExpireTime') or 'its expiry'),
                    error_code='OperationDenied.DBInstancePayType',
                    instance=facts_of(module, attribute, with_connection=False))
        before = diff_view(facts_of(module, attribute, with_connection=False))
        if attribute.get('PayType') == 'Prepaid':
            attribute = transform_to_postpaid(module, attribute, result)
        request = {'DBInstanceId': db_instance_id}
        result['api_calls'].append(api_call('DeleteDBInstance', request))
        result['changed'] = True
        result['diff'] = dict(before=before, after={})
        if module.check_mode:
            return
        try:
            module.client.call('rds', 'DeleteDBInstance', request)
        except AlicloudApiError as error:
            if error.code in INSTANCE_NOT_FOUND_CODES:
                # Gone between our look and the delete (or a retried delete whose first reply was lost).
                return
            if error.code != 'IncorrectDBInstanceState':
                raise
            # Still Creating: RDS deletes it once it is Running.
            wait_for_instance(module.client, db_instance_id, params['wait_timeout'])
            module.client.call('rds', 'DeleteDBInstance', request)
    if params['wait'] and not module.check_mode:
        wait_for_instance_gone(module.client, db_instance_id, params['wait_timeout'])


def main():
    argument_spec = dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        name=dict(type='str', required=True),
        db_instance_id=dict(type='str'),
        engine_version=dict(type='str'),
        instance_class=dict(type='str'),
        storage=dict(type='int'),
        storage_type=dict(type='str', default='cloud_essd',
                          choices=['cloud_essd', 'cloud_essd2', 'cloud_essd3', 'cloud_ssd', 'local_ssd',
                                   'general_essd']),
        category=dict(type='str', default='Basic', choices=['Basic', 'HighAvailability', 'cluster']),
        pay_type=dict(type='str', default='Postpaid', choices=['Postpaid', 'Prepaid']),
        period=dict(type='str', default='Month', choices=['Month', 'Year']),
        used_time=dict(type='int', default=1),
        release_prepaid=dict(type='bool', default=False),
        zone_id=dict(type='str'),
        vpc_id=dict(type='str'),
        vswitch_id=dict(type='str'),
        security_ips=dict(type='list', elements='str', default=['127.0.0.1']),
        tags=dict(type='dict'),
        purge_tags=dict(type='bool', default=False),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=1800),
    )
    module = AlicloudModule(
        argument_spec=argument_spec,
        required_if=[('state', 'present', ['engine_version', 'instance_class', 'storage', 'zone_id', 'vpc_id',
                                           'vswitch_id'])],
        supports_check_mode=True,
    )
    validate(module)
    result = dict(changed=False, api_calls=[], instance={})
    try:
        attribute = find_instance(module)
        if module.params['state'] == 'present':
            if attribute is None:
                if module.params['db_instance_id']:
                    module.fail_json(msg='RDS instance %s does not exist' % module.params['db_instance_id'])
                create(module, result)
            else:
                update(module, attribute, result)
        elif attribute is not None:
            delete(module, attribute, result)
    except AlicloudError as error:
        module.fail_alicloud(error, **result)
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
