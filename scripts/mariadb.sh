#!/usr/bin/env bash
# A throwaway MariaDB on loopback for tests (binlog in ROW format).
#
#   scripts/mariadb.sh start  [--port 53306] [--fresh] [--owner TAG] [--timeout S]
#   scripts/mariadb.sh stop   [--owner TAG] [--wipe]
#   scripts/mariadb.sh status
#   scripts/mariadb.sh env
#
# State: ${CQLSHIFT_RUN_DIR:-/tmp/cqlshift-run}/mariadb/ (data/, binlog, log, pid).
# User root without password, reachable over TCP on 127.0.0.1 only.
# Connect: mariadb -h127.0.0.1 -P53306 -uroot
# --owner: as in scripts/cassandra.sh (stop only what this owner started).
set -euo pipefail

RUN_DIR="${CQLSHIFT_RUN_DIR:-/tmp/cqlshift-run}"
DIR="$RUN_DIR/mariadb"
log() { printf 'mariadb: %s\n' "$*" >&2; }
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
PORT="${PORT:-53306}"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "bad --port"

server_pid() {
  local pid
  [[ -f "$DIR/pid" ]] || return 1
  pid="$(cat "$DIR/pid" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--datadir=$DIR/data" || return 1
  echo "$pid"
}

# --no-defaults everywhere: the machine's /etc/mysql config must not leak in.
ready() { mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$PORT" -uroot -N -e 'SELECT 1' >/dev/null 2>&1; }

write_env() {
  cat >"$DIR/env" <<ENV
# scripts/mariadb.sh (source this file)
CQLSHIFT_MARIADB_HOST=127.0.0.1
CQLSHIFT_MARIADB_PORT=$PORT
CQLSHIFT_MARIADB_USER=root
CQLSHIFT_MARIADB_URI=mysql://root@127.0.0.1:$PORT/
ENV
}

cmd_start() {
  command -v mariadbd >/dev/null || [[ -x /usr/sbin/mariadbd ]] || die "mariadb-server not installed (run scripts/deps.sh)"
  local pid t0=$SECONDS
  if pid="$(server_pid)"; then
    [[ "$(cat "$DIR/port" 2>/dev/null)" == "$PORT" ]] || die "running on port $(cat "$DIR/port"); stop it first"
    if ready; then log "already running (pid $pid, port $PORT)"; write_env; return 0; fi
  else
    rm -f "$DIR/owner" "$DIR/pid"
    ((FRESH)) && rm -rf "$DIR"
    mkdir -p "$DIR"; chmod 700 "$DIR"
    local user; user="$(id -un)"
    if [[ ! -d "$DIR/data/mysql" ]]; then
      log "mariadb-install-db in $DIR/data"
      mariadb-install-db --no-defaults --user="$user" --datadir="$DIR/data" \
        --auth-root-authentication-method=normal --skip-test-db >"$DIR/install.log" 2>&1 \
        || { tail -n 30 "$DIR/install.log" >&2; die "mariadb-install-db failed"; }
    fi
    echo "$PORT" >"$DIR/port"
    log "starting on 127.0.0.1:$PORT"
    local sbin=mariadbd; command -v mariadbd >/dev/null || sbin=/usr/sbin/mariadbd
    setsid "$sbin" --no-defaults --user="$user" --datadir="$DIR/data" --socket="$DIR/sock" \
      --port="$PORT" --bind-address=127.0.0.1 --pid-file="$DIR/pid" \
      --log-bin="$DIR/binlog" --server-id=1 --binlog-format=ROW \
      --binlog-row-image=FULL --binlog-row-metadata=FULL \
      --log-error="$DIR/server.log" --max-connections=200 \
      --innodb-flush-log-at-trx-commit=2 --skip-name-resolve </dev/null >/dev/null 2>&1 &
    local spid=$!
    echo "$spid" >"$DIR/pid"
    [[ -n "$OWNER" ]] && echo "$OWNER" >"$DIR/owner"
  fi
  local deadline=$((SECONDS + TIMEOUT))
  until ready; do
    if ! server_pid >/dev/null; then
      log "last 30 lines of $DIR/server.log:"; tail -n 30 "$DIR/server.log" >&2 || true
      die "server exited during start"
    fi
    ((SECONDS < deadline)) || { tail -n 30 "$DIR/server.log" >&2; die "not ready after ${TIMEOUT}s"; }
    sleep 0.5
  done
  write_env
  log "ready in $((SECONDS - t0)) s: mysql://root@127.0.0.1:$PORT/"
}

cmd_stop() {
  if [[ -n "$OWNER" && "$(cat "$DIR/owner" 2>/dev/null)" != "$OWNER" ]]; then
    log "not started by '$OWNER'; leaving it as it is"; return 0
  fi
  local pid t
  if pid="$(server_pid)"; then
    log "stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((t = 0; t < 60; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "SIGKILL to $pid"; kill -KILL "$pid" 2>/dev/null || true; fi
  else
    log "not running"
  fi
  rm -f "$DIR/owner" "$DIR/pid"
  if ((WIPE)); then rm -rf "$DIR"; log "state removed"; fi
  return 0
}

cmd_status() {
  local pid
  if pid="$(server_pid)"; then
    if ready; then echo "mariadb: pid $pid 127.0.0.1:$PORT up"; return 0; fi
    echo "mariadb: pid $pid 127.0.0.1:$PORT starting"; return 1
  fi
  echo "mariadb: stopped"; return 1
}

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cat "$DIR/env" ;;
  *) usage ;;
esac
