#!/usr/bin/env bash
# Install the wifivip edge agent on Raspberry Pi OS (Debian bookworm, Python 3.11) as a systemd service.
# Installe le capteur wifivip sur Raspberry Pi OS comme service systemd.
#
#   sudo ./install.sh [--config FILE] [--credentials FILE] [--source DIR|WHEEL] [--constraints FILE]
#
# --config FILE       the sensor's configuration (from `python -m infra enroll-sensor`); without it the
#                     template is installed and must be edited before the service starts
# --credentials FILE  the sensor's AWS credentials file (enroll-sensor's .credentials), installed 0600
# --source DIR|WHEEL  the agent to install (default: the edge-agent folder this script belongs to)
# --constraints FILE  pinned versions (default: the repository's constraints.txt when found)
# Testing only: --root DIR (install under DIR), --skip-apt, --skip-systemd, --pip-args "ARGS".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT=""
CONFIG=""
CREDENTIALS=""
SOURCE="$(dirname "$HERE")"
CONSTRAINTS=""
[ -f "$SOURCE/../constraints.txt" ] && CONSTRAINTS="$(cd "$SOURCE/.." && pwd)/constraints.txt"
SKIP_APT=0
SKIP_SYSTEMD=0
PIP_ARGS=""

while [ $# -gt 0 ]; do
  case "$1" in
    --config) CONFIG="$2"; shift 2 ;;
    --credentials) CREDENTIALS="$2"; shift 2 ;;
    --source) SOURCE="$2"; shift 2 ;;
    --constraints) CONSTRAINTS="$2"; shift 2 ;;
    --root) ROOT="$2"; shift 2 ;;
    --skip-apt) SKIP_APT=1; shift ;;
    --skip-systemd) SKIP_SYSTEMD=1; shift ;;
    --pip-args) PIP_ARGS="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install.sh: option inconnue / unknown option: $1" >&2; exit 2 ;;
  esac
done

say() { echo "==> $*"; }
fail() { echo "install.sh: erreur / error: $*" >&2; exit 1; }

if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
  fail "lancer en root / run as root: sudo $0 $*"
fi
command -v python3 >/dev/null || fail "python3 introuvable / python3 not found"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || fail "Python 3.11 ou plus / Python 3.11 or newer needed"
[ -n "$CONFIG" ] && [ ! -f "$CONFIG" ] && fail "configuration absente / config not found: $CONFIG"
[ -n "$CREDENTIALS" ] && [ ! -f "$CREDENTIALS" ] && fail "identifiants absents / credentials not found: $CREDENTIALS"

PREFIX_OPT="$ROOT/opt/wifivip-edge"
PREFIX_ETC="$ROOT/etc/wifivip-edge"
UNIT_DIR="$ROOT/etc/systemd/system"

if [ "$SKIP_APT" -eq 0 ]; then
  say "Paquets Debian / Debian packages: python3-venv iw libpcap0.8"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq python3-venv iw libpcap0.8 >/dev/null
fi

say "Environnement Python / Python environment: $PREFIX_OPT/venv"
mkdir -p "$PREFIX_OPT"
python3 -m venv "$PREFIX_OPT/venv"
PIP=("$PREFIX_OPT/venv/bin/python" -m pip install --quiet --disable-pip-version-check)
[ -n "$CONSTRAINTS" ] && PIP+=(-c "$CONSTRAINTS")
# shellcheck disable=SC2206
[ -n "$PIP_ARGS" ] && PIP+=($PIP_ARGS)
"${PIP[@]}" "$SOURCE"
"$PREFIX_OPT/venv/bin/wifivip-edge" --version

say "Configuration: $PREFIX_ETC/wifivip-edge.toml"
mkdir -p "$PREFIX_ETC"
chmod 0750 "$PREFIX_ETC"
if [ -n "$CONFIG" ]; then
  install -m 0600 "$CONFIG" "$PREFIX_ETC/wifivip-edge.toml"
elif [ ! -f "$PREFIX_ETC/wifivip-edge.toml" ]; then
  install -m 0600 "$HERE/wifivip-edge.toml" "$PREFIX_ETC/wifivip-edge.toml"
  echo "    modèle installé : le modifier (sensor_id, bucket) / template installed: edit sensor_id and bucket"
fi

if [ -n "$CREDENTIALS" ]; then
  install -m 0600 "$CREDENTIALS" "$PREFIX_ETC/credentials"
fi

say "Service systemd / systemd unit: $UNIT_DIR/wifivip-edge.service"
mkdir -p "$UNIT_DIR"
sed "s#@PREFIX@#$ROOT#g" "$HERE/wifivip-edge.service" > "$UNIT_DIR/wifivip-edge.service"
chmod 0644 "$UNIT_DIR/wifivip-edge.service"

if [ "$SKIP_SYSTEMD" -eq 0 ]; then
  systemctl daemon-reload
  systemctl enable wifivip-edge.service
  if grep -q 'CHANGE-ME' "$PREFIX_ETC/wifivip-edge.toml"; then
    echo "    service activé mais pas démarré : compléter la configuration puis « systemctl start wifivip-edge »"
    echo "    service enabled, not started: finish the configuration, then 'systemctl start wifivip-edge'"
  else
    systemctl restart wifivip-edge.service
    say "Démarré / started. État / status: wifivip-edge status --config $PREFIX_ETC/wifivip-edge.toml"
  fi
fi
say "Terminé / done"
