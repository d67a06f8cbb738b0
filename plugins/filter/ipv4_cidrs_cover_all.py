# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ipv4_cidrs_cover_all filter: whether a set of IPv4 CIDRs together admits the whole internet."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: ipv4_cidrs_cover_all
author: computenest.mlflow contributors
version_added: 0.1.0
short_description: Tell whether IPv4 CIDRs together cover the whole IPv4 address space
description:
  - Returns V(true) when the union of the CIDRs in O(_input) is C(0.0.0.0/0), comparing address space rather than
    strings, so C(0.0.0.0/1) with C(128.0.0.0/1), or 256 C(/8) blocks, count as open to everyone just like
    C(0.0.0.0/0).
  - Host bits are ignored (C(10.0.0.1/8) counts as C(10.0.0.0/8)), as a security group rule reads them.
  - Entries that are not IPv4 CIDRs are skipped; check them with a pattern first.
options:
  _input:
    description: IPv4 CIDRs, such as the output of P(computenest.mlflow.cidr_list#filter).
    type: list
    elements: str
    required: true
'''

EXAMPLES = r'''
- name: Refuse ingress that admits the whole internet, however it is split
  ansible.builtin.assert:
    that:
      - not (['0.0.0.0/1', '128.0.0.0/1'] | computenest.mlflow.ipv4_cidrs_cover_all)
'''

RETURN = r'''
_value:
  description: Whether the CIDRs together admit every IPv4 address.
  type: bool
'''

import ipaddress
import re

from ansible.module_utils.common.text.converters import to_text

_DIGITS_DOTS_SLASH = re.compile(r'[0-9./]+\Z')
_EVERYTHING = ipaddress.IPv4Network(u'0.0.0.0/0')


def ipv4_networks(cidrs):
    """The IPv4 networks of the entries that are IPv4 CIDRs, host bits cleared."""
    networks = []
    for cidr in cidrs or []:
        cidr = to_text(cidr)
        # ipaddress forgives surrounding white space; a security group rule does not, so such entries are skipped.
        if not _DIGITS_DOTS_SLASH.match(cidr):
            continue
        try:
            networks.append(ipaddress.IPv4Network(cidr, strict=False))
        except ValueError:
            continue
    return networks


def ipv4_cidrs_cover_all(cidrs):
    """True when the union of the IPv4 CIDRs is the whole IPv4 address space."""
    return list(ipaddress.collapse_addresses(ipv4_networks(cidrs))) == [_EVERYTHING]


class FilterModule(object):
    """computenest.mlflow.ipv4_cidrs_cover_all"""

    def filters(self):
        return {'ipv4_cidrs_cover_all': ipv4_cidrs_cover_all}
