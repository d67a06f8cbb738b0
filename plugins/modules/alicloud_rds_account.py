#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: alicloud_rds_account
short_description: Create, update and delete an account of an ApsaraDB RDS for PostgreSQL instance
version_added: 0.1.0
description:
  - Ensures a database account exists on an RDS instance with the given type and description, or is gone.
  - RDS never reports a password, so whether an existing account's password is set again is decided by
    I(update_password), like the C(community.postgresql) modules do.
  - The account type cannot change in place; asking for that fails naming the field, before anything changes.
  - Waits for the instance to be C(Running) (accounts change only then) and for a new account to be C(Available).
  - Deleting an account that is already gone, or whose instance is gone, is success.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  db_instance_id:
    description: ID of the RDS instance.
    type: str
    required: true
  name:
    description:
      - Account name. 2-63 characters of lower case letters, digits and C(_), starting with a letter, ending with a
        letter or digit, not starting with C(pg_).
    type: str
    required: true
    aliases: [account_name]
  password:
    description:
      - Password, 8-32 characters with at least three of upper case letters, lower case letters, digits and the
        specials C(!@#$%^&*()_+-=). Required to create the account.
    type: str
  update_password:
    description:
      - C(on_create) sets I(password) only when the account is created; an existing account keeps its password and
        a re-run reports no change.
      - C(always) resets the password of an existing account to I(password) on every run (reported as a change,
        since RDS cannot tell whether it differs).
    type: str
    choices: [always, on_create]
    default: on_create
  account_type:
    description: C(Normal) or C(Super) (at most one per instance). Cannot change in place.
    type: str
    choices: [Normal, Super]
    default: Normal
  description:
    description: Account description; 2-256 characters starting with a letter. Left alone when not given.
    type: str
  state:
    description: C(present) or C(absent).
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description: Seconds to wait for the instance to be C(Running) and the account to be C(Available).
    type: int
    default: 600
extends_documentation_fragment:
  - computenest.mlflow.alicloud
notes:
  - Supports check mode and diff mode. The password never appears in the diff, the result or the logs.
seealso:
  - module: computenest.mlflow.alicloud_rds_database
  - module: community.postgresql.postgresql_user
'''

EXAMPLES = r'''
- name: The account MLflow connects as; its password is set once
  computenest.mlflow.alicloud_rds_account:
    db_instance_id: "{{ rds.instance.id }}"
    name: mlflow
    password: "{{ vault_mlflow_db_password }}"
    description: MLflow tracking server

- name: Rotate the password
  computenest.mlflow.alicloud_rds_account:
    db_instance_id: "{{ rds.instance.id }}"
    name: mlflow
    password: "{{ vault_new_mlflow_db_password }}"
    update_password: always

- name: Remove the account
  computenest.mlflow.alicloud_rds_account:
    db_instance_id: "{{ rds.instance.id }}"
    name: mlflow
    state: absent
'''

RETURN = r'''
account:
  description: The account after the change (in check mode, what it would be); empty after I(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: Account name.
      type: str
      sample: mlflow
    db_instance_id:
      description: Instance ID.
      type: str
      sample: pgm-bp1k2ak9bdy8h0f5z
    account_type:
      description: C(Normal) or C(Super).
      type: str
      sample: Normal
    status:
      description: C(AccountStatus), C(Available) once usable.
      type: str
      sample: Available
    description:
      description: Account description.
      type: str
      sample: MLflow tracking server
api_calls:
  description: The changing API calls made, or in check mode the ones that would be made; the password is masked.
  returned: always
  type: list
  elements: dict
  sample: [{product: rds, action: CreateAccount, params: {AccountName: mlflow, AccountPassword: "********"}}]
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
    instance_id_problem,
    rds_password_problem,
    run_instance_child,
)

ACCOUNT_NOT_FOUND_CODES = frozenset(['InvalidAccountName.NotFound', 'InvalidAccount.NotFound'])


def validate(module):
    params = module.params
    problems = [problem for problem in (
        instance_id_problem(params['db_instance_id']),
        account_name_problem(params['name']),
        rds_password_problem(params['password']) if params['password'] is not None else None,
    ) if problem]
    description = params['description']
    if description is not None and (not 2 <= len(description) <= 256 or not description[0].isalpha()
                                    or description.startswith(('http://', 'https://'))):
        problems.append('description must be 2-256 characters starting with a letter, not a URL')
    if problems:
        module.fail_json(msg='Invalid parameters: ' + '; '.join(problems))


def find_account(module):
    """The account as DescribeAccounts lists it, or None."""
    params = module.params
    query = {'DBInstanceId': params['db_instance_id'], 'AccountName': params['name']}
    body = module.client.call('rds', 'DescribeAccounts', query)
    for account in as_list(body.get('Accounts'), 'DBInstanceAccount'):
        if account.get('AccountName') == params['name']:
            return account
    return None


def facts_of(account):
    if not account:
        return {}
    return dict(name=account.get('AccountName'), db_instance_id=account.get('DBInstanceId'),
                account_type=account.get('AccountType'), status=account.get('AccountStatus'),
                description=account.get('AccountDescription') or '')


def wait_available(module):
    return wait_until(
        lambda: find_account(module),
        lambda account: account is not None and account.get('AccountStatus') == 'Available',
        timeout=module.params['wait_timeout'],
        describe=lambda account: account.get('AccountStatus') if account else 'not listed',
        what='account %s of %s to be Available' % (module.params['name'], module.params['db_instance_id']),
    )


def create(module, result):
    params = module.params
    if params['password'] is None:
        module.fail_json(msg='password is required to create account %s' % params['name'], **result)
    desired = dict(name=params['name'], db_instance_id=params['db_instance_id'], account_type=params['account_type'],
                   status='Available', description=params['description'] or '')
    request = {'DBInstanceId': params['db_instance_id'], 'AccountName': params['name'],
               'AccountPassword': params['password'], 'AccountType': params['account_type']}
    if params['description']:
        request['AccountDescription'] = params['description']
    result.update(changed=True, account=desired)
    result['api_calls'].append(api_call('CreateAccount', request))
    result['diff'] = dict(before={}, after=dict(desired, password='(set)'))
    if module.check_mode:
        return
    try:
        module.client.call('rds', 'CreateAccount', request)
    except AlicloudApiError as error:
        # A retried create whose first reply was lost finds its own account: that is the account we wanted.
        if error.code != 'InvalidAccountName.Duplicate' or find_account(module) is None:
            raise
    result['account'] = facts_of(wait_available(module))


def update(module, account, result):
    params = module.params
    current = facts_of(account)
    if current['account_type'] and current['account_type'] != params['account_type']:
        module.fail_json(msg='Account %s of %s is %s: the account type cannot change in place to %s; delete the '
                             'account (state=absent) and create it again' % (
                                 params['name'], params['db_instance_id'], current['account_type'],
                                 params['account_type']), **dict(result, account=current))
    after = dict(current)
    calls = []
    identity = {'DBInstanceId': params['db_instance_id'], 'AccountName': params['name']}
    if params['description'] is not None and params['description'] != current['description']:
        after['description'] = params['description']
        calls.append(('ModifyAccountDescription', dict(identity, AccountDescription=params['description'])))
    before_view, after_view = dict(current), dict(after)
    if params['update_password'] == 'always' and params['password'] is not None:
        calls.append(('ResetAccountPassword', dict(identity, AccountPassword=params['password'])))
        before_view['password'] = '(set)'
        after_view['password'] = '(reset)'
    result['api_calls'].extend(api_call(action, request) for action, request in calls)
    result['changed'] = bool(calls)
    result['diff'] = dict(before=before_view, after=after_view)
    result['account'] = after
    if module.check_mode or not calls:
        return
    for action, request in calls:
        module.client.call('rds', action, request)
    result['account'] = facts_of(wait_available(module))


def delete(module, account, result):
    params = module.params
    delete_instance_child(module, result, 'account', 'DeleteAccount',
                          {'DBInstanceId': params['db_instance_id'], 'AccountName': params['name']},
                          facts_of(account), ACCOUNT_NOT_FOUND_CODES, find_account, 'AccountStatus',
                          'account %s of %s' % (params['name'], params['db_instance_id']))


def main():
    module = AlicloudModule(
        argument_spec=dict(
            db_instance_id=dict(type='str', required=True),
            name=dict(type='str', required=True, aliases=['account_name']),
            password=dict(type='str', no_log=True),
            update_password=dict(type='str', choices=['always', 'on_create'], default='on_create', no_log=False),
            account_type=dict(type='str', choices=['Normal', 'Super'], default='Normal'),
            description=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            wait_timeout=dict(type='int', default=600),
        ),
        supports_check_mode=True,
    )
    validate(module)
    run_instance_child(module, dict(changed=False, api_calls=[], account={}), find_account, create, update, delete)


if __name__ == '__main__':
    main()
