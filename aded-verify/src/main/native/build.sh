#!/bin/bash
# Builds libaded_cuda_graphs.so, the verifier's CUDA helper (graph capture and replay, the tree-attention kernel),
# against the libtorch of a CUDA build of PyTorch (by default the one in python3's torch wheel), and puts it next to
# that libtorch, where LlamaModel looks for it.
#
#   aded-verify/src/main/native/build.sh [TORCH_DIR] [OUTPUT_DIR]
#
# Needs g++ and the CUDA runtime headers; with nvcc (a CUDA toolkit of the libtorch's major version) it also builds
# the tree-attention kernel (on by default, -Daded.treeAttention=false to leave it out); without nvcc the helper lacks
# that kernel alone, and attention runs as DJL's operators.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
torch_dir=${1:-$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')}
out=${2:-$torch_dir/lib}
abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || echo 1)
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
cuda=/usr/local/cuda  # the toolkit's root: nvcc's, where its headers are (nvcc may be a wrapper elsewhere)
[ -x "$nvcc" ] && [ -f "$(dirname "$nvcc")/../include/cuda_runtime_api.h" ] && cuda=$(cd "$(dirname "$nvcc")/.." && pwd)
includes=(-I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include")
for d in "$cuda/include" $(python3 -c 'import os, nvidia.cuda_runtime as c; print(os.path.join(list(c.__path__)[0], "include"))' 2>/dev/null); do
  [ -f "$d/cuda_runtime_api.h" ] && includes+=(-I"$d")
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kernel=("$work/aded_tree_attention.o" "$work/aded_tree_attention_warps.o" -L"$cuda/lib64" -lcudart)
if [ -x "$nvcc" ]; then
  # Hopper machine code, and PTX for later GPUs to compile at load.
  # In parallel; a bare `wait` would hide a failed compile, so each job is waited for and its status kept.
  jobs=()
  for unit in aded_tree_attention aded_tree_attention_warps; do
    "$nvcc" -O3 -std=c++17 -Xcompiler -fPIC -gencode arch=compute_90,code=sm_90 \
      -gencode arch=compute_90,code=compute_90 -c "$src/$unit.cu" -o "$work/$unit.o" &
    jobs+=($!)
  done
  for job in "${jobs[@]}"; do
    wait "$job"
  done
else
  echo "no nvcc: building the helper without the tree-attention kernel" >&2
  kernel=(-DADED_NO_TREE_KERNEL)
fi
g++ -O2 -fPIC -shared -std=c++17 -D_GLIBCXX_USE_CXX11_ABI="$abi" -DUSE_CUDA "${includes[@]}" \
  "$src/aded_cuda_graphs.cpp" "${kernel[@]}" -o "$out/libaded_cuda_graphs.so" \
  -L"$torch_dir/lib" -ltorch_cuda -lc10_cuda -lc10 -ltorch_cpu -Wl,-rpath,'$ORIGIN'
echo "built $out/libaded_cuda_graphs.so"
