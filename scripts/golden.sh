#!/usr/bin/env bash
# Regenerates the expected outputs of the renderer's golden cases from the reference renderer
# (Go's text/template + sprig; a developer tool that is not part of the project: build it with
# ../shared/tools/gorender/build.sh, or point GORENDER at it).
#
# usage: scripts/golden.sh [CASE_DIR...]     (default: every coordinator/tests/render/cases/*)
#
# Each case directory holds a werf.yaml, the files it reads, an optional `env` file of KEY=VALUE
# lines (the only environment the render sees), and the oracle's result: `expected.out`
# (stdout, exact bytes) when it renders, `expected.err` (its message) when Go refuses it.
set -euo pipefail
cd "$(dirname "$0")/.."
gorender=${GORENDER:-/tmp/gorender/gorender}
[ -x "$gorender" ] || { echo "golden: no reference renderer at $gorender (GORENDER=...)" >&2; exit 1; }
[ $# -gt 0 ] || set -- coordinator/tests/render/cases/*/
for dir in "$@"; do
  dir=${dir%/}
  envs=()
  [ -f "$dir/env" ] && mapfile -t envs < <(grep -v '^\s*$' "$dir/env")
  rm -f "$dir/expected.out" "$dir/expected.err"
  out=$(mktemp) err=$(mktemp)
  if env -i "${envs[@]}" "$gorender" "$dir" >"$out" 2>"$err"; then
    mv "$out" "$dir/expected.out"; rm -f "$err"
  else
    grep -v '^warning: ' "$err" > "$dir/expected.err" || true; rm -f "$out" "$err"
  fi
done
