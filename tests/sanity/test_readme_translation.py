"""README.zh-CN.md stays in step with README.md: the same deployment parameters in the parameter table, and the same
commands. A parameter or a command added to (or dropped from) one front door and not the other fails here."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGLISH = os.path.join(ROOT, "README.md")
CHINESE = os.path.join(ROOT, "README.zh-CN.md")

# A command is a line (of a code block) that starts with one of these; its trailing "# comment" is not part of it.
COMMAND_PREFIXES = ("scripts/", "ansible-playbook ", "aliyun ", "export ALICLOUD_", "eval ", "ansible-galaxy ")
VARIABLE = re.compile(r"`((?:alicloud_infra|mlflow_server|mlflow_deploy)_[a-z0-9_]+)`")


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _section(text, heading):
    """The lines from a heading (any level) up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.lstrip("#").strip() == heading and line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body = []
            for following in lines[index + 1:]:
                stripped = following.lstrip("#")
                if following.startswith("#") and len(following) - len(stripped) <= level and stripped.startswith(" "):
                    break
                body.append(following)
            return body
    raise AssertionError("no heading %r" % heading)


def table_parameters(text, heading, column):
    """The variable named in the given column of every row of the parameter table under the heading."""
    found = []
    for line in _section(text, heading):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) > column:
            match = VARIABLE.search(cells[column])
            if match:
                found.append(match.group(1))
    return found


def commands(text):
    """Every command line, comments cut, continuation lines joined, whitespace collapsed."""
    found = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if pending:
            line = pending + " " + line
            pending = ""
        elif not line.startswith(COMMAND_PREFIXES):
            continue
        line = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
        if line.endswith("\\"):
            pending = line[:-1].strip()
            continue
        found.append(" ".join(line.split()))
    return found


def test_parse_finds_what_the_readme_holds():
    """The parsers are not vacuous: the English README's table and commands are found."""
    english = _read(ENGLISH)
    parameters = table_parameters(english, "Deployment parameters", 1)
    assert {"alicloud_infra_name", "alicloud_infra_ecs_password", "mlflow_server_artifacts_dir",
            "alicloud_infra_vswitch_id"} <= set(parameters)
    assert len(parameters) == 12, parameters  # the seed's twelve parameters
    found = commands(english)
    assert "scripts/demo.sh" in found
    assert "ansible-playbook -i inventory/mlflow.alicloud_ecs.yml playbooks/deploy.yml -e @my-deployment.yml" in found
    assert any(c.startswith("ansible-playbook -i inventory/mlflow.alicloud_ecs.yml playbooks/restore.yml") and
               "mlflow_restore_db_name=mlflow_restored" in c for c in found), found


def test_the_same_deployment_parameters_in_both():
    english = table_parameters(_read(ENGLISH), "Deployment parameters", 1)
    chinese = table_parameters(_read(CHINESE), "部署参数", 2)
    assert english == chinese, (
        "README.md and README.zh-CN.md list different deployment parameters (or in another order): only in README.md: "
        "%s; only in README.zh-CN.md: %s" % (sorted(set(english) - set(chinese)), sorted(set(chinese) - set(english))))


def test_the_same_commands_in_both():
    english, chinese = commands(_read(ENGLISH)), commands(_read(CHINESE))
    missing = [c for c in english if c not in chinese]
    extra = [c for c in chinese if c not in english]
    assert not missing and not extra, (
        "commands only in README.md: %s; commands only in README.zh-CN.md: %s" % (missing, extra))


@pytest.mark.parametrize("name", ["服务实例名称", "地域", "付费类型", "集群登录密码", "实例类型", "登录密码", "端口号", "共享目录",
                                  "可用区", "VPC ID", "交换机ID"])
def test_the_seed_names_each_parameter(name):
    """The Chinese table uses the seed's own names for the parameters."""
    rows = [line for line in _section(_read(CHINESE), "部署参数") if line.startswith("|")]
    assert any(name in row for row in rows), name


def test_the_mainland_pip_index_is_shown():
    chinese = _read(CHINESE)
    assert "mlflow_server_pip_index_url:" in chinese
    with open(os.path.join(ROOT, "roles", "mlflow_server", "defaults", "main.yml"), encoding="utf-8") as handle:
        assert re.search(r"^mlflow_server_pip_index_url:", handle.read(), re.M)
