#!/usr/bin/env bash
# Installs Debian packages non-interactively: directly as root, through sudo otherwise (sudo drops
# DEBIAN_FRONTEND, hence `env`). The one place the setup scripts install system packages.
# Usage: scripts/apt-install.sh PACKAGE...   (apt's output goes to stderr, so callers' stdout stays clean)
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
# Wait for another apt run (scripts/test.sh installs from steps that run side by side) rather
# than fail on its lock.
lock=(-o DPkg::Lock::Timeout=600)
{
  $SUDO apt-get "${lock[@]}" update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -qq "$@"
} >&2
