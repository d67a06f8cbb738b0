# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deployment_group filter: the inventory group of one deployment, never shared with another deployment."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: deployment_group
author: computenest.mlflow contributors
version_added: 0.1.0
short_description: The inventory group of a deployment, distinct for every deployment name
description:
  - Returns C(mlflow_deployment_) followed by the deployment name (O(_input), C(alicloud_infra_name)) with each C(-)
    written as C(_) and each C(_) as C(__), so that C(my-app) and C(my_app) get different groups
    (C(mlflow_deployment_my_app) and C(mlflow_deployment_my__app)).
  - Group names may only hold letters, digits and C(_), so the mapping stays one to one only when no two of C(-) and
    C(_) are next to each other; such names (C(my--app), C(my_-app)) are refused, as are names with other characters.
  - The inventory (C(keyed_groups)) and every playbook that targets a deployment's host use this filter.
options:
  _input:
    description: The deployment name.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: The group of the deployment's ECS host
  ansible.builtin.debug:
    msg: "{{ 'my-app' | computenest.mlflow.deployment_group }}"
  # mlflow_deployment_my_app; 'my_app' gives mlflow_deployment_my__app
'''

RETURN = r'''
_value:
  description: The group name.
  type: str
'''

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

_ALLOWED = re.compile(r'^[A-Za-z0-9_-]+$')
_ADJACENT_SEPARATORS = re.compile(r'[-_]{2}')


def deployment_group(name):
    """Return the deployment's group name; refuse a name two deployments could share a group with."""
    text = to_text(name) if name is not None else ''
    if not _ALLOWED.match(text):
        raise AnsibleFilterError('alicloud_infra_name must be letters, digits, - and _ (got %r)' % text)
    if _ADJACENT_SEPARATORS.search(text):
        raise AnsibleFilterError(
            'alicloud_infra_name must not have two of - and _ next to each other (got %r): its inventory group would '
            'be the same as another name\'s' % text)
    return 'mlflow_deployment_' + text.replace('_', '__').replace('-', '_')


class FilterModule(object):
    """computenest.mlflow.deployment_group"""

    def filters(self):
        return {'deployment_group': deployment_group}
