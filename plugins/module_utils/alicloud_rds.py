# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the RDS modules share: finding an instance, waiting for it, naming and password rules."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import re

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudApiError,
    AlicloudError,
    dig,
    wait_until,
)

# Statuses of an instance on its way out: not a usable instance any more.
GONE_STATES = ('Deleting', 'Released', 'Deleted')

# Codes RDS answers for an instance that does not exist (any more).
INSTANCE_NOT_FOUND_CODES = frozenset([
    'InvalidDBInstanceId.NotFound',
    'InvalidDBInstanceName.NotFound',
    'DBInstanceNotFound',
])

# RDS CreateAccount/ResetAccountPassword: 8-32 characters, three of four classes, these specials only.
RDS_PASSWORD_SPECIALS = '!@#$%^&*()_+-='
_RDS_PASSWORD_CLASSES = (
    ('upper case letters', re.compile(r'[A-Z]')),
    ('lower case letters', re.compile(r'[a-z]')),
    ('digits', re.compile(r'[0-9]')),
    ('specials', re.compile('[' + re.escape(RDS_PASSWORD_SPECIALS) + ']')),
)
_RDS_PASSWORD_ALLOWED = re.compile('^[A-Za-z0-9' + re.escape(RDS_PASSWORD_SPECIALS) + ']*$')

# PostgreSQL on RDS: accounts are lower case letters, digits and '_', not starting with "pg" and not a reserved
# name; databases also allow '-'.
_ACCOUNT_NAME = re.compile(r'^[a-z][a-z0-9_]{0,61}[a-z0-9]$')
_DATABASE_NAME = re.compile(r'^[a-z][a-z0-9_-]{0,62}[a-z0-9]$')
RESERVED_ACCOUNT_NAMES = frozenset(['postgres', 'root', 'admin', 'aliyun_root', 'replicator', 'pgadmin', 'public',
                                    'sa', 'rdsadmin', 'superuser'])
_INSTANCE_ID = re.compile(r'^[a-z]{2,4}-[a-z0-9]{4,}$')


def rds_password_problem(password, option='password'):
    """None when RDS accepts the password, else a sentence naming the option and the rule (never the value)."""
    rule = ('%s must be 8-32 characters of letters, digits and %s, with at least three of: upper case letters, '
            'lower case letters, digits, specials' % (option, RDS_PASSWORD_SPECIALS))
    if not 8 <= len(password) <= 32 or not _RDS_PASSWORD_ALLOWED.match(password):
        return rule
    if sum(1 for dummy, pattern in _RDS_PASSWORD_CLASSES if pattern.search(password)) < 3:
        return rule
    return None


def account_name_problem(name, option='name'):
    if not _ACCOUNT_NAME.match(name or '') or name.startswith('pg') or name in RESERVED_ACCOUNT_NAMES:
        return ('%s %r is not a valid PostgreSQL account name on RDS: 2-63 characters of lower case letters, digits '
                'and "_", starting with a letter, ending with a letter or digit, not starting with "pg", not one of '
                '%s' % (option, name, ', '.join(sorted(RESERVED_ACCOUNT_NAMES))))
    return None


def database_name_problem(name, option='name'):
    if not _DATABASE_NAME.match(name or ''):
        return ('%s %r is not a valid RDS database name: 2-64 characters of lower case letters, digits, "_" and '
                '"-", starting with a letter, ending with a letter or digit' % (option, name))
    return None


def instance_id_problem(db_instance_id, option='db_instance_id'):
    if not _INSTANCE_ID.match(db_instance_id or ''):
        return '%s %r does not look like an RDS instance ID (for example pgm-bp1abcdefgh12345)' % (option,
                                                                                                   db_instance_id)
    return None


def describe_instance(client, db_instance_id):
    """DescribeDBInstanceAttribute of one instance, or None when it does not exist."""
    try:
        body = client.call('rds', 'DescribeDBInstanceAttribute', {'DBInstanceId': db_instance_id})
    except AlicloudApiError as error:
        if error.code in INSTANCE_NOT_FOUND_CODES:
            return None
        raise
    items = dig(body, 'Items.DBInstanceAttribute') or []
    if isinstance(items, dict):
        items = [items]
    return items[0] if items else None


