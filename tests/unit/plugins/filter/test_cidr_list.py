"""The cidr_list filter reads a CIDR list given as a YAML list or as AWX survey text."""
import pytest

from ansible_collections.computenest.mlflow.plugins.filter.cidr_list import FilterModule, cidr_list


@pytest.mark.parametrize('text, expected', [
    ('203.0.113.0/24', ['203.0.113.0/24']),
    ('203.0.113.0/24,198.51.100.7/32', ['203.0.113.0/24', '198.51.100.7/32']),
    ('203.0.113.0/24, 198.51.100.7/32', ['203.0.113.0/24', '198.51.100.7/32']),
    ('203.0.113.0/24 198.51.100.7/32', ['203.0.113.0/24', '198.51.100.7/32']),
    ('203.0.113.0/24\n198.51.100.7/32\n', ['203.0.113.0/24', '198.51.100.7/32']),
    ('\t203.0.113.0/24 ,\r\n ,198.51.100.7/32,,', ['203.0.113.0/24', '198.51.100.7/32']),
    (u'203.0.113.0/24', ['203.0.113.0/24']),
])
def test_text_is_split_at_commas_and_white_space(text, expected):
    assert cidr_list(text) == expected


@pytest.mark.parametrize('empty', [None, '', ' ', '\n', ',', []])
def test_nothing_given_is_the_empty_list(empty):
    assert cidr_list(empty) == []


def test_a_list_is_kept_as_given_so_the_rules_still_see_bad_elements():
    # A string is not read character by character, and a list element is not silently repaired.
    assert cidr_list(['203.0.113.0/24', '198.51.100.7/32\n']) == ['203.0.113.0/24', '198.51.100.7/32\n']
    assert cidr_list(('10.0.0.0/8',)) == ['10.0.0.0/8']
    assert cidr_list([8]) == ['8']


def test_other_values_become_one_entry_that_the_cidr_rule_refuses():
    assert cidr_list(24) == ['24']
    assert cidr_list({'a': 1}) == ["{'a': 1}"]


def test_the_filter_is_registered_under_its_documented_name():
    assert FilterModule().filters() == {'cidr_list': cidr_list}
