#!/usr/bin/env bash
# Brings a fresh Debian 12 machine (root) to a ready environment for the demo and the test suite:
#   1. OS packages: Docker engine, debootstrap, rsync, sshpass, Chromium and certutil (the UI browser test)
#   2. the Docker engine, started if it is not answering
#   3. the controller virtualenv (.venv) with requirements-test.txt and the local Alibaba Cloud emulator
#   4. the local Debian 12 systemd image and the local cloud's RDS image, built once and cached
#   5. ansible-test's pip bootstrap stand-in, and the collection linked into .cache/collections
# Every step skips work that is already done, so running it again costs seconds.
# Usage: scripts/bootstrap.sh [--no-image]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

build_image=1
for arg in "$@"; do
  case "$arg" in
    --no-image) build_image=0 ;;
    *) echo "bootstrap.sh: unknown argument '$arg' (known: --no-image)" >&2; exit 2 ;;
  esac
done

log() { printf '[bootstrap %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

install_os_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io containerd runc iptables)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v rsync >/dev/null 2>&1 || missing+=(rsync)
  # Ansible hands a password to ssh through sshpass (on a pipe, never in argv) for the first login to a new ECS host.
  command -v sshpass >/dev/null 2>&1 || missing+=(sshpass)
  command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
  # The UI browser test drives Debian's headless Chromium (never a downloaded browser build) and trusts the
  # deployment's certificate through an NSS database made with certutil.
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
  if [ ${#missing[@]} -eq 0 ]; then
    log "OS packages present"
    return
  fi
  log "installing OS packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_docker() {
  if docker info >/dev/null 2>&1; then
    log "Docker engine answering"
    return
  fi
  log "starting the Docker engine (log: $CACHE_DIR/dockerd.log)"
  mkdir -p "$CACHE_DIR"
  # containerd is started by dockerd itself when no system containerd runs.
  setsid /usr/sbin/dockerd --storage-driver=overlay2 >"$CACHE_DIR/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && { log "Docker engine up"; return; }
    sleep 1
  done
  echo "bootstrap.sh: the Docker engine did not answer within 60 s; last lines of its log:" >&2
  tail -n 30 "$CACHE_DIR/dockerd.log" >&2
  exit 1
}

setup_venv() {
  # The stamp records what was installed, so an unchanged venv is not touched again.
  local stamp="$VENV/.requirements.sha256" want
  local inputs=("$ROOT/requirements.txt" "$ROOT/requirements-test.txt")
  [ -f "$ROOT/emulator/pyproject.toml" ] && inputs+=("$ROOT/emulator/pyproject.toml")
  want=$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "virtualenv up to date ($VENV)"
    return
  fi
  log "installing the controller virtualenv ($VENV)"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q -r "$ROOT/requirements-test.txt"
  if [ -f "$ROOT/emulator/pyproject.toml" ]; then
    "$VENV/bin/pip" install -q -e "$ROOT/emulator"
  fi
  echo "$want" >"$stamp"
}

install_ansible_test_pip_standin() {
  # ansible-test downloads a get-pip script from a host that is not reachable here; it uses a cached copy
  # when one exists. Ours bootstraps pip from ensurepip instead (see scripts/get_pip_standin.py).
  # The pip version ansible-test bootstraps is its default_packages entry (24.2 for ansible-core 2.19).
  local pip_version
  pip_version=$("$VENV/bin/python" - <<'PY'
import pathlib, re
import ansible_test
source = pathlib.Path(ansible_test.__file__).parent.joinpath("_internal", "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", source).group(1))
PY
)
  local target="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
  mkdir -p "$(dirname "$target")"
  cp "$ROOT/scripts/get_pip_standin.py" "$target"
  log "ansible-test pip stand-in at $target"
}

link_collection() {
  # Ansible finds computenest.mlflow through ANSIBLE_COLLECTIONS_PATH (scripts/env.sh) pointing here.
  local dir="$CACHE_DIR/collections/ansible_collections/computenest"
  mkdir -p "$dir"
  ln -sfn "$ROOT" "$dir/mlflow"
}

install_os_packages
start_docker
setup_venv
install_ansible_test_pip_standin
link_collection
if [ "$build_image" = 1 ]; then
  "$ROOT/scripts/build-image.sh"
  # The local cloud's RDS instances: PostgreSQL 15 on top of the same base image.
  "$ROOT/scripts/build-rds-image.sh"
fi
log "ready: source scripts/env.sh to use the venv and the collection"
