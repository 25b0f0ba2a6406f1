#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the database tests.
#   pg_cluster.sh start DIR   initdb into a new temporary directory (its path in
#                             DIR/cluster; short, for the socket's path, and open to
#                             the server's user), start the server on a free loopback
#                             port and a Unix socket there, with password (SCRAM)
#                             authentication for every connection; create the role
#                             `segmenta` (password in DIR/password) and its database
#                             `segmenta`; write DIR/uri (the URI without password) and
#                             DIR/env (PGHOST, PGPORT... for psql)
#   pg_cluster.sh stop DIR    stop the server (immediately), remove it and DIR
# initdb and postgres refuse to run as root: as root, the server runs as the user
# `postgres` (Debian's postgresql package creates it) through runuser.
set -euo pipefail
cmd=${1:?usage: pg_cluster.sh start|stop DIR}
dir=${2:?usage: pg_cluster.sh start|stop DIR}

bindir=""
if command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then
  bindir=$(pg_config --bindir)
else
  for d in /usr/lib/postgresql/*/bin; do [[ -x "$d/initdb" ]] && bindir=$d; done
fi
[[ -n "$bindir" ]] || { echo "pg_cluster: initdb not found (install postgresql: scripts/setup)" >&2; exit 1; }

as_server=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || { echo "pg_cluster: running as root needs the user postgres" >&2; exit 1; }
  as_server=(runuser -u postgres --)
fi

case "$cmd" in
  start)
    bash "$0" stop "$dir"
    mkdir -p "$dir"
    cluster=$(mktemp -d "${TMPDIR:-/tmp}/segmenta-pg.XXXXXX")
    echo "$cluster" > "$dir/cluster"
    chmod 755 "$cluster"
    # Passwords: the superuser's and the test role's (random per cluster).
    head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$cluster/superuser_password"
    head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$dir/password"
    [[ ${#as_server[@]} -eq 0 ]] || chown postgres "$cluster" "$cluster/superuser_password"
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${as_server[@]}" "$bindir/initdb" -D "$cluster/data" -U postgres --auth=scram-sha-256 \
      --pwfile="$cluster/superuser_password" -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    "${as_server[@]}" "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
      -o "-p $port -k $cluster -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || { cat "$cluster/server.log" >&2; exit 1; }
    PGPASSWORD=$(cat "$cluster/superuser_password") "$bindir/psql" -X -q -v ON_ERROR_STOP=1 \
      -h 127.0.0.1 -p "$port" -U postgres -d postgres \
      -c "CREATE ROLE segmenta LOGIN PASSWORD '$(cat "$dir/password")'" \
      -c "CREATE DATABASE segmenta OWNER segmenta"
    echo "postgresql://segmenta@127.0.0.1:$port/segmenta" > "$dir/uri"
    printf 'PGHOST=127.0.0.1\nPGPORT=%s\nPGUSER=segmenta\nPGDATABASE=segmenta\nPGBINDIR=%s\nSOCKET_DIR=%s\n' \
      "$port" "$bindir" "$cluster" > "$dir/env"
    echo "pg_cluster: server on 127.0.0.1:$port and $cluster (log: $cluster/server.log)"
    ;;
  stop)
    if [[ -f "$dir/cluster" ]]; then
      cluster=$(cat "$dir/cluster")
      if [[ -f "$cluster/data/postmaster.pid" ]]; then
        "${as_server[@]}" "$bindir/pg_ctl" -D "$cluster/data" -m immediate -w stop >/dev/null || true
      fi
      [[ "$cluster" == */segmenta-pg.* ]] && rm -rf "$cluster"
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg_cluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac
