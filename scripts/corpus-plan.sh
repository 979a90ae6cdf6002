#!/usr/bin/env bash
# A check to run by hand (not a test): `conveyor plan` on every werf.yaml of a corpus
# directory. Each must plan, or fail with a clear user error (exit 2, `Error: FILE:LINE: ...`);
# a panic (exit 101) or any other exit counts as a failure of this check.
#
# usage: scripts/corpus-plan.sh [CORPUS_DIR] (default ../shared/corpus/public)
set -uo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus/public}
conveyor=${CONVEYOR:-${CARGO_TARGET_DIR:-target}/debug/conveyor}
planned=0; refused=0; bad=0; total=0
work=$(mktemp -d)
for f in "$corpus"/*.werf.yaml; do
  total=$((total + 1))
  name=$(basename "$f" .werf.yaml)
  mkdir -p "$work/$name"; cp "$f" "$work/$name/werf.yaml"
  env -i PATH="$PATH" "$conveyor" plan --dir "$work/$name" >"$work/$name.out" 2>"$work/$name.err"; rc=$?
  msg=$(grep -v '^Warning' "$work/$name.err" | head -1)
  if [ $rc -eq 0 ]; then
    planned=$((planned + 1))
    printf '%s: planned: %s\n' "$name" "$(head -1 "$work/$name.out")"
  elif [ $rc -eq 2 ] && [[ $msg == "Error: werf.yaml:"* ]]; then
    refused=$((refused + 1))
    printf '%s: refused: %s\n' "$name" "${msg#Error: }"
  else
    bad=$((bad + 1))
    printf '%s: UNCLEAR (exit %s): %s\n' "$name" "$rc" "$msg"
  fi
done
echo "corpus plan: $total files: $planned planned, $refused refused with a clear error, $bad unclear"
rm -rf "$work"
[ $bad -eq 0 ]
