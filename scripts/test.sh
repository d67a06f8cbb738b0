#!/usr/bin/env bash
# The whole test suite: brings the machine to ready (scripts/bootstrap.sh), then one pytest session runs lint,
# sanity, unit, emulator, integration and molecule tests. Extra arguments go to pytest
# (e.g. scripts/test.sh -m "not docker" for the quick loop). Two workers: the docker tests run in order on one of
# them (conftest.py groups them), everything else on the other.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/bootstrap.sh"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"
exec pytest -n 2 --dist loadgroup "$@"
