#!/bin/bash
# Builds libaded_cuda_graphs.so, the verifier's CUDA-graph helper, against the libtorch of a CUDA build of PyTorch
# (by default the one in python3's torch wheel), and puts it next to that libtorch, where LlamaModel looks for it.
#
#   aded-verify/src/main/native/build.sh [TORCH_DIR] [OUTPUT_DIR]
#
# Needs g++ and the CUDA runtime headers (a CUDA toolkit, or the nvidia-cuda-runtime wheel PyTorch depends on).
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)/aded_cuda_graphs.cpp
torch_dir=${1:-$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')}
out=${2:-$torch_dir/lib}
abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || echo 1)
includes=(-I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include")
for d in /usr/local/cuda/include $(python3 -c 'import os, nvidia.cuda_runtime as c; print(os.path.join(list(c.__path__)[0], "include"))' 2>/dev/null); do
  [ -f "$d/cuda_runtime_api.h" ] && includes+=(-I"$d")
done
g++ -O2 -fPIC -shared -std=c++17 -D_GLIBCXX_USE_CXX11_ABI="$abi" -DUSE_CUDA "${includes[@]}" "$src" \
  -o "$out/libaded_cuda_graphs.so" -L"$torch_dir/lib" -ltorch_cuda -lc10_cuda -lc10 -ltorch_cpu -Wl,-rpath,'$ORIGIN'
echo "built $out/libaded_cuda_graphs.so"
