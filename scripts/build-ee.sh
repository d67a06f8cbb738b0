#!/usr/bin/env bash
# Prepares (and with --build, builds) the AWX execution environment defined in execution-environment.yml.
#   scripts/build-ee.sh            # build/ee/context: the Containerfile and everything it copies
#   scripts/build-ee.sh --build    # also runs `ansible-builder build` (needs podman or docker and the base image)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"
out="$ROOT/build/ee"
rm -rf "$out"
mkdir -p "$out"
ansible-galaxy collection build --force --output-path "$out" "$ROOT" >/dev/null
mv "$out"/computenest-mlflow-*.tar.gz "$out/computenest-mlflow.tar.gz"
ansible-builder create --file execution-environment.yml --context "$out/context" --output-filename Containerfile
if [ "${1:-}" = "--build" ]; then
  ansible-builder build --file execution-environment.yml --context "$out/context" --tag "${EE_TAG:-computenest-mlflow-ee:latest}"
fi
