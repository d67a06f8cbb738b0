#!/usr/bin/env bash
# The main job, with no cloud account: brings up the local Alibaba Cloud (scripts/local-cloud.sh) and runs the
# unmodified playbooks/deploy.yml against it, ending with a working MLflow tracking URI.
#   scripts/demo.sh           deploy (again: converges with no change)
#   scripts/demo.sh destroy   run playbooks/destroy.yml, then stop the local cloud
# The demo's passwords are generated once into .cache/local-cloud/demo-deployment.yml (mode 0600).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/bootstrap.sh"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"
DIR="$CACHE_DIR/local-cloud"
VARS="$DIR/demo-deployment.yml"

random_password() {
  # 20 characters with upper, lower, digits and a special: meets the seed's rule (8-30, three of four classes).
  printf '%s%s' "$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 18)" 'a#'
}

write_demo_vars() {
  [ -f "$VARS" ] && return
  mkdir -p "$DIR"
  (
    umask 077
    cat >"$VARS" <<EOF
---
# The local demo's deployment parameters (the seed's table; see README.md).
alicloud_infra_name: mlflow-demo
alicloud_infra_region: cn-hangzhou
alicloud_infra_zone_id: cn-hangzhou-h
alicloud_infra_pay_type: PostPaid
alicloud_infra_ecs_instance_type: ecs.g7.large
alicloud_infra_ecs_password: "$(random_password)"
alicloud_infra_rds_instance_class: pg.n2.2c.1m
alicloud_infra_rds_password: "$(random_password)"
alicloud_infra_mlflow_port: 5000
mlflow_server_artifacts_dir: /data/mlflow/artifacts
# The controller reaches the local cloud's "public" addresses from 198.18.0.0/15 (see emulator/CONTAINER_BACKEND.md).
alicloud_infra_ssh_allowed_cidrs: [198.18.0.0/15]
alicloud_infra_mlflow_allowed_cidrs: [198.18.0.0/15]
mlflow_deploy_secrets_dir: $DIR/secrets/mlflow-demo
EOF
  )
}

"$ROOT/scripts/local-cloud.sh" up
eval "$("$ROOT/scripts/local-cloud.sh" env)"
write_demo_vars

if [ "${1:-}" = "destroy" ]; then
  ansible-playbook -i inventory/mlflow.alicloud_ecs.yml playbooks/destroy.yml -e "@$VARS"
  "$ROOT/scripts/local-cloud.sh" down
  exit 0
fi
# The local cloud charges nothing: approve its estimate up front (also for vars files written by older demos).
ansible-playbook -i inventory/mlflow.alicloud_ecs.yml playbooks/deploy.yml -e "@$VARS" -e mlflow_deploy_approve_cost=true
cat <<EOF

The server speaks https with a self-signed certificate made once on the host (its SHA-256 fingerprint is printed
above). The MLflow client trusts it through:
  export MLFLOW_TRACKING_SERVER_CERT_PATH=$DIR/secrets/mlflow-demo/mlflow-server.crt
(mlflow_server_tls_enabled: false in $VARS is the seed's plain http://IP:5000, with a warning.)

The local cloud keeps running in the background:
  scripts/local-cloud.sh status     # is it up
  eval "\$(scripts/local-cloud.sh env)" && ansible-inventory -i inventory/mlflow.alicloud_ecs.yml --graph
  scripts/demo.sh destroy           # remove the deployment and stop the local cloud
EOF
