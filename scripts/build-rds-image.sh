#!/usr/bin/env bash
# Builds the local "RDS PostgreSQL" image used by the emulator's container backend: PostgreSQL 15 from Debian's
# mirror on top of $MLFLOW_TEST_IMAGE, with the postmaster as the container's main process (no systemd needed, so
# it starts in about a second). The backend writes pg_hba.conf from the instance's whitelist and manages roles and
# databases through psql on stdin. Skipped when the image exists and was built from the current base image.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
RDS_IMAGE=${MLFLOW_RDS_IMAGE:-computenest-mlflow/rds-postgresql:15}

base_id=$(docker image inspect --format '{{.Id}}' "$MLFLOW_TEST_IMAGE" 2>/dev/null) || {
  echo "[build-rds-image] base image $MLFLOW_TEST_IMAGE missing: run scripts/build-image.sh first" >&2
  exit 1
}
built_from=$(docker image inspect --format '{{index .Config.Labels "computenest.base-image"}}' "$RDS_IMAGE" 2>/dev/null || true)
if [ "$built_from" = "$base_id" ]; then
  echo "[build-rds-image] $RDS_IMAGE present"
  exit 0
fi

context=$(mktemp -d /var/tmp/rds-image.XXXXXX)
trap 'rm -rf "$context"' EXIT
cat >"$context/Dockerfile" <<'DOCKERFILE'
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG BASE_IMAGE_ID
LABEL computenest.base-image=${BASE_IMAGE_ID}
# initdb takes its encoding from the locale: without this the cluster would be SQL_ASCII.
ENV LANG=C.UTF-8 LC_ALL=C.UTF-8
# policy-rc.d keeps the package scripts from starting a postmaster inside the build container.
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15 \
 && rm -f /usr/sbin/policy-rc.d && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && install -d -o postgres -g postgres -m 2775 /run/postgresql
# Listen on every address (pg_hba.conf, written by the backend from the whitelist, decides who gets in). Never log
# a failing statement: CREATE/ALTER ROLE statements carry account passwords.
RUN printf "%s\n" "listen_addresses = '*'" "password_encryption = scram-sha-256" \
      "log_min_error_statement = panic" "log_line_prefix = '%m [%p] %q%u@%d '" \
      >/etc/postgresql/15/main/conf.d/50-computenest-emulator.conf \
 && printf "%s\n" "local all postgres peer" "host all all 127.0.0.1/32 scram-sha-256" \
      >/etc/postgresql/15/main/pg_hba.conf \
 && chown postgres:postgres /etc/postgresql/15/main/pg_hba.conf /etc/postgresql/15/main/conf.d/50-computenest-emulator.conf \
 && chmod 640 /etc/postgresql/15/main/pg_hba.conf
USER postgres
# SIGINT is PostgreSQL's fast shutdown: docker stop then takes a second instead of waiting for clients.
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["/usr/lib/postgresql/15/bin/postgres", "-c", "config_file=/etc/postgresql/15/main/postgresql.conf"]
DOCKERFILE

echo "[build-rds-image] building $RDS_IMAGE from $MLFLOW_TEST_IMAGE"
# The classic builder uses the local base image as is (BuildKit may try to resolve it in a registry).
DOCKER_BUILDKIT=0 docker build --quiet --build-arg "BASE_IMAGE=$MLFLOW_TEST_IMAGE" --build-arg "BASE_IMAGE_ID=$base_id" \
  -t "$RDS_IMAGE" "$context" >"$context/build.log" 2>&1 || {
  tail -n 40 "$context/build.log" >&2
  exit 1
}
echo "[build-rds-image] done"
