"""Two deployments never share an inventory group: the deployment_group filter is one to one, and refuses the names
for which it could not be."""
import itertools

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.computenest.mlflow.plugins.filter.deployment_group import FilterModule, deployment_group


def test_hyphen_and_underscore_names_get_different_groups():
    assert deployment_group("my-app") == "mlflow_deployment_my_app"
    assert deployment_group("my_app") == "mlflow_deployment_my__app"
    assert deployment_group("mlflow") == "mlflow_deployment_mlflow"
    assert FilterModule().filters()["deployment_group"] is deployment_group


def test_no_two_accepted_names_share_a_group():
    names = ["".join(chars) for length in range(1, 6) for chars in itertools.product("a-_", repeat=length)]
    groups = {}
    for name in names:
        try:
            group = deployment_group(name)
        except AnsibleFilterError:
            continue
        assert group not in groups, (name, groups.get(group))
        groups[group] = name
    assert len(groups) > 50


@pytest.mark.parametrize("name", ["my--app", "my_-app", "my-_app", "my__app", "my app", "my.app", "", None])
def test_names_whose_group_could_be_shared_are_refused_naming_the_parameter(name):
    with pytest.raises(AnsibleFilterError, match="alicloud_infra_name"):
        deployment_group(name)
