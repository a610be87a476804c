#!/usr/bin/env bash
# Run throwaway Apache Cassandra clusters on loopback addresses, from the jars
# that scripts/deps.sh resolved (no tarball, no Docker). See docs/servers.md.
#
#   scripts/cassandra.sh start  [--name main] [--nodes 1-3] [--ip-base 127.0.0.1]
#                               [--auth] [--tls] [--heap 1G] [--fresh]
#                               [--timeout SECONDS] [--owner TAG]
#   scripts/cassandra.sh stop   [--name main] [--owner TAG] [--wipe]
#   scripts/cassandra.sh status [--name main]
#   scripts/cassandra.sh wait   [--name main] [--timeout SECONDS]
#   scripts/cassandra.sh env    [--name main]      # print the env file
#   scripts/cassandra.sh nodetool [--name main] [--node I] -- ARGS...
#
# Node i of a cluster listens on the i-th address from --ip-base (default
# 127.0.0.1, or 127.0.0.3 for --name secure): native port 9042, storage port
# 7000, local JMX port 7199 + 100 * (last octet - 1).
# State: ${CQLSHIFT_RUN_DIR:-/tmp/cqlshift-run}/cassandra-NAME/node-I/.
#
# --owner TAG: `start` writes TAG as owner only if it actually started the
# cluster; `stop --owner TAG` stops only a cluster owned by TAG. CTest
# fixtures use this so a cluster someone started by hand is left running.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${CQLSHIFT_RUN_DIR:-/tmp/cqlshift-run}"
CACHE="${CQLSHIFT_CACHE:-$HOME/.cache/cqlshift}"
VENV="${CQLSHIFT_VENV:-$REPO/.venv}"
CASSANDRA_VERSION=5.0.6
LIB="$CACHE/cassandra-$CASSANDRA_VERSION/lib"
JAVA="${CQLSHIFT_JAVA:-}"
NATIVE_PORT=9042
STORAGE_PORT=7000

log() { printf 'cassandra[%s]: %s\n' "$NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }

# ---------------------------------------------------------------- arguments
CMD="${1:-}"; [[ -n "$CMD" ]] || usage; shift
NAME=main NODES="" IP_BASE="" AUTH="" TLS="" HEAP=1G FRESH=0 WIPE=0
TIMEOUT=240 OWNER="" NODE=1 EXTRA=()
while (($#)); do
  case "$1" in
    --name) NAME="$2"; shift 2 ;;
    --nodes) NODES="$2"; shift 2 ;;
    --ip-base) IP_BASE="$2"; shift 2 ;;
    --auth) AUTH=1; shift ;;
    --tls) TLS=1; shift ;;
    --heap) HEAP="$2"; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    --wipe) WIPE=1; shift ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --owner) OWNER="$2"; shift 2 ;;
    --node) NODE="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) usage ;;
    *) die "unknown option $1" ;;
  esac
done
[[ "$NAME" =~ ^[A-Za-z0-9_-]+$ ]] || die "bad --name '$NAME'"
[[ "$HEAP" =~ ^[0-9]+[MmGg]$ ]] || die "bad --heap '$HEAP' (e.g. 1G, 768M)"
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "bad --timeout '$TIMEOUT'"

CDIR="$RUN_DIR/cassandra-$NAME"
CONF="$CDIR/cluster.conf"
ENVFILE="$CDIR/env"
TLSDIR="$CDIR/tls"

# Saved settings of an existing cluster are the defaults for every command;
# options given on the command line override them for `start`.
SAVED_NODES="" SAVED_IP_BASE="" SAVED_AUTH="" SAVED_TLS="" SAVED_HEAP=""
if [[ -f "$CONF" ]]; then
  while IFS='=' read -r k v; do
    case "$k" in
      nodes) SAVED_NODES="$v" ;; ip_base) SAVED_IP_BASE="$v" ;;
      auth) SAVED_AUTH="$v" ;; tls) SAVED_TLS="$v" ;; heap) SAVED_HEAP="$v" ;;
    esac
  done <"$CONF"
