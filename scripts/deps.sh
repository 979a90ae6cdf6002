#!/usr/bin/env bash
# Installs what building Conveyor needs on a fresh Debian machine, beyond Rust itself:
# a C/C++ compiler and libclang (librocksdb-sys runs bindgen), Debian's RocksDB library (we link
# it instead of compiling RocksDB's C++; see the workspace Cargo.toml), make, and the DejaVu font
# the benchmarks' charts draw their text with (bench/src/plot.rs).
# curl: `conveyor-bench docker` drives the engine's BuildKit builder through the Engine API.
# As root with apt it installs what is missing; otherwise it prints what to install.
set -euo pipefail

missing=()
for pkg in libclang-dev librocksdb-dev libssl-dev g++ make pkg-config curl fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
command -v cargo >/dev/null || { echo "deps: error: cargo not found: install Rust (rustup) first" >&2; exit 1; }
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "deps: installing ${missing[*]}" >&2
  log=$(mktemp)
  if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "deps: error: apt-get install ${missing[*]} failed" >&2
    exit 1
  fi
  rm -f "$log"
else
  echo "deps: error: missing packages: ${missing[*]} (e.g. 'sudo apt-get install ${missing[*]}')" >&2
  exit 1
fi
