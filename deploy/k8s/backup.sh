#!/bin/sh
# Daily `pg_dump | gzip` of the AIOS database with retention: 7 daily, 4 weekly (Sundays),
# 12 monthly (the 1st) - the same policy as `devkit db backup --prune` in development.
#
#   backup.sh          run forever: a backup every day at BACKUP_AT (UTC, HH:MM)
#   backup.sh once     one backup now, then prune
#   backup.sh prune    prune only
#
# Connection: DATABASE_URL when set (Kubernetes), else libpq's variables (PGHOST, PGUSER,
# PGDATABASE, PGPASSWORD or PGPASSWORD_FILE: Swarm). One script for both: deploy/stack.yml and
# deploy/k8s/kustomization.yaml ship this file (kustomize reads only files under k8s/). Files: $BACKUP_DIR/{daily,weekly,monthly}/aios-YYYY-MM-DD.sql.gz, written
# under a temporary name first so a failed dump never replaces a good file. POSIX sh (dash).
set -eu

BACKUP_DIR="${BACKUP_DIR:-/backups}"
BACKUP_AT="${BACKUP_AT:-02:30}"
KEEP_DAILY="${BACKUP_KEEP_DAILY:-7}"
KEEP_WEEKLY="${BACKUP_KEEP_WEEKLY:-4}"
KEEP_MONTHLY="${BACKUP_KEEP_MONTHLY:-12}"
if [ -n "${PGPASSWORD_FILE:-}" ]; then
    PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
    export PGPASSWORD
fi

log() { echo "$(date -u '+%Y-%m-%dT%H:%M:%SZ') backup: $*"; }

prune() {  # prune DIR KEEP: keep the KEEP newest aios-*.sql.gz (names sort by date)
    dir="$1"
    keep="$2"
    [ -d "$dir" ] || return 0
    n=0
    for file in $(ls -1r "$dir"); do
        case "$file" in aios-*.sql.gz) ;; *) continue ;; esac
        n=$((n + 1))
        if [ "$n" -gt "$keep" ]; then
            rm -f "$dir/$file"
            log "pruned $dir/$file"
        fi
    done
}

prune_all() {
    prune "$BACKUP_DIR/daily" "$KEEP_DAILY"
    prune "$BACKUP_DIR/weekly" "$KEEP_WEEKLY"
    prune "$BACKUP_DIR/monthly" "$KEEP_MONTHLY"
}

backup_once() {
    day="$(date -u +%Y-%m-%d)"
    mkdir -p "$BACKUP_DIR/daily" "$BACKUP_DIR/weekly" "$BACKUP_DIR/monthly"
    name="aios-$day.sql.gz"
    tmp="$BACKUP_DIR/.$name.partial"
    rm -f "$tmp" "$tmp.failed"
    # dash has no pipefail: pg_dump's failure leaves a marker file
    { pg_dump --no-owner --no-privileges ${DATABASE_URL:+"--dbname=$DATABASE_URL"} || : >"$tmp.failed"; } | gzip -c >"$tmp"
    if [ -e "$tmp.failed" ]; then
        rm -f "$tmp" "$tmp.failed"
        log "FAILED: pg_dump of ${PGDATABASE:-?} on ${PGHOST:-?} failed"
        return 1
    fi
    mv "$tmp" "$BACKUP_DIR/daily/$name"
    [ "$(date -u +%u)" = 7 ] && cp "$BACKUP_DIR/daily/$name" "$BACKUP_DIR/weekly/$name"
    [ "$(date -u +%d)" = 01 ] && cp "$BACKUP_DIR/daily/$name" "$BACKUP_DIR/monthly/$name"
    log "wrote $BACKUP_DIR/daily/$name"
    prune_all
}

seconds_until() {  # seconds from now until the next HH:MM (UTC)
    now="$(date -u +%s)"
    target="$(date -u -d "$(date -u +%Y-%m-%d) $1" +%s)"
    [ "$target" -gt "$now" ] || target=$((target + 86400))
    echo $((target - now))
}

case "${1:-loop}" in
    once) backup_once ;;
    prune) prune_all ;;
    loop)
        log "daily backups at $BACKUP_AT UTC into $BACKUP_DIR (keep $KEEP_DAILY/$KEEP_WEEKLY/$KEEP_MONTHLY)"
        if [ "${BACKUP_ON_START:-0}" = 1 ]; then
            tries=0  # the database may still be starting
            until backup_once; do
                tries=$((tries + 1))
                [ "$tries" -lt 20 ] || break
                sleep 3
            done
        fi
        while :; do
            sleep "$(seconds_until "$BACKUP_AT")"
            backup_once || log "will try again at the next $BACKUP_AT"
        done
        ;;
    *)
        echo "usage: backup.sh [loop|once|prune]" >&2
        exit 2
        ;;
esac
