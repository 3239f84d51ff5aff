#!/bin/bash
# Builds libaded_cuda_graphs.so, the verifier's CUDA helper (graph capture and replay, the tree-attention kernel),
# against the libtorch of a CUDA build of PyTorch (by default the one in python3's torch wheel), and puts it next to
# that libtorch, where LlamaModel looks for it.
#
#   aded-verify/src/main/native/build.sh [TORCH_DIR] [OUTPUT_DIR]
#
# Needs g++, nvcc (a CUDA toolkit of the libtorch's major version) and the CUDA runtime headers.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
torch_dir=${1:-$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')}
out=${2:-$torch_dir/lib}
abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || echo 1)
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
cuda=$(cd "$(dirname "$nvcc")/.." && pwd)
includes=(-I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include")
for d in "$cuda/include" $(python3 -c 'import os, nvidia.cuda_runtime as c; print(os.path.join(list(c.__path__)[0], "include"))' 2>/dev/null); do
  [ -f "$d/cuda_runtime_api.h" ] && includes+=(-I"$d")
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Hopper machine code, and PTX for later GPUs to compile at load.
"$nvcc" -O3 -std=c++17 -Xcompiler -fPIC -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
  -c "$src/aded_tree_attention.cu" -o "$work/aded_tree_attention.o"
g++ -O2 -fPIC -shared -std=c++17 -D_GLIBCXX_USE_CXX11_ABI="$abi" -DUSE_CUDA "${includes[@]}" \
  "$src/aded_cuda_graphs.cpp" "$work/aded_tree_attention.o" -o "$out/libaded_cuda_graphs.so" \
  -L"$torch_dir/lib" -L"$cuda/lib64" -ltorch_cuda -lc10_cuda -lc10 -ltorch_cpu -lcudart -Wl,-rpath,'$ORIGIN'
echo "built $out/libaded_cuda_graphs.so"
