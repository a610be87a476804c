#!/usr/bin/env bash
# A throwaway PostgreSQL 15 on loopback for tests (logical decoding enabled).
#
#   scripts/postgres.sh start  [--port 55432] [--fresh] [--owner TAG] [--timeout S]
#   scripts/postgres.sh stop   [--owner TAG] [--wipe]
#   scripts/postgres.sh status
#   scripts/postgres.sh env
#
# State: ${CQLSHIFT_RUN_DIR:-/tmp/cqlshift-run}/postgres/ (data/, log, env).
# Superuser `postgres`, trust authentication, bound to 127.0.0.1 only.
# Connect: psql postgresql://postgres@127.0.0.1:55432/postgres
# --owner: as in scripts/cassandra.sh (stop only what this owner started).
set -euo pipefail

RUN_DIR="${CQLSHIFT_RUN_DIR:-/tmp/cqlshift-run}"
DIR="$RUN_DIR/postgres"
PGBIN="${CQLSHIFT_PGBIN:-/usr/lib/postgresql/15/bin}"
log() { printf 'postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }

CMD="${1:-}"; [[ -n "$CMD" ]] || usage; shift
PORT="" FRESH=0 WIPE=0 OWNER="" TIMEOUT=60
while (($#)); do
  case "$1" in
    --port) PORT="$2"; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    --wipe) WIPE=1; shift ;;
    --owner) OWNER="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown option $1" ;;
  esac
done
[[ -z "$PORT" && -f "$DIR/port" ]] && PORT="$(cat "$DIR/port")"
PORT="${PORT:-55432}"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "bad --port"

# Run the server tools as the `postgres` user when we are root (PostgreSQL
# refuses to run as root); as anyone else, run them as ourselves.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The postmaster pid is the first line of data/postmaster.pid; it counts only
# if that process is alive and is a postgres server on our data directory.
server_pid() {
  local f="$DIR/data/postmaster.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(head -n 1 "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$DIR/data" || return 1
  echo "$pid"
}

ready() { as_pg "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres -U postgres; }

write_env() {
  cat >"$DIR/env" <<ENV
# scripts/postgres.sh (source this file)
CQLSHIFT_PG_HOST=127.0.0.1
CQLSHIFT_PG_PORT=$PORT
CQLSHIFT_PG_USER=postgres
CQLSHIFT_PG_URI=postgresql://postgres@127.0.0.1:$PORT/postgres
ENV
}

cmd_start() {
  [[ -x "$PGBIN/initdb" ]] || die "PostgreSQL 15 not installed (run scripts/deps.sh)"
  if pid="$(server_pid)"; then
    [[ "$(cat "$DIR/port" 2>/dev/null)" == "$PORT" ]] || die "running on port $(cat "$DIR/port"); stop it first"
    if ready; then log "already running (pid $pid, port $PORT)"; write_env; return 0; fi
  else
    rm -f "$DIR/owner"
    ((FRESH)) && rm -rf "$DIR"
    mkdir -p "$DIR"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$DIR"
    chmod 700 "$DIR"
    if [[ ! -f "$DIR/data/PG_VERSION" ]]; then
      log "initdb in $DIR/data"
      as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
        || { tail -n 30 "$DIR/initdb.log" >&2; die "initdb failed"; }
    fi
    rm -f "$DIR/data/postmaster.pid"
    echo "$PORT" >"$DIR/port"
    log "starting on 127.0.0.1:$PORT"
    local t0=$SECONDS
    if ! as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t "$TIMEOUT" \
        -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR -c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null; then
      log "last 30 lines of $DIR/server.log:"; tail -n 30 "$DIR/server.log" >&2
      die "pg_ctl start failed"
    fi
    [[ -n "$OWNER" ]] && echo "$OWNER" >"$DIR/owner"
    log "started in $((SECONDS - t0)) s"
  fi
  local deadline=$((SECONDS + TIMEOUT))
  until ready; do
    ((SECONDS < deadline)) || { tail -n 30 "$DIR/server.log" >&2; die "not ready after ${TIMEOUT}s"; }
    sleep 0.5
  done
  write_env
  log "ready: postgresql://postgres@127.0.0.1:$PORT/postgres"
}

cmd_stop() {
  if [[ -n "$OWNER" && "$(cat "$DIR/owner" 2>/dev/null)" != "$OWNER" ]]; then
    log "not started by '$OWNER'; leaving it as it is"; return 0
  fi
  local pid t
  if pid="$(server_pid)"; then
    log "stopping (pid $pid)"
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for ((t = 0; t < 40; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && { log "SIGKILL to $pid"; kill -KILL "$pid" 2>/dev/null || true; }
    fi
  else
    log "not running"
  fi
  rm -f "$DIR/owner"
  if ((WIPE)); then rm -rf "$DIR"; log "state removed"; fi
  return 0
}

cmd_status() {
  local pid
  if pid="$(server_pid)"; then
    if ready; then echo "postgres: pid $pid 127.0.0.1:$PORT up"; return 0; fi
    echo "postgres: pid $pid 127.0.0.1:$PORT starting"; return 1
  fi
  echo "postgres: stopped"; return 1
}

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cat "$DIR/env" ;;
  *) usage ;;
esac
