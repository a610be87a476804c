#!/usr/bin/env bash
# The option tables drive parsing, --help and the man page; this checks that
# the committed man page is the one they generate and that the user guide
# documents every option of every command (plan's in docs/plan.md, assess's in
# docs/assess.md, verify's in docs/verify.md, unload's in docs/unload.md).
#   cli_docs.sh CQLSHIFT SOURCE_DIR
set -euo pipefail
bin="$1"
src="$2"
rc=0
if ! diff -u "$src/docs/cqlshift.1" <("$bin" help --man) >/tmp/cli_docs.$$ 2>&1; then
  cat /tmp/cli_docs.$$
  echo "cli_docs: docs/cqlshift.1 is out of date: run '$bin help --man > docs/cqlshift.1'" >&2
  rc=1
fi
rm -f /tmp/cli_docs.$$
# each command's guide: docs/migrate.md, plan's docs/plan.md, assess's docs/assess.md
for cmd in migrate load plan assess verify unload backup restore; do
  doc=migrate.md
  [[ $cmd == plan ]] && doc=plan.md
  [[ $cmd == assess ]] && doc=assess.md
  [[ $cmd == verify ]] && doc=verify.md
  [[ $cmd == unload || $cmd == backup || $cmd == restore ]] && doc=unload.md
  opts=$("$bin" help "$cmd" | grep -oE '^  (-[a-z], )?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+' | sort -u)
  [[ -n "$opts" ]] || { echo "cli_docs: 'cqlshift help $cmd' lists no options" >&2; rc=1; }
  for o in $opts; do
    [[ "$o" == --help ]] && continue
    if ! grep -q -- "\`$o" "$src/docs/$doc"; then
      echo "cli_docs: $cmd option $o is not documented in docs/$doc" >&2
      rc=1
    fi
    if ! "$bin" help --man | grep -q -- "${o//-/\\\\-}"; then
      echo "cli_docs: $cmd option $o is not in the man page" >&2
      rc=1
    fi
  done
done
exit $rc
