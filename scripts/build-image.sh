#!/usr/bin/env bash
# Builds the local Debian 12 image with systemd as PID 1 and sshd, used by molecule and by the local cloud's ECS
# instances. No registry is reachable, so the root filesystem comes from debootstrap. Skipped when the image exists.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$MLFLOW_TEST_IMAGE" >/dev/null 2>&1; then
  echo "[build-image] $MLFLOW_TEST_IMAGE present"
  exit 0
fi

work=$(mktemp -d /var/tmp/debian12-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
echo "[build-image] debootstrap bookworm into $rootfs"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,python3,python3-apt,sudo,dbus,ca-certificates,iproute2,procps,openssh-server,curl \
  bookworm "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 40 "$work/debootstrap.log" >&2
  exit 1
}

: >"$rootfs/etc/machine-id"
cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main
EOF
# Where HTTPS leaves this machine through a re-signing proxy, the container must trust its CA as the host does.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates >/dev/null
  mkdir -p "$rootfs/etc"
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
fi
# Host keys are made per container at first boot (ssh-keygen -A in sshd's unit), never baked into the image.
rm -f "$rootfs"/etc/ssh/ssh_host_*
mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
# The stock unit runs `sshd -t` first, which fails without host keys: make the keys, then test the config.
cat >"$rootfs/etc/systemd/system/ssh.service.d/hostkeys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF
# Units that make no sense in a container and slow its boot.
for unit in systemd-udevd.service systemd-udev-trigger.service getty@tty1.service; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

echo "[build-image] importing as $MLFLOW_TEST_IMAGE"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV container=docker' \
  --change 'CMD ["/lib/systemd/systemd"]' - "$MLFLOW_TEST_IMAGE" >/dev/null
echo "[build-image] done"
