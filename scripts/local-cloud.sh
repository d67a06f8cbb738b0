#!/usr/bin/env bash
# A local Alibaba Cloud on this machine: the API emulator with its container backend, so ECS instances are real
# Debian 12 systemd containers with sshd and RDS instances are real PostgreSQL containers.
#   scripts/local-cloud.sh up       start it in the background (resumes from its state file)
#   scripts/local-cloud.sh env      print the export lines that point the collection at it
#   scripts/local-cloud.sh status   say whether it is running
#   scripts/local-cloud.sh down     stop it and remove every container and network it made
# Its random access key and the token of its admin endpoint live in .cache/local-cloud/credentials (mode 0600) and
# never on a command line.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
DIR="$CACHE_DIR/local-cloud"
CREDENTIALS="$DIR/credentials"
PIDFILE="$DIR/emulator.pid"
PORT=${LOCAL_CLOUD_PORT:-18500}
CLOCK_SPEED=${LOCAL_CLOUD_CLOCK_SPEED:-20}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

ensure_credentials() {
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  if [ ! -f "$CREDENTIALS" ]; then
    (
      umask 077
      printf 'LOCAL_CLOUD_ACCESS_KEY=LTAI%s\nLOCAL_CLOUD_SECRET_KEY=%s\n' \
        "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
        "$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')" >"$CREDENTIALS"
    )
  fi
  # Credentials files written before the admin endpoint took a token get one.
  if ! grep -q '^LOCAL_CLOUD_ADMIN_TOKEN=' "$CREDENTIALS"; then
    printf 'LOCAL_CLOUD_ADMIN_TOKEN=%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')" >>"$CREDENTIALS"
  fi
  chmod 600 "$CREDENTIALS"
  # shellcheck disable=SC1090
  source "$CREDENTIALS"
}

print_env() {
  ensure_credentials
  cat <<EOF
export ALICLOUD_ACCESS_KEY=$LOCAL_CLOUD_ACCESS_KEY
export ALICLOUD_SECRET_KEY=$LOCAL_CLOUD_SECRET_KEY
export ALICLOUD_REGION=cn-hangzhou
export ALICLOUD_ENDPOINT=http://127.0.0.1:$PORT
export ALIBABA_CLOUD_ECS_METADATA_DISABLED=true
EOF
}

up() {
  if running; then
    echo "local cloud already running (pid $(cat "$PIDFILE")) at http://127.0.0.1:$PORT"
    return
  fi
  ensure_credentials
  "$ROOT/scripts/build-rds-image.sh"
  # The secret and the admin token reach the emulator through its environment, not its arguments.
  ALICLOUD_EMULATOR_SECRET="$LOCAL_CLOUD_SECRET_KEY" ALICLOUD_EMULATOR_ADMIN_TOKEN="$LOCAL_CLOUD_ADMIN_TOKEN" \
    setsid "$VENV/bin/alicloud-emulator" \
    --host 127.0.0.1 --port "$PORT" --access-key-id "$LOCAL_CLOUD_ACCESS_KEY" \
    --backend containers --clock-speed "$CLOCK_SPEED" --state-file "$DIR/state.json" \
    >"$DIR/emulator.log" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 50); do
    if grep -q "listening on" "$DIR/emulator.log" 2>/dev/null; then
      echo "local cloud up at http://127.0.0.1:$PORT (log: $DIR/emulator.log)"
      return
    fi
    running || break
    sleep 0.2
  done
  echo "local-cloud.sh: the emulator did not start; its log:" >&2
  cat "$DIR/emulator.log" >&2
  exit 1
}

down() {
  if running; then
    ensure_credentials
    # reset makes the container backend remove every container and network this emulator made, and only those.
    # The admin token goes to Python through its environment.
    LOCAL_CLOUD_ADMIN_TOKEN="$LOCAL_CLOUD_ADMIN_TOKEN" "$VENV/bin/python" -c 'import os, sys, urllib.request
request = urllib.request.Request(sys.argv[1], method="POST",
                                 headers={"Authorization": "Bearer " + os.environ["LOCAL_CLOUD_ADMIN_TOKEN"]})
urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=300).read()' \
      "http://127.0.0.1:$PORT/_emulator/reset"
    kill "$(cat "$PIDFILE")"
    for _ in $(seq 1 50); do running || break; sleep 0.2; done
  elif [ -f "$DIR/state.json" ]; then
    # Not running: clean up by the emulator id its saved resources carry.
    local emulator_id
    emulator_id=$("$VENV/bin/python" -c 'import json, sys
state = json.load(open(sys.argv[1]))
ids = {r.get("backend_data", {}).get("emulator_id") for kind in ("instances", "db_instances") for r in state.get(kind, [])}
print(" ".join(sorted(i for i in ids if i)))' "$DIR/state.json")
    for id in $emulator_id; do
      "$VENV/bin/python" -m alicloud_emulator.container_backend --cleanup --emulator-id "$id"
    done
  fi
  rm -f "$PIDFILE" "$DIR/state.json"
  echo "local cloud down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) print_env ;;
  status) if running; then echo "running (pid $(cat "$PIDFILE")) at http://127.0.0.1:$PORT"; else echo "stopped"; exit 3; fi ;;
  *) echo "usage: scripts/local-cloud.sh up|env|status|down" >&2; exit 2 ;;
esac