def instance_state(attribute):
    return attribute.get('DBInstanceStatus') if attribute else 'gone'


def wait_for_instance(client, db_instance_id, timeout, states=('Running',)):
    """Poll until the instance is in one of states; returns its attribute. Fails naming the last status seen."""
    return wait_until(
        lambda: describe_instance(client, db_instance_id),
        lambda attribute: attribute is not None and attribute.get('DBInstanceStatus') in states,
        timeout=timeout,
        describe=instance_state,
        what='RDS instance %s to be %s' % (db_instance_id, '/'.join(states)),
    )


def wait_for_instance_gone(client, db_instance_id, timeout):
    return wait_until(
        lambda: describe_instance(client, db_instance_id),
        lambda attribute: attribute is None,
        timeout=timeout,
        describe=instance_state,
        what='RDS instance %s to be deleted' % db_instance_id,
    )


def require_running_instance(module, db_instance_id, timeout):
    """The instance, waited for until Running (accounts, databases and whitelists change only then).

    Returns None when the instance does not exist; the caller decides whether that is an error.
    """
    attribute = describe_instance(module.client, db_instance_id)
    if attribute is None or attribute.get('DBInstanceStatus') == 'Running':
        return attribute
    if attribute.get('DBInstanceStatus') in ('Deleting', 'Released', 'Deleted'):
        module.fail_json(msg='RDS instance %s is %s' % (db_instance_id, attribute.get('DBInstanceStatus')),
                         last_state=attribute.get('DBInstanceStatus'))
    return wait_for_instance(module.client, db_instance_id, timeout)


def instance_to_clean(module, db_instance_id, timeout):
    """For state=absent of something inside an instance: None when the instance is gone or going (its accounts,
    databases and whitelists go with it), else the instance once Running (RDS changes them only then)."""
    attribute = describe_instance(module.client, db_instance_id)
    if attribute is None or attribute.get('DBInstanceStatus') in GONE_STATES:
        return None
    if attribute.get('DBInstanceStatus') == 'Running':
        return attribute
    return wait_for_instance(module.client, db_instance_id, timeout)


def as_list(value, key=None):
    """A wrapped list of a Describe answer ({'Account': [...]}) or a bare list, as a list."""
    if isinstance(value, dict) and key is not None:
        value = value.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def tags_filter(tags):
    """The Tags parameter of DescribeDBInstances: a JSON object."""
    return json.dumps(dict((key, '' if value is None else str(value)) for key, value in tags.items()), sort_keys=True)


def ids_with_tag(module, key, value, query=None):
    """IDs of the region's PostgreSQL instances carrying tag key=value, through every page."""
    params = dict(query or {}, RegionId=module.region, Engine='PostgreSQL', Tags=tags_filter({key: value}))
    items = module.client.paginate('rds', 'DescribeDBInstances', params, 'Items.DBInstance', page_size=100)
    return set(item.get('DBInstanceId') for item in items)


def ids_with_tags(module, tags, query=None):
    """IDs of instances carrying every one of tags: one query per tag, intersected.

    RDS documents its Tags filter as matching an instance that carries any one of several tags, so several tags in
    one query would not prove that an instance carries them all.
    """
    found = None
    for key in sorted(tags):
        ids = ids_with_tag(module, key, tags[key], query)
        found = ids if found is None else found & ids
        if not found:
            return set()
    return found or set()


def missing_tags(module, db_instance_id, tags):
    """The tags of tags that the instance does not carry (with that value)."""
    return dict((key, value) for key, value in tags.items()
                if db_instance_id not in ids_with_tag(module, key, value, {'DBInstanceId': db_instance_id}))


def list_tags(module, db_instance_id):
    """Every tag of the instance (ListTagResources, through every page)."""
    tags = {}
    token = None
    for dummy in range(1000):
        query = {'RegionId': module.region, 'ResourceType': 'INSTANCE', 'ResourceId': [db_instance_id]}
        if token:
            query['NextToken'] = token
        body = module.client.call('rds', 'ListTagResources', query)
        for item in as_list(dig(body, 'TagResources'), 'TagResource'):
            if item.get('ResourceId') in (None, db_instance_id):
                tags[item.get('TagKey')] = item.get('TagValue')
        token = body.get('NextToken')
        if not token:
            break
    return tags


