# Sourced by the project's scripts (and by people: `source scripts/env.sh`) to use the controller venv and
# this checkout as the computenest.mlflow collection. Safe to source more than once.
_env_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PROJECT_ROOT="$_env_root"
export VENV="${VENV:-$_env_root/.venv}"
export CACHE_DIR="${CACHE_DIR:-$_env_root/.cache}"
export MLFLOW_TEST_IMAGE="${MLFLOW_TEST_IMAGE:-computenest-mlflow/debian12-systemd:bookworm-3}"
export MLFLOW_RDS_IMAGE="${MLFLOW_RDS_IMAGE:-computenest-mlflow/rds-postgresql:15}"
export ANSIBLE_COLLECTIONS_PATH="$CACHE_DIR/collections${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}"
export ANSIBLE_ROLES_PATH="$_env_root/roles"
# The mlflow_server role's wheel cache on this controller: the first host of a run builds MLflow's wheels once, every
# later host (local-cloud deploys, tests, benches) installs from them offline.
export MLFLOW_SERVER_WHEEL_CACHE_DIR="${MLFLOW_SERVER_WHEEL_CACHE_DIR:-$CACHE_DIR/wheels}"
# Both Alibaba SDKs send loopback traffic through a proxy when one is set, and the Tea credential chain would try the
# ECS metadata address: neither is wanted against the local emulator.
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy
export ALIBABA_CLOUD_ECS_METADATA_DISABLED=true
if [ -d "$VENV/bin" ]; then
  case ":$PATH:" in
    *":$VENV/bin:"*) ;;
    *) export PATH="$VENV/bin:$PATH" ;;
  esac
  export VIRTUAL_ENV="$VENV"
fi
unset _env_root
