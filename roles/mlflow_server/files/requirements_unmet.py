#!/usr/bin/env python
"""Print, as a JSON list, which of the requirement specifiers given as arguments this Python does not satisfy.

Each specifier (e.g. "mlflow[auth]==3.17.2") is unmet when its distribution is missing or its version is outside
the specifier, or when a requirement pulled in by one of its requested extras is missing or out of range. The
mlflow_server role runs pip only when this list is not empty: a no-op `pip install` of MLflow's dependency tree
takes far longer than this check. It uses only the standard library and the packaging copy vendored in pip.
"""
import json
import sys
from importlib import metadata

from pip._vendor.packaging.requirements import Requirement


def satisfied(requirement, extra=None):
    if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra or ""}):
        return True
    try:
        installed = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        return False
    return requirement.specifier.contains(installed, prereleases=True)


def unmet(specifier):
    requirement = Requirement(specifier)
    if not satisfied(requirement):
        return True
    for extra in requirement.extras:
        for line in metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            if dependency.marker is not None and dependency.marker.evaluate({"extra": extra}) \
                    and not satisfied(dependency, extra):
                return True
    return False


if __name__ == "__main__":
    json.dump([spec for spec in sys.argv[1:] if unmet(spec)], sys.stdout)
    sys.stdout.write("\n")
