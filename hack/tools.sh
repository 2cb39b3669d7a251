#!/usr/bin/env bash
# Test tools that are neither Go modules nor PyPI packages: promtool, from Debian's `prometheus`
# package. Only the promtool binary is extracted into the bin directory: installing the package
# would also install (and, where systemd runs, start) a Prometheus server. shellcheck and hadolint
# come from PyPI with the test extra. Without apt-get, or offline, the promtool tests skip and say
# why; nothing else depends on it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BIN_DIR=${TENDLC_BIN_DIR:-$root/.cache/bin}

if [ -x "$BIN_DIR/promtool" ] || command -v promtool >/dev/null 2>&1; then
  echo "tools: promtool present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "tools: no promtool and no apt-get/dpkg-deb here: the alert tests (promtool) will skip"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
download() { (cd "$work" && apt-get download prometheus >/dev/null 2>&1); }
if ! download; then
  if [ "$(id -u)" -eq 0 ] && apt-get update -qq >/dev/null 2>&1 && download; then
    :
  else
    echo "tools: could not download Debian's prometheus package: the alert tests (promtool) will skip"
    exit 0
  fi
fi
dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
mkdir -p "$BIN_DIR"
install -m 0755 "$work/root/usr/bin/promtool" "$BIN_DIR/promtool"
echo "tools: promtool $("$BIN_DIR/promtool" --version 2>&1 | head -1 | cut -d' ' -f3) in $BIN_DIR"
