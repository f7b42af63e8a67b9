#!/usr/bin/env bash
# Installs PgBouncer (Debian's package) for the local stack's pooler on Debian/Ubuntu (run as root).
# The package's own service is left stopped: the stack runs its own PgBouncer with its own ini.
set -euo pipefail

# Debian puts it in /usr/sbin; elsewhere it is on PATH (bash's command -v alone would also name a
# file there that cannot run).
have_pgbouncer() {
  local found
  [ -x /usr/sbin/pgbouncer ] || { found=$(command -v pgbouncer) && [ -x "$found" ]; }
}

if have_pgbouncer; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  cat >&2 <<'MSG'
PgBouncer is missing, and this is not root on Debian/Ubuntu, so it cannot be installed
automatically. Install it as an administrator (apt-get install pgbouncer; on macOS brew install
pgbouncer), or start the stack without the pooler (no --pooler, LOCAL_STACK_POOLER unset).
MSG
  exit 3
fi

export DEBIAN_FRONTEND=noninteractive
echo "stack: installing PgBouncer from Debian's packages" >&2
apt-get update -qq
apt-get install -y -qq pgbouncer >/dev/null
# Debian's package may start its own service on 6432; the stack's PgBouncer is another process.
if command -v service >/dev/null && service pgbouncer status >/dev/null 2>&1; then
  service pgbouncer stop >/dev/null 2>&1 || true
fi

have_pgbouncer || {
  echo "stack: installation finished but pgbouncer is still missing" >&2
  exit 1
}
echo "stack: PgBouncer is installed" >&2
