"""The filters behind two validation rules: ingress open to everyone, and a directory under a protected tree."""
import pytest

from ansible_collections.computenest.mlflow.plugins.filter.ipv4_cidrs_cover_all import ipv4_cidrs_cover_all
from ansible_collections.computenest.mlflow.plugins.filter.posix_normpath import posix_normpath
from ansible_collections.computenest.mlflow.plugins.filter.posix_parents import posix_parents


@pytest.mark.parametrize('cidrs', [
    ['0.0.0.0/0'],
    ['0.0.0.0/1', '128.0.0.0/1'],
    ['128.0.0.0/1', '0.0.0.0/2', '64.0.0.0/2'],
    ['%d.0.0.0/8' % first for first in range(256)],
    ['0.0.0.0/1', '128.0.0.0/1', '203.0.113.0/24'],
    ['10.1.2.3/0'],  # host bits are ignored, as a security group reads the rule
    ['0.0.0.0/1', '128.0.0.0/2', '192.0.0.0/2', 'not-a-cidr'],
])
def test_unions_that_admit_everyone_are_told(cidrs):
    assert ipv4_cidrs_cover_all(cidrs) is True


@pytest.mark.parametrize('cidrs', [
    [],
    ['203.0.113.0/24'],
    ['0.0.0.0/1'],
    ['0.0.0.0/1', '128.0.0.0/2', '192.0.0.0/3'],
    ['%d.0.0.0/8' % first for first in range(255)],  # one /8 short of everything
    ['0.0.0.0/1', '128.0.0.0/1\n'],  # not an IPv4 CIDR: skipped here, refused by the pattern rule
])
def test_unions_that_leave_addresses_out_are_not(cidrs):
    assert ipv4_cidrs_cover_all(cidrs) is False


@pytest.mark.parametrize('path, expected', [
    ('/data/mlflow/artifacts', '/data/mlflow/artifacts'),
    ('/data//mlflow///artifacts/', '/data/mlflow/artifacts'),
    ('/data/./mlflow/.', '/data/mlflow'),
    ('/data/mlflow/../../etc', '/etc'),
    ('/..', '/'),
    ('//', '/'),
    ('//etc', '/etc'),
    ('///usr/lib', '/usr/lib'),
    ('data/x', 'data/x'),
])
def test_paths_are_normalised_lexically(path, expected):
    assert posix_normpath(path) == expected


@pytest.mark.parametrize('path, expected', [
    ('/', ['/']),
    ('/data/mlflow/artifacts', ['/', '/data', '/data/mlflow', '/data/mlflow/artifacts']),
    ('/data//mlflow/./../etc/', ['/', '/data', '/data/etc']),
    ('/srv/../etc/mlflow', ['/', '/etc', '/etc/mlflow']),
    ('/etcetera', ['/', '/etcetera']),
    ('relative/dir', []),
])
def test_parents_run_from_the_root_to_the_normalised_path(path, expected):
    assert posix_parents(path) == expected
