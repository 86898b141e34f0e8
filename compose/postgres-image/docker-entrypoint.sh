#!/bin/sh
# Entrypoint of devkit-local/postgres, compatible with the official image's variables:
# POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless
# POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default: the user name), POSTGRES_INITDB_ARGS,
# PGDATA. First start: initdb (scram-sha-256 over TCP), create POSTGRES_DB in single-user mode
# (no temporary server, so nothing answers on TCP before the database is complete), then run
# `postgres -c listen_addresses=*` as the postgres user, as PID 1 (SIGINT = fast shutdown).
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"

as_postgres() { setpriv --reuid=postgres --regid=postgres --clear-groups -- "$@"; }

if [ "${1:-postgres}" != "postgres" ]; then
    exec "$@"
fi
if [ "${1:-}" = "postgres" ]; then
    shift
fi

mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
chmod 2775 /var/run/postgresql

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        echo "error: database is uninitialized and POSTGRES_PASSWORD is not set" >&2
        echo "  set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)" >&2
        exit 1
    fi
    pwfile=/tmp/.pgpass-init
    printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
    chown postgres:postgres "$pwfile"
    chmod 600 "$pwfile"
    # shellcheck disable=SC2086
    as_postgres initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
        --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" \
        --encoding=UTF8 --locale=C --no-sync ${POSTGRES_INITDB_ARGS:-}
    rm -f "$pwfile"
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        echo "CREATE DATABASE \"$POSTGRES_DB\";" |
            as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
        echo "entrypoint: created database $POSTGRES_DB"
    fi
    echo "entrypoint: PostgreSQL init process complete; ready for start up."
fi

exec setpriv --reuid=postgres --regid=postgres --clear-groups -- \
    postgres -D "$PGDATA" -c listen_addresses='*' "$@"
