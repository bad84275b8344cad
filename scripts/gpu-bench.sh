#!/usr/bin/env bash
# The render benchmark on a GPU machine, in one call. Prepare on the build machine (from
# the project root, after `cargo build --release`):
#   ../shared/scripts/gpu-prepare "$CARGO_TARGET_DIR/release/citytwin"
# which packs the binary into .gpu/ and the Vulkan/GL loaders into .gl/. The binary also
# needs libraries a bare GPU machine may lack; add their packages to .gl/ as well:
#   (cd .gl && apt-get download libwayland-client0 libffi8 libsqlite3-0)
# Carry both folders to the GPU machine with the tree and run there, from the project root:
#   bash scripts/gpu-bench.sh [BUILDINGS] [WIDTHxHEIGHT] [FRAMES] [MSAA] [EXTRA ARGS...]
# It prints the GPU's name, then one JSON object (see `citytwin bench render --help`).
#   bash scripts/gpu-bench.sh matrix [OUT_DIR]
# runs, one after the other, what the 1M-building goal needs (about a minute on an H200):
# 1M at 3840x2160 MSAA 1 with each schedule executor, then with per-pass GPU timings and
# triangle counts (--passes), then MSAA 4, FXAA and SMAA (anti-aliasing by post-process
# instead of multisampling), then 100k for scale; one labelled JSON line
# each, also written to OUT_DIR/gpu-bench.jsonl when OUT_DIR is given.
set -euo pipefail
[ -f .gpu/run.sh ] || { echo "no .gpu/run.sh: run gpu-prepare on the build machine first" >&2; exit 1; }

# One bench run: LABEL BUILDINGS SIZE FRAMES MSAA [EXTRA ARGS...]; prints "LABEL JSON".
one() {
  local label="$1" buildings="$2" size="$3" frames="$4" msaa="$5"
  shift 5
  local log
  log=$(mktemp)
  local json
  if ! json=$(bash .gpu/run.sh bench render --buildings "$buildings" --size "$size" \
      --frames "$frames" --msaa "$msaa" --json "$@" 2>"$log" | tail -n 1); then
    echo "$label failed:" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
  echo "$label $json"
}

if [ "${1:-}" = "matrix" ]; then
  out="${2:-}"
  runs=(
    "1M-4K-msaa1-single 1000000 3840x2160 120 1 --executor single"
    "1M-4K-msaa1-single-main 1000000 3840x2160 120 1 --executor single-main"
    "1M-4K-msaa1-multi 1000000 3840x2160 120 1 --executor multi"
    "1M-4K-msaa1-passes 1000000 3840x2160 60 1 --passes"
    "1M-4K-msaa4 1000000 3840x2160 120 4"
    "1M-4K-fxaa 1000000 3840x2160 120 1 --aa fxaa"
    "1M-4K-smaa 1000000 3840x2160 120 1 --aa smaa"
    "100k-4K-msaa1 100000 3840x2160 120 1"
  )
  status=0
  for r in "${runs[@]}"; do
    # shellcheck disable=SC2086
    if line=$(one $r); then
      echo "$line"
      [ -n "$out" ] && echo "$line" >> "$out/gpu-bench.jsonl"
    else
      status=1
    fi
  done
  exit "$status"
fi

buildings="${1:-1000000}"
size="${2:-3840x2160}"
frames="${3:-120}"
msaa="${4:-1}"
shift $(( $# < 4 ? $# : 4 ))
one "bench" "$buildings" "$size" "$frames" "$msaa" "$@"
