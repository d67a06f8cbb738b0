#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: alicloud_rds_database
short_description: Create, update and delete a database of an ApsaraDB RDS for PostgreSQL instance
version_added: 0.1.0
description:
  - Ensures a database exists on an RDS PostgreSQL instance with the given owner, character set and description,
    or is gone.
  - The character set, collation, ctype and owner cannot change in place; asking for that fails naming each field,
    before anything changes. The description changes in place.
  - Waits for the instance to be C(Running) and for a new database to be C(Running).
  - Deleting a database that is already gone, or whose instance is gone, is success.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  db_instance_id:
    description: ID of the RDS instance.
    type: str
    required: true
  name:
    description:
      - Database name, 2-64 characters of lower case letters, digits, C(_) and C(-), starting with a letter and
        ending with a letter or digit.
    type: str
    required: true
    aliases: [db_name]
  owner:
    description:
      - Account that owns the database (PostgreSQL's owner; RDS's C(AccountName)). Required to create it.
    type: str
  character_set:
    description: Character set.
    type: str
    default: UTF8
  collate:
    description: Collation (C(LC_COLLATE)).
    type: str
    default: C
  ctype:
    description: Character classification (C(LC_CTYPE)).
    type: str
    default: en_US.utf8
  description:
    description: Database description; 2-256 characters starting with a letter. Left alone when not given.
    type: str
  state:
    description: C(present) or C(absent).
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description: Seconds to wait for the instance and the database to be C(Running), or the database to be gone.
    type: int
    default: 600
extends_documentation_fragment:
  - computenest.mlflow.alicloud
notes:
  - Supports check mode and diff mode.
seealso:
  - module: computenest.mlflow.alicloud_rds_account
'''

EXAMPLES = r'''
- name: The MLflow backend store, owned by the mlflow account
  computenest.mlflow.alicloud_rds_database:
    db_instance_id: "{{ rds.instance.id }}"
    name: mlflow
    owner: mlflow
    description: MLflow backend store

- name: Drop it
  computenest.mlflow.alicloud_rds_database:
    db_instance_id: "{{ rds.instance.id }}"
    name: mlflow
    state: absent
