#!/usr/bin/env bash
# Set up a packing station on a fresh 64-bit Raspberry Pi OS / Debian 12 (bookworm).
#
#   sudo ./setup-station.sh --config station.env --ca ca.crt --source /path/to/packline \
#        [--client-cert client.crt --client-key client.key] [--dry-run] [--root DIR]
#
# station.env, ca.crt (and the client certificate) come from
# `packline-provision enrol STATION --warehouse W` on the provisioning host.
# --source is a Packline checkout or wheel; it is installed with the edge and edge-hw
# extras into /opt/packline/venv. --dry-run prints the system-changing commands (apt,
# users, pip, systemctl, udevadm) instead of running them; --root installs files under
# DIR instead of / (both for testing).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
CONFIG="" CA="" SOURCE="$REPO_DIR" CLIENT_CERT="" CLIENT_KEY="" DRY_RUN=0 ROOT=""

die() { echo "setup-station: $*" >&2; exit 1; }
run() { if [ "$DRY_RUN" = 1 ]; then echo "+ $*"; else "$@"; fi; }

while [ $# -gt 0 ]; do
    case "$1" in
        --config) CONFIG="$2"; shift 2 ;;
        --ca) CA="$2"; shift 2 ;;
        --source) SOURCE="$2"; shift 2 ;;
        --client-cert) CLIENT_CERT="$2"; shift 2 ;;
        --client-key) CLIENT_KEY="$2"; shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        --root) ROOT="$2"; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) die "unknown option $1" ;;
    esac
done

[ -n "$CONFIG" ] && [ -f "$CONFIG" ] || die "--config station.env is required"
[ -n "$CA" ] && [ -f "$CA" ] || die "--ca ca.crt is required"
if [ -n "$CLIENT_CERT" ] || [ -n "$CLIENT_KEY" ]; then
    [ -f "$CLIENT_CERT" ] && [ -f "$CLIENT_KEY" ] || die "--client-cert and --client-key go together"
fi
if [ "$DRY_RUN" = 0 ]; then
    [ "$(id -u)" = 0 ] || die "run as root"
    case "$(uname -m)" in
        aarch64|x86_64) ;;
        *) die "a 64-bit OS is required (litestream ships no 32-bit ARM build)" ;;
    esac
fi

echo "== packages"
run apt-get update
run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    cage foot fonts-noto-cjk fonts-wqy-zenhei locales dbus python3 python3-venv python3-dev \
    gcc libusb-1.0-0 kbd ca-certificates
run sed -i 's/^# *zh_CN.UTF-8 UTF-8/zh_CN.UTF-8 UTF-8/' /etc/locale.gen
run locale-gen

echo "== users"
if ! getent group packline >/dev/null || [ "$DRY_RUN" = 1 ]; then
    run groupadd --system packline
fi
if ! getent passwd packline >/dev/null || [ "$DRY_RUN" = 1 ]; then
    run useradd --system --gid packline --home-dir /var/lib/packline --shell /usr/sbin/nologin packline
fi
if ! getent passwd packer >/dev/null || [ "$DRY_RUN" = 1 ]; then
    run useradd --create-home --shell /usr/sbin/nologin packer
fi
run usermod -aG packline,input,dialout,lp,video,render packer

echo "== directories and configuration"
install -d -m 0755 "$ROOT/etc/packline"
install -d -m 2770 "$ROOT/var/lib/packline" "$ROOT/var/lib/packline/cache"
run chown -R packline:packline /var/lib/packline
# station.env holds secrets; systemd reads EnvironmentFile= as root, so 0600 root.
install -m 0600 "$CONFIG" "$ROOT/etc/packline/station.env"
install -m 0644 "$CA" "$ROOT/etc/packline/ca.crt"
if [ -n "$CLIENT_CERT" ]; then
    install -m 0644 "$CLIENT_CERT" "$ROOT/etc/packline/client.crt"
    install -m 0640 "$CLIENT_KEY" "$ROOT/etc/packline/client.key"
    run chgrp packline /etc/packline/client.key
fi

echo "== Packline into /opt/packline/venv"
install -d -m 0755 "$ROOT/opt/packline"
run python3 -m venv /opt/packline/venv
run /opt/packline/venv/bin/pip install --upgrade pip
run /opt/packline/venv/bin/pip install "$SOURCE[edge,edge-hw]"

echo "== udev rules and PAM"
install -D -m 0644 "$SCRIPT_DIR/udev/99-packline.rules" "$ROOT/etc/udev/rules.d/99-packline.rules"
install -D -m 0644 "$SCRIPT_DIR/pam/packline-kiosk" "$ROOT/etc/pam.d/packline-kiosk"
run udevadm control --reload-rules
run udevadm trigger

echo "== systemd units"
for unit in packline-kiosk.service packline-sync.service packline-backup.service; do
    install -D -m 0644 "$REPO_DIR/systemd/$unit" "$ROOT/etc/systemd/system/$unit"
done
run systemctl daemon-reload
run systemctl disable getty@tty1.service
run systemctl set-default graphical.target
run systemctl enable packline-sync.service packline-backup.service packline-kiosk.service

echo "station set up; reboot, or: systemctl start packline-sync packline-backup packline-kiosk"
