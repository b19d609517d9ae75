#!/usr/bin/env bash
# Debian packages the tests start as real processes: HAProxy (the load balancer of
# test/scaleout.test.ts and bench/scaleout.ts). PostgreSQL is .ci/postgres.sh's. Installs only
# what is missing, so a machine that has them needs neither root nor the network.
set -euo pipefail
missing=()
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