fi
default_ip_base() { if [[ "$NAME" == secure ]]; then echo 127.0.0.3; else echo 127.0.0.1; fi; }
NODES="${NODES:-${SAVED_NODES:-1}}"
IP_BASE="${IP_BASE:-${SAVED_IP_BASE:-$(default_ip_base)}}"
if [[ "$CMD" == start ]]; then AUTH="${AUTH:-0}"; TLS="${TLS:-0}"
else AUTH="${SAVED_AUTH:-0}"; TLS="${SAVED_TLS:-0}"; HEAP="${SAVED_HEAP:-$HEAP}"; fi
[[ "$NODES" =~ ^[1-3]$ ]] || die "--nodes must be 1, 2 or 3"
[[ "$IP_BASE" =~ ^127\.([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "--ip-base must be a 127.x.y.z address"
IP_PREFIX="${IP_BASE%.*}"
IP_FIRST="${IP_BASE##*.}"
(( IP_FIRST >= 1 && IP_FIRST + NODES - 1 <= 254 )) || die "bad --ip-base $IP_BASE"

node_ip() { echo "$IP_PREFIX.$((IP_FIRST + $1 - 1))"; }
node_jmx() { local ip; ip="$(node_ip "$1")"; echo $((7199 + 100 * (${ip##*.} - 1))); }
node_dir() { echo "$CDIR/node-$1"; }
all_ips() { local i out=""; for ((i = 1; i <= NODES; i++)); do out+="${out:+,}$(node_ip "$i")"; done; echo "$out"; }

# ---------------------------------------------------------------- processes
# A pid counts only if it is alive and is the CassandraDaemon of that node
# (its command line names the node's own yaml). Anything else is stale.
node_pid() {
  local d pid; d="$(node_dir "$1")"
  [[ -f "$d/pid" ]] || return 1
  pid="$(cat "$d/pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || { rm -f "$d/pid"; return 1; }
  if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "file://$d/conf/cassandra.yaml"; then
    echo "$pid"; return 0
  fi
  rm -f "$d/pid"
  return 1
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

show_log() {
  local d f; d="$(node_dir "$1")"
  for f in "$d/logs/system.log" "$d/logs/stdout.log"; do
    if [[ -s "$f" ]]; then
      log "last 30 lines of $f:"
      tail -n 30 "$f" >&2
      return
    fi
  done
}

# Python readiness probe with the project's venv driver. Parameters come from
# the environment (password included), never from the command line.
PROBE='
import os, ssl, sys, time, logging
logging.disable(logging.CRITICAL)
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.auth import PlainTextAuthProvider
from cassandra.policies import DCAwareRoundRobinPolicy
hosts = os.environ["P_HOSTS"].split(",")
want = int(os.environ["P_NODES"])
kw = dict(contact_points=hosts, port=int(os.environ["P_PORT"]), protocol_version=5,
          connect_timeout=5, control_connection_timeout=5,
          execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(
              load_balancing_policy=DCAwareRoundRobinPolicy(local_dc="datacenter1"), request_timeout=10)})
if os.environ.get("P_USER"):
    kw["auth_provider"] = PlainTextAuthProvider(os.environ["P_USER"], os.environ["P_PASSWORD"])
if os.environ.get("P_CA"):
    ctx = ssl.create_default_context(cafile=os.environ["P_CA"])
    kw["ssl_context"] = ctx
c = Cluster(**kw)
try:
    s = c.connect()
    # connect() returns once the FIRST host pool is ready; wait for the rest.
    for _ in range(40):
        up = [h for h in c.metadata.all_hosts() if h.is_up]
        if len(up) >= want and all(h in s.get_pool_state() for h in up):
            break
        time.sleep(0.25)
    if len(up) < want:
        print("driver sees %d of %d nodes up" % (len(up), want)); sys.exit(1)
    for h in up:
        r = s.execute("SELECT bootstrapped FROM system.local", host=h).one()
        if r is None or r.bootstrapped != "COMPLETED":
            print("%s: bootstrapped=%s" % (h.address, r and r.bootstrapped)); sys.exit(1)
    ntok = len(c.metadata.token_map.ring) if c.metadata.token_map else 0
    print("ready: %d nodes up, %d tokens, release %s" % (len(up), ntok,
          s.execute("SELECT release_version FROM system.local").one().release_version))
finally:
    c.shutdown()
'

probe() { # probe NODES HOSTS
  local py="$VENV/bin/python"
  [[ -x "$py" ]] || die "no venv python at $py (run scripts/deps.sh)"
  local user="" ca=""
  [[ "$AUTH" == 1 ]] && user=cassandra
  [[ "$TLS" == 1 ]] && ca="$CDIR/ca.pem"
  P_NODES="$1" P_HOSTS="$2" P_PORT="$NATIVE_PORT" P_USER="$user" P_CA="$ca" \
    P_PASSWORD="$(cat "$CDIR/superuser-password" 2>/dev/null || true)" \
    timeout 60 "$py" -c "$PROBE" 2>&1
}

# Wait until node I is up and the driver sees the first I nodes bootstrapped.
wait_node() {
  local i="$1" ip pid out="" deadline=$((SECONDS + TIMEOUT))
  ip="$(node_ip "$i")"
  while :; do
    pid="$(node_pid "$i")" || { log "node $i ($ip) died during start"; show_log "$i"; return 1; }
    if port_open "$ip" "$NATIVE_PORT"; then
      if out="$(probe "$i" "$(NODES=$i all_ips)")"; then
        log "node $i ($ip) ready, pid $pid: ${out##*$'\n'}"
        return 0
      fi
    fi
    if ((SECONDS >= deadline)); then
      log "node $i ($ip) not ready after ${TIMEOUT}s${out:+: ${out##*$'\n'}}"
      show_log "$i"
      return 1
    fi
    sleep 1
  done
}

# ---------------------------------------------------------------- config
java_bin() {
  if [[ -n "$JAVA" ]]; then echo "$JAVA"; return; fi
  local j
  for j in /usr/lib/jvm/java-17-openjdk-*/bin/java; do
    [[ -x "$j" ]] && { echo "$j"; return; }
  done
  command -v java || die "no java found (run scripts/deps.sh)"
}

gen_password() { head -c 18 /dev/urandom | base64 | tr -d '/+=' ; }

make_tls() {
  # CA + one server certificate with the SAN of every node, a PKCS12 keystore
  # for Cassandra, ca.pem for clients, and an unrelated CA for negative tests.
  local ips san="" i
  ips="$(all_ips)"
  for i in ${ips//,/ }; do san+="${san:+,}IP:$i"; done
  if [[ -f "$TLSDIR/keystore.p12" && -f "$TLSDIR/san" && "$(cat "$TLSDIR/san")" == "$san" ]]; then
    return
  fi
  log "generating TLS material ($san)"
  rm -rf "$TLSDIR"; mkdir -p "$TLSDIR"; chmod 700 "$TLSDIR"
  (
    cd "$TLSDIR"
    umask 077
    gen_password >keystore-password
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
      -subj "/CN=cqlshift test CA ($NAME)" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=cassandra-$NAME" \
      -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
      "$san" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -days 3650 -sha256 -extfile server.ext -out server.pem 2>/dev/null
    openssl pkcs12 -export -name cassandra -inkey server.key -in server.pem \
      -certfile ca.pem -passout file:keystore-password -out keystore.p12
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
      -subj "/CN=cqlshift untrusted CA" -keyout untrusted-ca.key -out untrusted-ca.pem 2>/dev/null
    echo "$san" >san
    chmod 644 ca.pem untrusted-ca.pem
  )
  cp "$TLSDIR/ca.pem" "$CDIR/ca.pem"
  cp "$TLSDIR/untrusted-ca.pem" "$CDIR/untrusted-ca.pem"
}

write_node_config() {
  local i="$1" d ip seeds
  d="$(node_dir "$i")"; ip="$(node_ip "$i")"; seeds="$(node_ip 1)"
  mkdir -p "$d/conf/triggers" "$d/data/data" "$d/data/commitlog" "$d/data/saved_caches" \
           "$d/data/hints" "$d/data/cdc_raw" "$d/logs" "$d/tmp"
  (
    umask 077
    cat >"$d/conf/cassandra.yaml" <<YAML
# Generated by scripts/cassandra.sh; regenerated at every start.
cluster_name: 'cqlshift-$NAME'
num_tokens: 16
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
listen_address: $ip
rpc_address: $ip
storage_port: $STORAGE_PORT
native_transport_port: $NATIVE_PORT
start_native_transport: true
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$seeds"
data_file_directories:
  - $d/data/data
commitlog_directory: $d/data/commitlog
saved_caches_directory: $d/data/saved_caches
hints_directory: $d/data/hints
cdc_raw_directory: $d/data/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
auto_snapshot: false
YAML
    if [[ "$AUTH" == 1 ]]; then
      cat >>"$d/conf/cassandra.yaml" <<YAML
authenticator: PasswordAuthenticator
authorizer: CassandraAuthorizer
role_manager: CassandraRoleManager
YAML
    fi
    if [[ "$TLS" == 1 ]]; then
      cat >>"$d/conf/cassandra.yaml" <<YAML
client_encryption_options:
  enabled: true
  optional: false
  keystore: $TLSDIR/keystore.p12
  keystore_password: "$(cat "$TLSDIR/keystore-password")"
  store_type: PKCS12
YAML
    fi
  )
  cat >"$d/conf/logback.xml" <<'XML'
<configuration scan="false">
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>${cassandra.logdir}/system.log.%i</fileNamePattern>
      <minIndex>1</minIndex><maxIndex>3</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>50MB</maxFileSize>
    </triggeringPolicy>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter"><level>WARN</level></filter>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="SYSTEMLOG" />
    <appender-ref ref="STDOUT" />
  </root>
  <logger name="org.apache.cassandra" level="INFO"/>
</configuration>
XML
}

JVM_EXPORTS=(java.base/jdk.internal.misc java.base/java.lang.ref jdk.unsupported/sun.misc
  java.sql/java.sql java.management.rmi/com.sun.jmx.remote.internal.rmi
  java.rmi/sun.rmi.registry java.rmi/sun.rmi.server
  jdk.compiler/com.sun.tools.javac.file jdk.attach/sun.tools.attach)
JVM_OPENS=(java.base/java.lang.module java.base/jdk.internal.loader java.base/jdk.internal.ref
  java.base/jdk.internal.reflect java.base/jdk.internal.math java.base/jdk.internal.module
  java.base/jdk.internal.util.jar jdk.management/com.sun.management.internal
  java.base/sun.nio.ch java.base/java.io java.base/java.lang.reflect
  jdk.compiler/com.sun.tools.javac java.base/java.lang java.base/java.util
  java.base/java.nio java.base/java.nio.charset)

start_node() {
  local i="$1" d ip java jamm m args=()
  d="$(node_dir "$i")"; ip="$(node_ip "$i")"
  java="$(java_bin)"
  jamm=""
  for m in "$LIB"/jamm-*.jar; do [[ -f "$m" ]] && jamm="$m"; done
  [[ -n "$jamm" ]] || die "jamm jar missing in $LIB (run scripts/deps.sh)"
  write_node_config "$i"
  args=(-Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:+PerfDisableSharedMem -Xss256k
        -javaagent:"$jamm" -Djdk.attach.allowAttachSelf=true)
  for m in "${JVM_EXPORTS[@]}"; do args+=(--add-exports "$m=ALL-UNNAMED"); done
  for m in "${JVM_OPENS[@]}"; do args+=(--add-opens "$m=ALL-UNNAMED"); done
  args+=(-Dio.netty.tryReflectionSetAccessible=true -Djava.net.preferIPv4Stack=true
         -Dcassandra.config="file://$d/conf/cassandra.yaml"
         -Dcassandra-foreground=yes
         -Dcassandra.storagedir="$d/data" -Dcassandra.logdir="$d/logs"
         -Dcassandra.triggers_dir="$d/conf/triggers"
         -Dlogback.configurationFile="$d/conf/logback.xml"
         -Dcassandra.jmx.local.port="$(node_jmx "$i")"
         -Dcassandra.skip_wait_for_gossip_to_settle=0
         -Dcassandra.superuser_setup_delay_ms=0
         -Dcassandra.unsafesystem=true
         -Djna.tmpdir="$d/tmp" -Djava.io.tmpdir="$d/tmp")
  ((i > 1)) && args+=(-Dcassandra.ring_delay_ms=1000)
  args+=(-cp "$LIB/*" org.apache.cassandra.service.CassandraDaemon)
  log "starting node $i on $ip (heap $HEAP, jmx $(node_jmx "$i"))"
  # setsid: the node survives the shell, terminal or CTest job that started it.
  setsid "$java" "${args[@]}" >"$d/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$d/pid"
  sleep 0.5
  node_pid "$i" >/dev/null || { log "node $i exited at once"; show_log "$i"; return 1; }
}

write_env() {
  local tmp="$ENVFILE.tmp"
  {
    echo "# scripts/cassandra.sh: cluster '$NAME' (source this file)"
    echo "CQLSHIFT_CASSANDRA_NAME=$NAME"
    echo "CQLSHIFT_CASSANDRA_HOSTS=$(all_ips)"
    echo "CQLSHIFT_CASSANDRA_PORT=$NATIVE_PORT"
    echo "CQLSHIFT_CASSANDRA_DC=datacenter1"
    echo "CQLSHIFT_CASSANDRA_NODES=$NODES"
    echo "CQLSHIFT_CASSANDRA_AUTH=$AUTH"
    echo "CQLSHIFT_CASSANDRA_TLS=$TLS"
    if [[ "$AUTH" == 1 ]]; then
      echo "CQLSHIFT_CASSANDRA_USER=cassandra"
      echo "CQLSHIFT_CASSANDRA_PASSWORD_FILE=$CDIR/superuser-password"
    fi
    if [[ "$TLS" == 1 ]]; then
      echo "CQLSHIFT_CASSANDRA_CA=$CDIR/ca.pem"
      echo "CQLSHIFT_CASSANDRA_UNTRUSTED_CA=$CDIR/untrusted-ca.pem"
    fi
  } >"$tmp"
  mv "$tmp" "$ENVFILE"
}

# ---------------------------------------------------------------- commands
cmd_start() {
  [[ -f "$LIB/cassandra-all-$CASSANDRA_VERSION.jar" ]] || die "no Cassandra jars in $LIB (run scripts/deps.sh)"
  mkdir -p "$CDIR"
  local i running=0 any=0
  for ((i = 1; i <= 3; i++)); do node_pid "$i" >/dev/null && { any=1; ((i <= NODES)) && running=$((running + 1)); }; done
  if ((any)); then
    # Same settings, or more nodes (growing a running cluster), are fine.
    local have="ip_base=${SAVED_IP_BASE} auth=${SAVED_AUTH} tls=${SAVED_TLS}"
    [[ "$have" == "ip_base=$IP_BASE auth=$AUTH tls=$TLS" ]] \
      || die "running with other settings ($have); stop it first"
    ((NODES >= ${SAVED_NODES:-1})) || die "running with $SAVED_NODES nodes; stop it first"
    ((FRESH)) && die "--fresh on a running cluster: stop it first"
  fi
  if ((running == NODES)) && ((any)); then
    local out
    if out="$(probe "$NODES" "$(all_ips)")"; then
      log "already running and healthy: ${out##*$'\n'}"
      write_env
      return 0
    fi
    log "running but not ready yet; waiting"
  fi
  ((running == 0)) && rm -f "$CDIR/owner"
  if ((FRESH)); then
    log "--fresh: removing old node state"
    rm -rf "$CDIR"/node-*
  fi
  printf 'nodes=%s\nip_base=%s\nauth=%s\ntls=%s\nheap=%s\n' "$NODES" "$IP_BASE" "$AUTH" "$TLS" "$HEAP" >"$CONF"
  # The built-in superuser: Cassandra creates cassandra/cassandra itself; the
  # file lets clients read it without putting it on a command line.
  if [[ "$AUTH" == 1 ]]; then (umask 077; printf 'cassandra' >"$CDIR/superuser-password"); fi
  [[ "$TLS" == 1 ]] && make_tls
  local t0
  for ((i = 1; i <= NODES; i++)); do
    t0=$SECONDS
    if ! node_pid "$i" >/dev/null; then
      start_node "$i" || return 1
    fi
    wait_node "$i" || return 1
    log "node $i boot took $((SECONDS - t0)) s"
  done
  ((running == 0)) && [[ -n "$OWNER" ]] && echo "$OWNER" >"$CDIR/owner"
  write_env
  log "cluster up: $(all_ips) (env: $ENVFILE)"
}

stop_pid() { # stop_pid PID LABEL
  local pid="$1" t
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((t = 0; t < 60; t++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  log "$2 (pid $pid) ignored SIGTERM for 30 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((t = 0; t < 20; t++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
}

cmd_stop() {
  if [[ -n "$OWNER" ]]; then
    if [[ "$(cat "$CDIR/owner" 2>/dev/null)" != "$OWNER" ]]; then
      log "not started by '$OWNER'; leaving it as it is"
      return 0
    fi
  fi
  local i pid stopped=0
  # Highest node first, so the seed goes last.
  for ((i = 3; i >= 1; i--)); do
    if pid="$(node_pid "$i")"; then
      log "stopping node $i (pid $pid)"
      stop_pid "$pid" "node $i"
      rm -f "$(node_dir "$i")/pid"
      stopped=$((stopped + 1))
    fi
  done
  rm -f "$CDIR/owner"
  ((stopped)) || log "not running"
  if ((WIPE)); then rm -rf "$CDIR"; log "state removed"; fi
  return 0
}

cmd_status() {
  local i pid ip state rc=0
  echo "cluster $NAME: nodes=$NODES ip_base=$IP_BASE auth=$AUTH tls=$TLS dir=$CDIR"
  for ((i = 1; i <= NODES; i++)); do
    ip="$(node_ip "$i")"
    if pid="$(node_pid "$i")"; then
      if port_open "$ip" "$NATIVE_PORT"; then state="up"; else state="starting"; rc=1; fi
      echo "  node $i $ip pid $pid $state"
    else
      echo "  node $i $ip stopped"; rc=1
    fi
  done
  return $rc
}

cmd_wait() {
  local i
  for ((i = 1; i <= NODES; i++)); do
    node_pid "$i" >/dev/null || die "node $i is not running"
  done
  wait_node "$NODES"
}

cmd_nodetool() {
  local ip java
  ip="$(node_ip "$NODE")"; java="$(java_bin)"
  node_pid "$NODE" >/dev/null || die "node $NODE is not running"
  local m mods=()
  for m in "${JVM_EXPORTS[@]}"; do mods+=(--add-exports "$m=ALL-UNNAMED"); done
  for m in "${JVM_OPENS[@]}"; do mods+=(--add-opens "$m=ALL-UNNAMED"); done
  exec "$java" -Xmx256m "${mods[@]}" -Djava.net.preferIPv4Stack=true \
    -Dlogback.configurationFile="$(node_dir "$NODE")/conf/logback.xml" \
    -Dcassandra.logdir="$(node_dir "$NODE")/logs" \
    -cp "$LIB/*" org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "$(node_jmx "$NODE")" "${EXTRA[@]}"
}

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  wait) cmd_wait ;;
  env) cat "$ENVFILE" ;;
  nodetool) cmd_nodetool ;;
  *) usage ;;
esac
