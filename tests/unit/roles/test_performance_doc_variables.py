"""docs/performance.md names only variables the roles have: every `<role>_...` name (for each role under roles/) must
be in that role's defaults/main.yml or meta/argument_specs.yml."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "performance.md"
# A role's name followed by more of a name, not part of a longer name (__internal) nor a file name (launcher.py).
FILE_SUFFIX = r"\.(?:py|yml|yaml|j2|sh|ini|conf|service)\b"


def _role_variables():
    variables = {}
    for role in sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir()):
        names = set()
        defaults = role / "defaults" / "main.yml"
        if defaults.exists():
            names |= set(yaml.safe_load(defaults.read_text(encoding="utf-8")) or {})
        specs = role / "meta" / "argument_specs.yml"
        if specs.exists():
            for entry in (yaml.safe_load(specs.read_text(encoding="utf-8"))["argument_specs"] or {}).values():
                names |= set(entry.get("options") or {})
        variables[role.name] = names
    return variables


def names_in(text, role_names):
    pattern = re.compile(r"(?<![\w/.-])((?:" + "|".join(map(re.escape, role_names)) + r")_[a-z0-9_]*[a-z0-9])"
                         r"(?!\w|" + FILE_SUFFIX + ")")
    return {match.group(1) for match in pattern.finditer(text)}


def test_the_pattern_finds_variables_and_skips_internals_and_files():
    text = "`mlflow_server_workers`, __mlflow_server_env_file, mlflow_server_launcher.py, x/mlflow_server/tasks"
    assert names_in(text, ["mlflow_server"]) == {"mlflow_server_workers"}


def test_every_variable_named_in_performance_doc_exists():
    variables = _role_variables()
    assert variables.get("mlflow_server"), "the mlflow_server role's variables were not found"
    named = names_in(DOC.read_text(encoding="utf-8"), list(variables))
    unknown = sorted(name for name in named
                     if not any(name.startswith(role + "_") and name in names for role, names in variables.items()))
    assert not unknown, f"docs/performance.md names variables no role has: {unknown}"
