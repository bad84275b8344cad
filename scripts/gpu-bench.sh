#!/usr/bin/env bash
# The 1M-building render benchmark on a GPU machine, in one call. Prepare on the build
# machine (from the project root, after `cargo build --release`):
#   ../shared/scripts/gpu-prepare "$CARGO_TARGET_DIR/release/citytwin"
# which packs the binary into .gpu/ and the Vulkan/GL loaders into .gl/. The binary also
# needs libraries a bare GPU machine may lack; add their packages to .gl/ as well:
#   (cd .gl && apt-get download libwayland-client0 libffi8 libsqlite3-0)
# Carry both folders to the GPU machine with the tree and run there, from the project root:
#   bash scripts/gpu-bench.sh [BUILDINGS] [WIDTHxHEIGHT] [FRAMES] [MSAA]
# It prints the GPU's name, then one JSON object (see `citytwin bench render --help`).
set -euo pipefail
buildings="${1:-1000000}"
size="${2:-3840x2160}"
frames="${3:-120}"
msaa="${4:-1}"
[ -f .gpu/run.sh ] || { echo "no .gpu/run.sh: run gpu-prepare on the build machine first" >&2; exit 1; }
log=$(mktemp)
if ! bash .gpu/run.sh bench render --buildings "$buildings" --size "$size" --frames "$frames" --msaa "$msaa" --json 2>"$log"; then
  tail -n 40 "$log" >&2
  exit 1
fi