def connection_of(module, attribute):
    """(intranet host, port) of the instance: the VPC entry of DescribeDBInstanceNetInfo, else the attribute's."""
    host, port = attribute.get('ConnectionString'), attribute.get('Port')
    try:
        body = module.client.call('rds', 'DescribeDBInstanceNetInfo', {'DBInstanceId': attribute['DBInstanceId']})
    except AlicloudApiError as error:
        if error.code in INSTANCE_NOT_FOUND_CODES:
            return host, port_number(port)
        raise
    entries = as_list(dig(body, 'DBInstanceNetInfos'), 'DBInstanceNetInfo')
    for wanted in ('Private', 'Inner'):
        for entry in entries:
            if entry.get('IPType') == wanted and entry.get('ConnectionString'):
                return entry['ConnectionString'], port_number(entry.get('Port'))
    return host, port_number(port)


def port_number(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def facts_of(module, attribute, tags=None, with_connection=True):
    facts = dict(
        id=attribute.get('DBInstanceId'),
        name=attribute.get('DBInstanceDescription'),
        status=attribute.get('DBInstanceStatus'),
        engine=attribute.get('Engine'),
        engine_version=attribute.get('EngineVersion'),
        instance_class=attribute.get('DBInstanceClass'),
        storage=port_number(attribute.get('DBInstanceStorage')),
        storage_type=attribute.get('DBInstanceStorageType'),
        category=attribute.get('Category'),
        pay_type=attribute.get('PayType'),
        zone_id=attribute.get('ZoneId'),
        vpc_id=attribute.get('VpcId'),
        vswitch_id=attribute.get('VSwitchId'),
        connection_string=attribute.get('ConnectionString'),
        port=port_number(attribute.get('Port')),
        tags=tags if tags is not None else {},
    )
    if with_connection and attribute.get('DBInstanceId'):
        facts['connection_string'], facts['port'] = connection_of(module, attribute)
    return facts


# Request parameters whose values never leave the module.
SECRET_PARAMS = frozenset(['AccountPassword'])


def api_call(action, params):
    """How a changing call is reported in api_calls (made, or in check mode planned), secrets masked."""
    return dict(product='rds', action=action,
                params=dict((key, '********' if key in SECRET_PARAMS else value) for key, value in params.items()))


def run_instance_child(module, result, find, create, update, delete):
    """The state logic of a resource that lives inside an RDS instance (account, database), then exit.

    present: the instance must exist (waited for until Running), then create or update the resource.
    absent: nothing to do when the instance or the resource is already gone.  `find(module)` returns the current
    resource or None; `create(module, result)`, `update(module, current, result)` and `delete(module, current, result)`
    record their changes in `result`.
    """
    params = module.params
    try:
        if params['state'] == 'absent':
            if instance_to_clean(module, params['db_instance_id'], params['wait_timeout']) is not None:
                current = find(module)
                if current is not None:
                    delete(module, current, result)
        else:
            if require_running_instance(module, params['db_instance_id'], params['wait_timeout']) is None:
                module.fail_json(msg='RDS instance %s does not exist' % params['db_instance_id'], **result)
            current = find(module)
            if current is None:
                create(module, result)
            else:
                update(module, current, result)
    except AlicloudError as error:
        module.fail_alicloud(error, **result)
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)


def delete_instance_child(module, result, result_key, action, request, before, not_found_codes, find, status_key,
                          what):
    """Delete a resource inside an RDS instance (account, database) and wait until it is gone.

    Records the call and the diff in `result`; in check mode stops there.  A resource or instance already gone counts
    as deleted.  `find(module)` returns the resource or None; `status_key` names its status field for the wait.
    """
    result.update(changed=True)
    result[result_key] = {}
    result['api_calls'].append(api_call(action, request))
    result['diff'] = dict(before=before, after={})
    if module.check_mode:
        return
    try:
        module.client.call('rds', action, request)
    except AlicloudApiError as error:
        if error.code not in not_found_codes | INSTANCE_NOT_FOUND_CODES:
            raise
    wait_until(lambda: find(module), lambda found: found is None, timeout=module.params['wait_timeout'],
               describe=lambda found: found.get(status_key) if found else 'gone', what=what + ' to be deleted')
