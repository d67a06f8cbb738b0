# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cidr_list filter: a list of CIDRs given as a YAML list or as text (an AWX survey answer)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: cidr_list
author: computenest.mlflow contributors
version_added: 0.1.0
short_description: Read a list of CIDRs given as a YAML list or as text
description:
  - Returns the CIDRs of O(_input) as a list of strings.
  - A list is returned as it is, each element as a string, so a malformed element (one with a trailing newline, say)
    reaches the rules that check it instead of being silently repaired.
  - Text, such as the answer to an AWX text or textarea survey question, is split at commas, spaces, tabs and
    newlines; empty pieces are dropped. Without this, a string would be read character by character.
  - V(None) and the empty string give the empty list; any other value gives a one-element list of its text, which
    the role's CIDR rule then refuses.
  - The filter does not check the CIDRs themselves; the alicloud_infra role does that next.
options:
  _input:
    description: A list of CIDR strings, or text holding CIDRs separated by commas or white space.
    type: raw
    required: true
'''

EXAMPLES = r'''
- name: Text from an AWX textarea
  ansible.builtin.debug:
    msg: "{{ '203.0.113.0/24, 198.51.100.7/32\n192.0.2.0/28' | computenest.mlflow.cidr_list }}"
  # ['203.0.113.0/24', '198.51.100.7/32', '192.0.2.0/28']

- name: A YAML list is kept as given
  ansible.builtin.debug:
    msg: "{{ ['203.0.113.0/24'] | computenest.mlflow.cidr_list }}"
'''

RETURN = r'''
_value:
  description: The CIDRs, in the order given.
  type: list
  elements: str
'''

import re

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

_SEPARATORS = re.compile(r'[,\s]+')


def cidr_list(value):
    """Return the CIDRs of a list or of text separated by commas or white space, as a list of strings."""
    if value is None:
        return []
    if isinstance(value, string_types):
        return [piece for piece in _SEPARATORS.split(to_text(value)) if piece]
    if isinstance(value, (list, tuple)):
        return [to_text(element) for element in value]
    # Anything else (a number, a mapping) is one malformed entry, which the role's CIDR rule then refuses by name.
    return [to_text(value)]


class FilterModule(object):
    """computenest.mlflow.cidr_list"""

    def filters(self):
        return {'cidr_list': cidr_list}
