#!/usr/bin/env bash
# Debian packages the tests need, installed where missing (a new machine has none of them):
# Chromium for the web UI's tests (driven by playwright-core), HAProxy for the scale-out test.
# PostgreSQL is installed by .ci/postgres.sh when it starts one.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
  echo "system-packages.sh: installing ${missing[*]} from Debian's packages" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
