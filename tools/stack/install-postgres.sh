#!/usr/bin/env bash
# Installs PostgreSQL 15 with pgvector, pgTAP, pg_cron, plpgsql_check (for `supabase db lint`) and pg_prove on
# Debian/Ubuntu (run as root).
# pgvector is not packaged for Debian 12, so it is built from Debian's source package (trixie).
set -euo pipefail

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG_SHARE=/usr/share/postgresql/15/extension

have_everything() {
  [ -x /usr/lib/postgresql/15/bin/postgres ] &&
    [ -f "$PG_SHARE/pgtap.control" ] &&
    [ -f "$PG_SHARE/pg_cron.control" ] &&
    [ -f "$PG_SHARE/vector.control" ] &&
    [ -f "$PG_SHARE/plpgsql_check.control" ] &&
    command -v pg_prove >/dev/null
}

if have_everything; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  cat >&2 <<'MSG'
PostgreSQL 15 with pgvector, pgTAP, pg_cron and plpgsql_check is missing, and this is not root on
Debian/Ubuntu, so it cannot be installed automatically. Install, as an administrator:
  postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap postgresql-15-cron
  postgresql-15-plpgsql-check libtap-parser-sourcehandler-pgtap-perl, and pgvector 0.8 for PostgreSQL 15
  (https://github.com/pgvector/pgvector#installation).
MSG
  exit 3
fi

export DEBIAN_FRONTEND=noninteractive
echo "stack: installing PostgreSQL 15, pgTAP, pg_cron, plpgsql_check and pg_prove from Debian's packages" >&2
apt-get update -qq
apt-get install -y -qq postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap \
  postgresql-15-cron postgresql-15-plpgsql-check libtap-parser-sourcehandler-pgtap-perl \
  dpkg-dev make gcc >/dev/null

if [ ! -f "$PG_SHARE/vector.control" ]; then
  echo "stack: building pgvector from Debian's source package (trixie)" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  uris=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uris" ] || uris=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uris" ] || uris=http://deb.debian.org/debian
  mkdir -p "$work/lists/partial"
  echo "deb-src [trusted=yes] $uris trixie main" >"$work/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$work/lists")
  apt-get "${apt_opts[@]}" update -qq
  (cd "$work" && apt-get "${apt_opts[@]}" source -qq pgvector >/dev/null 2>&1)
  src=$(find "$work" -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
  make -s -C "$src" PG_CONFIG="$PG_CONFIG" >/dev/null
  make -s -C "$src" PG_CONFIG="$PG_CONFIG" install >/dev/null
fi

have_everything || {
  echo "stack: installation finished but something is still missing" >&2
  exit 1
}
echo "stack: PostgreSQL 15 with pgvector, pgTAP, pg_cron and plpgsql_check is installed" >&2
