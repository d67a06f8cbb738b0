#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, computenest.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: security_warning
short_description: Show a security warning as an Ansible warning
version_added: 0.1.0
description:
  - Emits each line of O(msg), prefixed with C(SECURITY:), as an Ansible warning, which the output and AWX set apart
    from ordinary task results, so a setting that weakens the deployment's security (plain HTTP, no
    authentication, MLflow's security middleware off) cannot pass unseen.
  - Changes nothing on the host.
author:
  - computenest.mlflow maintainers (@computenest)
options:
  msg:
    description:
      - The warning. Give one line per weakened setting, naming the variable that weakens it.
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    support: full
    description: Changes nothing; warns the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to compare.
'''

EXAMPLES = r'''
- name: Warn that MLflow serves plain HTTP
  computenest.mlflow.security_warning:
    msg:
      - "mlflow_server_tls_enabled is false: passwords cross the network in clear text."
  when: not (mlflow_server_tls_enabled | bool)
'''

RETURN = r'''
warnings_shown:
  description: The lines shown as warnings.
  returned: always
  type: list
  elements: str
  sample: ["mlflow_server_tls_enabled is false: passwords cross the network in clear text."]
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(msg=dict(type='list', elements='str', required=True)),
                           supports_check_mode=True)
    lines = [line for line in module.params['msg'] if line and line.strip()]
    if not lines:
        module.fail_json(msg='msg must hold at least one non-empty line')
    for line in lines:
        module.warn('SECURITY: ' + line)
    module.exit_json(changed=False, warnings_shown=lines)


if __name__ == '__main__':
    main()
