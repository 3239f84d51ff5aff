#!/bin/bash
# Builds tree_attention_bench (the tree-attention kernel timed alone, see its source) with nvcc for Hopper.
#
#   aded-verify/src/test/native/build-bench.sh [KERNEL_SOURCE] [OUTPUT]
#
# KERNEL_SOURCE defaults to the helper's aded_tree_attention.cu: another copy of it times a variant (the warp
# layout, aded_tree_attention_warps.cu, comes from the helper's folder either way).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
main=$here/../../main/native
kernel=${1:-$main/aded_tree_attention.cu}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
"$nvcc" -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -I"$main" "$here/tree_attention_bench.cu" "$kernel" \
  "$main/aded_tree_attention_warps.cu" -o "${2:-/tmp/tree_attention_bench}"
