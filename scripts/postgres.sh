#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests (issue 12): loopback only, a
# temporary directory, trust authentication, fsync off (a test cluster, never data
# anyone keeps).
#
#   scripts/postgres.sh start   installs Debian's postgresql-15 when it is missing,
#                               starts a cluster and prints, for `eval`:
#                                 export LATCHKEY_TEST_PG_URL=postgres://postgres@127.0.0.1:PORT/postgres
#                                 export LATCHKEY_TEST_PG_DIR=DIR
#   scripts/postgres.sh stop    stops the cluster in $LATCHKEY_TEST_PG_DIR and removes it
#
# initdb and pg_ctl refuse to run as root, so they run as the `postgres` user
# (created by the package) through runuser; the directory is owned by it.
# Environment: PGPORT_TEST picks the port (default: a free one from 55432 up).
set -euo pipefail

BIN=/usr/lib/postgresql/15/bin

as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    else
        runuser -u postgres -- "$@"
    fi
}

install_if_missing() {
    if [ -x "$BIN/initdb" ]; then
        return
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql-15 >&2
}

free_port() {
    local port=${PGPORT_TEST:-55432}
    while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        port=$((port + 1))
    done
    echo "$port"
}

start() {
    install_if_missing
    local dir port
    dir=$(mktemp -d /tmp/latchkey-pg.XXXXXX)
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    port=$(free_port)
    as_postgres "$BIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync off: a throwaway test cluster. Durability of acknowledged writes is tested
    # with synchronous_commit on (the default), which is what the engine relies on.
    as_postgres "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 90 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" >&2 \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "export LATCHKEY_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/postgres"
    echo "export LATCHKEY_TEST_PG_DIR=$dir"
}

stop() {
    local dir=${LATCHKEY_TEST_PG_DIR:?set LATCHKEY_TEST_PG_DIR (printed by start)}
    as_postgres "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
