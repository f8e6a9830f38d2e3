#!/usr/bin/env bash
# A throwaway PostgreSQL server on a loopback port, for the PostgreSQL host tests.
#
#   scripts/postgres.sh CMD [ARGS...]    start a server, run CMD with SHARDTALLY_PG_URL set, stop it
#   . scripts/postgres.sh; pg_start; ...; pg_stop     the same from another script
#
# With SHARDTALLY_PG_URL already set (e.g. postgresql://user:pass@host:5432/db), nothing is
# started: the tests use that server (each test creates and drops its own schema).
# Otherwise the server binaries come from the Debian packages (installed with apt-get when
# missing, as root), the cluster lives in a temporary directory (initdb, no fsync), listens on
# 127.0.0.1 only, on a free port, and everything is removed afterwards.

pg_bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && { pg_config --bindir; return 0; }
    return 1
}

pg_start() {
    if [ -n "${SHARDTALLY_PG_URL:-}" ]; then
        echo "[postgres] using SHARDTALLY_PG_URL (an existing server)"
        return 0
    fi
    local bin
    if ! bin=$(pg_bindir); then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "[postgres] installing the server (apt-get install postgresql)"
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || {
                echo "[postgres] FAILED: apt-get install postgresql" >&2
                echo "[postgres]   -> install PostgreSQL (Debian: apt-get install postgresql), or set SHARDTALLY_PG_URL" >&2
                return 1
            }
            bin=$(pg_bindir) || { echo "[postgres] FAILED: no initdb after installing" >&2; return 1; }
        else
            echo "[postgres] FAILED: no PostgreSQL server binaries found" >&2
            echo "[postgres]   -> install PostgreSQL (Debian: apt-get install postgresql), or set SHARDTALLY_PG_URL to a server" >&2
            return 1
        fi
    fi
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/shardtally-pg.XXXXXX")
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
    local as=()
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$PG_DIR"
        as=(runuser -u postgres --)
    fi
    PG_AS=("${as[@]}")
    PG_BIN=$bin
    if ! "${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1; then
        echo "[postgres] FAILED: initdb (log: $PG_DIR/initdb.log)" >&2
        cat "$PG_DIR/initdb.log" >&2
        return 1
    fi
    if ! "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
        -o "-h 127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null; then
        echo "[postgres] FAILED: pg_ctl start (log below)" >&2
        cat "$PG_DIR/server.log" >&2
        return 1
    fi
    export SHARDTALLY_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "[postgres] throwaway server on 127.0.0.1:$port ($("$bin/postgres" --version))"
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    unset PG_DIR SHARDTALLY_PG_URL
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    [ $# -gt 0 ] || { echo "usage: scripts/postgres.sh CMD [ARGS...]" >&2; exit 2; }
    trap pg_stop EXIT
    pg_start
    "$@"
fi