'''

RETURN = r'''
database:
  description: The database after the change (in check mode, what it would be); empty after I(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: Database name.
      type: str
      sample: mlflow
    db_instance_id:
      description: Instance ID.
      type: str
      sample: pgm-bp1k2ak9bdy8h0f5z
    owner:
      description: Owning account, when RDS reports it.
      type: str
      sample: mlflow
    character_set:
      description: Character set.
      type: str
      sample: UTF8
    collate:
      description: Collation, when RDS reports it.
      type: str
      sample: C
    ctype:
      description: Ctype, when RDS reports it.
      type: str
      sample: en_US.utf8
    status:
      description: C(DBStatus), C(Running) once usable.
      type: str
      sample: Running
    description:
      description: Database description.
      type: str
      sample: MLflow backend store
api_calls:
  description: The changing API calls made, or in check mode the ones that would be made.
  returned: always
  type: list
  elements: dict
  sample: [{product: rds, action: CreateDatabase, params: {DBName: mlflow, CharacterSetName: "UTF8,C,en_US.utf8"}}]
'''

from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud import (
    AlicloudApiError,
    AlicloudModule,
    wait_until,
)
from ansible_collections.computenest.mlflow.plugins.module_utils.alicloud_rds import (
    account_name_problem,
    api_call,
    delete_instance_child,
    as_list,
    database_name_problem,
    instance_id_problem,
    run_instance_child,
)

DATABASE_NOT_FOUND_CODES = frozenset(['InvalidDBName.NotFound', 'InvalidDBNameOrAccountName.NotFound'])
_LOCALE_CHARS = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@')


def validate(module):
    params = module.params
    problems = [problem for problem in (
        instance_id_problem(params['db_instance_id']),
        database_name_problem(params['name']),
        account_name_problem(params['owner'], 'owner') if params['owner'] is not None else None,
    ) if problem]
    for option in ('character_set', 'collate', 'ctype'):
        value = params[option]
        if not value or not set(value) <= _LOCALE_CHARS:
            problems.append('%s must be a non-empty name of letters, digits and "_.-@", got %r' % (option, value))
    description = params['description']
    if description is not None and (not 2 <= len(description) <= 256 or not description[0].isalpha()
                                    or description.startswith(('http://', 'https://'))):
        problems.append('description must be 2-256 characters starting with a letter, not a URL')
    if problems:
        module.fail_json(msg='Invalid parameters: ' + '; '.join(problems))


def find_database(module):
    params = module.params
    try:
        query = {'DBInstanceId': params['db_instance_id'], 'DBName': params['name']}
        body = module.client.call('rds', 'DescribeDatabases', query)
    except AlicloudApiError as error:
        if error.code in DATABASE_NOT_FOUND_CODES:
            return None
        raise
    for database in as_list(body.get('Databases'), 'Database'):
        if database.get('DBName') == params['name']:
            return database
    return None


def _owner_of(database):
    accounts = as_list(database.get('Accounts'), 'AccountPrivilegeInfo')
    owners = [account.get('Account') for account in accounts
              if account.get('AccountPrivilege') in ('DBOwner', 'Owner') and account.get('Account')]
    if owners:
        return owners[0]
    return database.get('Owner') or None


def facts_of(database):
    if not database:
        return {}
    charset = database.get('CharacterSetName') or ''
    # PostgreSQL answers may carry "UTF8,C,en_US.utf8" in one field, or Collate/Ctype apart.
    parts = charset.split(',')
    return dict(
        name=database.get('DBName'), db_instance_id=database.get('DBInstanceId'), owner=_owner_of(database),
        character_set=parts[0] or None,
        collate=database.get('Collate') or (parts[1] if len(parts) > 1 else None),
        ctype=database.get('Ctype') or (parts[2] if len(parts) > 2 else None),
        status=database.get('DBStatus'), description=database.get('DBDescription') or '')


def wait_running(module):
    return wait_until(
        lambda: find_database(module),
        lambda database: database is not None and database.get('DBStatus') == 'Running',
        timeout=module.params['wait_timeout'],
        describe=lambda database: database.get('DBStatus') if database else 'not listed',
        what='database %s of %s to be Running' % (module.params['name'], module.params['db_instance_id']),
    )


def create(module, result):
    params = module.params
    if params['owner'] is None:
        module.fail_json(msg='owner is required to create database %s (RDS PostgreSQL needs its owning account)'
                             % params['name'], **result)
    charset = '%s,%s,%s' % (params['character_set'], params['collate'], params['ctype'])
    desired = dict(name=params['name'], db_instance_id=params['db_instance_id'], owner=params['owner'],
                   character_set=params['character_set'], collate=params['collate'], ctype=params['ctype'],
                   status='Running', description=params['description'] or '')
    request = {'DBInstanceId': params['db_instance_id'], 'DBName': params['name'], 'CharacterSetName': charset,
               'AccountName': params['owner']}
    if params['description']:
        request['DBDescription'] = params['description']
    result.update(changed=True, database=desired)
    result['api_calls'].append(api_call('CreateDatabase', request))
    result['diff'] = dict(before={}, after=desired)
    if module.check_mode:
        return
    try:
        module.client.call('rds', 'CreateDatabase', request)
    except AlicloudApiError as error:
        # A retried create whose first reply was lost finds its own database.
        if error.code != 'InvalidDBName.Duplicate' or find_database(module) is None:
            raise
    result['database'] = facts_of(wait_running(module))


def update(module, database, result):
    params = module.params
    current = facts_of(database)
    fixed = []
    for option in ('character_set', 'collate', 'ctype', 'owner'):
        wanted = params[option]
        have = current.get(option)
        if wanted is not None and have is not None and str(have).lower() != str(wanted).lower():
            fixed.append('%s (%s -> %s)' % (option, have, wanted))
    if fixed:
        module.fail_json(msg='Database %s of %s cannot change %s in place; drop it (state=absent) and create it again, '
                             'or keep the current values' % (params['name'], params['db_instance_id'], ', '.join(fixed)),
                         **dict(result, database=current))
    after = dict(current)
    request = None
    if params['description'] is not None and params['description'] != current['description']:
        after['description'] = params['description']
        request = {'DBInstanceId': params['db_instance_id'], 'DBName': params['name'],
                   'DBDescription': params['description']}
        result['api_calls'].append(api_call('ModifyDBDescription', request))
    result['changed'] = request is not None
    result['diff'] = dict(before=current, after=after)
    result['database'] = after
    if module.check_mode or request is None:
        return
    module.client.call('rds', 'ModifyDBDescription', request)
    result['database'] = facts_of(wait_running(module))


def delete(module, database, result):
    params = module.params
    delete_instance_child(module, result, 'database', 'DeleteDatabase',
                          {'DBInstanceId': params['db_instance_id'], 'DBName': params['name']},
                          facts_of(database), DATABASE_NOT_FOUND_CODES, find_database, 'DBStatus',
                          'database %s of %s' % (params['name'], params['db_instance_id']))


def main():
    module = AlicloudModule(
        argument_spec=dict(
            db_instance_id=dict(type='str', required=True),
            name=dict(type='str', required=True, aliases=['db_name']),
            owner=dict(type='str'),
            character_set=dict(type='str', default='UTF8'),
            collate=dict(type='str', default='C'),
            ctype=dict(type='str', default='en_US.utf8'),
            description=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            wait_timeout=dict(type='int', default=600),
        ),
        supports_check_mode=True,
    )
    validate(module)
    run_instance_child(module, dict(changed=False, api_calls=[], database={}), find_database, create, update, delete)


if __name__ == '__main__':
    main()
