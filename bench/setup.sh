#!/usr/bin/env bash
# Install what the benchmark needs besides the project deps (scripts/deps.sh).
# Idempotent and cached: each step is skipped when its result is there.
#
#   bench/setup.sh
#
# - DSBulk 1.10.0, assembled from its Maven Central modules with
#   maven-dependency-plugin copy-dependencies, into $CACHE/dsbulk/lib
# - cqlsh 6.2.x from PyPI in its own venv ($CACHE/bench-cqlsh-venv)
# - a bench venv ($CACHE/bench-venv) with cassandra-driver 3.30.1 and matplotlib
#
# Environment: CQLSHIFT_CACHE (default ~/.cache/cqlshift)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CQLSHIFT_CACHE:-$HOME/.cache/cqlshift}"
DSBULK_VERSION=1.10.0
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1
DSBULK_DIR="$CACHE/dsbulk"
CQLSH_VENV="$CACHE/bench-cqlsh-venv"
BENCH_VENV="$CACHE/bench-venv"

log() { printf 'bench-setup: %s\n' "$*" >&2; }

dsbulk() {
  if [[ -f "$DSBULK_DIR/lib/.complete-$DSBULK_VERSION" ]]; then
    log "dsbulk $DSBULK_VERSION: cached ($(ls "$DSBULK_DIR/lib" | grep -c '\.jar$') jars)"
    return
  fi
  log "dsbulk $DSBULK_VERSION: resolving modules from Maven Central"
  mkdir -p "$DSBULK_DIR"
  local deps="" m
  for m in dsbulk-runner dsbulk-workflow-load dsbulk-workflow-unload \
           dsbulk-connectors-csv dsbulk-connectors-json \
           dsbulk-batcher-reactor dsbulk-executor-reactor; do
    deps+="<dependency><groupId>com.datastax.oss</groupId><artifactId>$m</artifactId><version>$DSBULK_VERSION</version></dependency>"
  done
  deps+="<dependency><groupId>ch.qos.logback</groupId><artifactId>logback-classic</artifactId><version>1.2.13</version></dependency>"
  cat >"$DSBULK_DIR/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cqlshift.bench</groupId><artifactId>dsbulk-assembly</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>$deps</dependencies>
</project>
POM
  rm -rf "$DSBULK_DIR/lib"
  if ! (cd "$DSBULK_DIR" && mvn -B -q "$DEP_PLUGIN:copy-dependencies" \
          -DincludeScope=runtime -DoutputDirectory="$DSBULK_DIR/lib") >"$DSBULK_DIR/mvn.log" 2>&1; then
    tail -n 30 "$DSBULK_DIR/mvn.log" >&2
    log "maven failed (log in $DSBULK_DIR/mvn.log)"; exit 1
  fi
  touch "$DSBULK_DIR/lib/.complete-$DSBULK_VERSION"
  log "dsbulk: $(ls "$DSBULK_DIR/lib" | grep -c '\.jar$') jars"
}

venv_with() {  # DIR MARKER PACKAGES...
  local dir="$1" marker="$2"; shift 2
  if [[ -f "$dir/.complete-$marker" ]]; then log "$dir: cached"; return; fi
  log "creating $dir: $*"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --upgrade pip >/dev/null
  "$dir/bin/pip" install -q "$@"
  touch "$dir/.complete-$marker"
}

dsbulk
venv_with "$CQLSH_VENV" cqlsh62 'cqlsh>=6.2,<6.3'
venv_with "$BENCH_VENV" bench1 'cassandra-driver==3.30.1' matplotlib
"$CQLSH_VENV/bin/cqlsh" --version 2>/dev/null || true
log "ok"
