# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The posix_parents filter: a target host's path, normalised, with every directory above it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: posix_parents
author: computenest.mlflow contributors
version_added: 0.1.0
short_description: List a POSIX path and the directories above it
description:
  - Normalises an absolute POSIX path as P(computenest.mlflow.posix_normpath#filter) does, then returns it with every
    directory above it, from C(/) down to the path itself.
  - Intersect the result with a list of protected directories to tell whether the path is, or lies under, one of
    them, comparing whole components (C(/etcetera) is not under C(/etc)).
  - A relative path gives the empty list.
options:
  _input:
    description: The path.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Refuse a directory that is, or lies under, /etc or /usr
  ansible.builtin.assert:
    that:
      - ('/srv/../etc/mlflow' | computenest.mlflow.posix_parents) | intersect(['/etc', '/usr']) | length == 0
'''

RETURN = r'''
_value:
  description: The directories from C(/) down to the normalised path.
  type: list
  elements: str
  sample: [/, /data, /data/mlflow, /data/mlflow/artifacts]
'''

from ansible_collections.computenest.mlflow.plugins.filter.posix_normpath import posix_normpath


def posix_parents(path):
    """['/', '/a', '/a/b'] for '/a/b' (normalised first); [] for a relative path."""
    normalised = posix_normpath(path)
    if not normalised.startswith('/'):
        return []
    parents = ['/']
    for component in normalised.strip('/').split('/'):
        if component:
            parents.append(parents[-1].rstrip('/') + '/' + component)
    return parents


class FilterModule(object):
    """computenest.mlflow.posix_parents"""

    def filters(self):
        return {'posix_parents': posix_parents}
