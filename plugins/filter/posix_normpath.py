# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The posix_normpath filter: a target host's path in its plain form, without touching any file system."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: posix_normpath
author: computenest.mlflow contributors
version_added: 0.1.0
short_description: Normalise a POSIX path lexically
description:
  - Collapses repeated slashes, drops C(.) components and trailing slashes, and resolves C(..) against the component
    before it, without reading any file system (the path is one on the target host, not on the controller).
  - C(/..) is C(/); a path that starts with two slashes is treated like one starting with one.
  - A relative path stays relative.
options:
  _input:
    description: The path.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Compare a directory as the kernel resolves it
  ansible.builtin.debug:
    msg: "{{ '/data//mlflow/../../etc/' | computenest.mlflow.posix_normpath }}"
  # /etc
'''

RETURN = r'''
_value:
  description: The normalised path.
  type: str
'''

import posixpath

from ansible.module_utils.common.text.converters import to_text


def posix_normpath(path):
    """The lexically normalised POSIX path; '//x' (which POSIX leaves implementation-defined) becomes '/x'."""
    normalised = posixpath.normpath(to_text(path))
    if normalised.startswith('//'):
        normalised = '/' + normalised.lstrip('/')
    return normalised


class FilterModule(object):
    """computenest.mlflow.posix_normpath"""

    def filters(self):
        return {'posix_normpath': posix_normpath}
