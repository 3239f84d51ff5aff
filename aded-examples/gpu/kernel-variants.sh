#!/bin/bash
# Times the tree-attention kernel alone (aded-verify/src/test/native/tree_attention_bench.cu) as it is, without bounds,
# in the warp layout, and in variants that each leave one part of a chunk's work out or change it: what is left when a
# part goes says what that part costs a block. Variants are sed edits of a copy of the kernel, built in parallel (nvcc,
# there).
#
#   aded-examples/gpu/kernel-variants.sh > variants.txt
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
src=$root/aded-verify/src/main/native/aded_tree_attention.cu
build=$root/aded-verify/src/test/native/build-bench.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/aded-verify/src/main/native/aded_tree_attention.h" "$work/"
declare -A edits=(
  [as-is]=''
  [queries-unrolled]='s|^  for (int i = threadIdx.x; i < N \* D; i += THREADS) {|#pragma unroll\n  for (int i = threadIdx.x; i < N * D; i += THREADS) {|'
  [no-products]='s|^      scores<T, D>(t, stage);||; s|^      weighted<T, D>(t, stage);||'
  [no-softmax]='s|^        weigh<T>(x\[w\].*||'
  [no-copies]='s|i < Tile<T, D>::CHUNK \* PIECES; i += THREADS|i < 0; i += THREADS|'
  [no-mask-reads]='s|if (row\[w\] != nullptr \&\& k0 + j >= past) {|if (false) {|'
  [chunks-of-32]='s|FIT = 8192 /|FIT = 4096 /|'
  [chunks-of-128]='s|FIT = 8192 /|FIT = 16384 /|'
  [fast-exp]='s|expf(|__expf(|g'
)
order=(as-is queries-unrolled no-products no-softmax no-copies no-mask-reads chunks-of-32 chunks-of-128 fast-exp)
for v in "${order[@]}"; do
  sed -e "${edits[$v]}" "$src" > "$work/$v.cu"
  if [ "$v" != as-is ] && cmp -s "$work/$v.cu" "$src"; then
    echo "variant $v: the edit no longer matches the kernel's source" > "$work/build-$v.txt"
    continue
  fi
  (bash "$build" "$work/$v.cu" "$work/bench-$v" > "$work/build-$v.txt" 2>&1 || echo "build failed" >> "$work/build-$v.txt") &
done
wait
for v in "${order[@]}"; do
  echo "=== $v"
  cat "$work/build-$v.txt"
  if [ -x "$work/bench-$v" ]; then
    "$work/bench-$v"
    if [ "$v" = as-is ]; then
      "$work/bench-$v" nobounds
      "$work/bench-$v" warps
    fi
  fi
done
