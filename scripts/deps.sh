#!/usr/bin/env bash
# Install everything cqlshift needs to build and test, on Debian 12, as root.
# Idempotent: each step is skipped when its result is already there.
#
#   scripts/deps.sh            # packages, Python venv, Cassandra jars
#
# Environment:
#   CQLSHIFT_VENV   Python venv for the e2e tests   (default <repo>/.venv)
#   CQLSHIFT_CACHE  cache for the Cassandra jars    (default ~/.cache/cqlshift)
#   CQLSHIFT_SKIP_APT=1  do not touch system packages (for non-root use)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CQLSHIFT_VENV:-$REPO/.venv}"
CACHE="${CQLSHIFT_CACHE:-$HOME/.cache/cqlshift}"
CASSANDRA_VERSION=5.0.6
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1

log() { printf 'deps: %s\n' "$*" >&2; }

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libuv1-dev libssl-dev liblz4-dev zlib1g-dev libcmocka-dev libsqlite3-dev libpq-dev
  libmariadb-dev libyaml-dev libjansson-dev libxxhash-dev libzstd-dev zstd libdouble-conversion-dev
  clang libclang-rt-14-dev valgrind
  openjdk-17-jdk-headless maven
  postgresql-15 mariadb-server sqlite3 python3-venv
  openssl procps tmux
)

install_packages() {
  if [[ "${CQLSHIFT_SKIP_APT:-0}" == 1 ]]; then
    log "CQLSHIFT_SKIP_APT=1: not checking system packages"
    return
  fi
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]} == 0)); then
    log "system packages: all ${#PACKAGES[@]} present"
    return
  fi
  if [[ $(id -u) -ne 0 ]]; then
    log "missing packages (run as root to install): ${missing[*]}"
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The packaged services must not start on their own: we run our own
  # throwaway servers on our own ports (see scripts/postgres.sh, mariadb.sh).
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" || {
    ((created_policy)) && rm -f "$policy"
    exit 1
  }
  ((created_policy)) && rm -f "$policy"
  return 0
}

setup_venv() {
  local req="$REPO/tests/e2e/requirements.txt"
  local stamp="$VENV/.cqlshift-requirements"
  if [[ -x "$VENV/bin/python" && -f "$stamp" ]] && cmp -s "$req" "$stamp"; then
    log "python venv: up to date ($VENV)"
    return
  fi
  log "python venv: creating/updating $VENV"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  # Wheels only where possible; the driver builds without its C extensions
  # if no wheel fits (pure Python is fine for tests).
  CASS_DRIVER_NO_CYTHON=1 "$VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
  "$VENV/bin/python" -c 'import cassandra, pytest' >/dev/null
  cp "$req" "$stamp"
}

resolve_cassandra() {
  local dir="$CACHE/cassandra-$CASSANDRA_VERSION"
  local marker="$dir/.complete"
  if [[ -f "$marker" ]] && ls "$dir"/lib/cassandra-all-"$CASSANDRA_VERSION".jar >/dev/null 2>&1; then
    log "cassandra $CASSANDRA_VERSION jars: cached ($dir/lib, $(cat "$marker") jars)"
    return
  fi
  log "cassandra $CASSANDRA_VERSION jars: resolving with maven"
  local t0=$SECONDS work
  mkdir -p "$CACHE"
  work="$(mktemp -d "$CACHE/resolve.XXXXXX")"
  cat >"$work/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cqlshift.local</groupId>
  <artifactId>cassandra-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  if ! (cd "$work" && mvn -B -q "$DEP_PLUGIN:copy-dependencies" \
          -DincludeScope=runtime -DoutputDirectory="$work/lib") >"$work/mvn.log" 2>&1; then
    tail -n 30 "$work/mvn.log" >&2
    log "maven failed (log kept in $work/mvn.log)"
    exit 1
  fi
  if ! ls "$work"/lib/cassandra-all-"$CASSANDRA_VERSION".jar >/dev/null 2>&1; then
    log "maven finished but cassandra-all-$CASSANDRA_VERSION.jar is missing"
    exit 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  mv "$work/lib" "$dir/lib"
  rm -rf "$work"
  find "$dir/lib" -name '*.jar' | wc -l | tr -d ' ' >"$marker"
  log "cassandra $CASSANDRA_VERSION jars: $(cat "$marker") jars in $((SECONDS - t0)) s"
}

install_packages
setup_venv
resolve_cassandra
log "done"
