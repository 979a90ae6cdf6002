#!/usr/bin/env bash
# A check to run by hand (not a test): renders every werf.yaml of a corpus directory with the
# reference renderer and with `conveyor render`, and compares them byte for byte.
#
# usage: scripts/corpus-check.sh [CORPUS_DIR] (default ../shared/corpus/public)
# Needs the reference renderer (GORENDER, default /tmp/gorender/gorender) and a built
# `conveyor` (CONVEYOR, default target/debug/conveyor).
set -uo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus/public}
gorender=${GORENDER:-/tmp/gorender/gorender}
conveyor=${CONVEYOR:-${CARGO_TARGET_DIR:-target}/debug/conveyor}
same=0; differ=0; both_fail=0; total=0
work=$(mktemp -d)
for f in "$corpus"/*.werf.yaml; do
  total=$((total + 1))
  name=$(basename "$f" .werf.yaml)
  mkdir -p "$work/$name"; cp "$f" "$work/$name/werf.yaml"
  env -i "$gorender" "$work/$name" >"$work/$name.go.out" 2>"$work/$name.go.err"; go_rc=$?
  env -i "$conveyor" render --dir "$work/$name" >"$work/$name.rs.out" 2>"$work/$name.rs.err"; rs_rc=$?
  if [ $go_rc -ne 0 ] && [ $rs_rc -ne 0 ]; then
    both_fail=$((both_fail + 1))
    printf '%s: both refuse\n  go: %s\n  rs: %s\n' "$name" "$(grep -v '^warning' "$work/$name.go.err" | head -1)" "$(grep -v '^Warning' "$work/$name.rs.err" | head -1)"
  elif [ $go_rc -eq 0 ] && [ $rs_rc -eq 0 ] && cmp -s "$work/$name.go.out" "$work/$name.rs.out"; then
    same=$((same + 1))
  else
    differ=$((differ + 1))
    printf '%s: DIFFERS (go exit %s, conveyor exit %s)\n' "$name" "$go_rc" "$rs_rc"
    diff "$work/$name.go.out" "$work/$name.rs.out" | head -10 | sed 's/^/    /'
    [ $go_rc -eq 0 ] || sed 's/^/    go: /' "$work/$name.go.err" | head -3
    [ $rs_rc -eq 0 ] || sed 's/^/    conveyor: /' "$work/$name.rs.err" | head -3
  fi
done
echo "corpus: $total files: $same identical, $both_fail refused by both, $differ differ"
rm -rf "$work"
[ $differ -eq 0 ]
