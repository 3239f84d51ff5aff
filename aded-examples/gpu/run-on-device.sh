#!/bin/bash
# Runs the GPU checks and benchmarks on a Linux x86-64 machine with an NVIDIA GPU and a python3 that holds a CUDA
# build of PyTorch, from the folder .gpu/ that package.sh made. Results go to $OUT (or ./gpu-results).
#
#   aded-examples/gpu/run-on-device.sh [helper] [attention-check] [graphs] [batch-check] [smoke] [datastore] [bench] [bench-no-corpus]
#                                      [bench-f32] [bench-best-first] [bench-concurrency] [batch-forward] [forward]
#                                      [bench-concurrency-7b] [reference] [peers] ...
#   (no argument: all but bench-f32 and bench-best-first)
#   ADED_SINGLE_MODES: the modes of bench (default ar,pld,aded); ADED_BENCH_MODES, ADED_CONCURRENCY, ADED_PASS_NODES:
#   bench-concurrency's and bench-concurrency-7b's modes, levels and --max-pass-nodes; ADED_LIMIT: their first N prompts;
#   ADED_BENCH_ARGS: more of their bench options (say, --tree-budget 31)
#
# DJL must find a PyTorch JNI library built for this libtorch: $PYTORCH_LIBRARY_PATH/0.35.1-libdjl_torch.so
# (docs/gpu.md says how to build one; this project ships no DJL code or binaries). The step `helper` builds the
# project's own CUDA-graph helper (aded-verify/src/main/native) beside it; without it the verifier runs eagerly.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$root/gpu-results}
mkdir -p "$out"
steps=${*:-helper graphs smoke datastore bench forward reference peers}
model=$root/aded-examples/models/code-15m
prompts=$root/.gpu/prompts.jsonl
work=${ADED_GPU_WORK:-/tmp/aded-gpu}

[ -f "$root/.gpu/runtime.tar.xz" ] || { echo "no .gpu/runtime.tar.xz: run aded-examples/gpu/package.sh first" >&2; exit 1; }
mkdir -p "$work"
[ -x "$work/jre/bin/java" ] || tar -C "$work" -xJf "$root/.gpu/runtime.tar.xz"

torch_dir=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
export PYTORCH_LIBRARY_PATH=${PYTORCH_LIBRARY_PATH:-$torch_dir/lib}
# DJL names the libtorch it expects by version and flavour; give it the ones of the library it will load.
export PYTORCH_VERSION=$(python3 -c 'import torch; print(torch.__version__.split("+")[0])')
export PYTORCH_FLAVOR=cu$(python3 -c 'import torch; print((torch.version.cuda or "").replace(".", ""))')
if [ ! -f "$PYTORCH_LIBRARY_PATH/0.35.1-libdjl_torch.so" ]; then
  echo "DJL's PyTorch JNI for libtorch $PYTORCH_VERSION is missing: expected $PYTORCH_LIBRARY_PATH/0.35.1-libdjl_torch.so" \
       "(see docs/gpu.md)" >&2
  exit 1
fi
classes=$work/app
if [ -f "$root/.gpu/classes.tar.xz" ]; then  # overlay.sh: newer project classes first
  rm -rf "$work/classes" && mkdir -p "$work/classes" && tar -C "$work/classes" -xJf "$root/.gpu/classes.tar.xz"
  classes=$work/classes:$classes
fi
java=("$work/jre/bin/java" -Xmx24g -Dai.djl.offline=true ${ADED_JAVA_OPTS:-} -cp "$classes")  # ADED_JAVA_OPTS: say, a JFR recording
aded=("${java[@]}" dev.aded.examples.cli.AdedCli)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
echo "torch $PYTORCH_VERSION $PYTORCH_FLAVOR at $PYTORCH_LIBRARY_PATH" | tee -a "$out/gpu.txt"

for step in $steps; do
  case $step in
    helper)
      "$root/aded-verify/src/main/native/build.sh" 2>&1 | tee "$out/helper.txt"
      ;;
    graphs)
      # the graph path against the eager path, f16 and f32, and device memory over 10,000 replays
      for dtype in f16 f32; do
        "${java[@]}" dev.aded.verify.GraphCheck "$model" $dtype 2>&1 | tee "$out/graphs-$dtype.txt" \
          || echo "graphs $dtype: FAILED (the steps after it still run)"
      done
      ;;
    smoke)
      # generate in every mode, and chat through stdin, on the GPU
      for mode in ar pld aded; do
        "${aded[@]}" generate --device gpu --mode $mode --max-new-tokens 48 --prompt 'def fibonacci(n):' \
          --json | tee -a "$out/smoke.txt"
      done
      printf 'write a function that reverses a list\n/stats\n/quit\n' \
        | "${aded[@]}" chat --device gpu 2>&1 | tee -a "$out/smoke.txt"
      ;;
    datastore)
      stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
      site=$(python3 -c 'import site; print(" ".join(site.getsitepackages()))')
      inputs=("$stdlib")
      for s in $site; do case $s in "$stdlib"/*) ;; *) [ -d "$s" ] && inputs+=("$s") ;; esac; done
      du -sh --apparent-size "${inputs[@]}" | tee "$out/corpus.txt"
      "${aded[@]}" datastore build --tokenizer "$model" --input "${inputs[@]}" --exclude '**/networkx/**' \
        --exclude '**/sympy/**' --threads "$(nproc)" --output "$work/python.aded" 2>&1 | tail -1 | tee -a "$out/corpus.txt"
      "${aded[@]}" datastore info "$work/python.aded" > "$out/datastore-info.json"
      ;;
    bench|bench-f32|bench-best-first|bench-no-corpus|bench-concurrency|bench-concurrency-7b)
      ds=${ADED_DATASTORE:-$work/python.aded}  # ADED_DATASTORE: another datastore, such as the embedded one
      [ -f "$ds" ] || { echo "no $ds: run the datastore step first" >&2; exit 1; }
    ;;&
    bench)
      "${aded[@]}" bench --device gpu --model "$model" --datastore "$ds" --prompts "$prompts" \
        --modes ${ADED_SINGLE_MODES:-ar,pld,aded} --max-new-tokens 128 --json "$out/bench-gpu.json" 2>&1 | tee "$out/bench-gpu.txt"
      ;;
    bench-no-corpus)
      # prompts the corpus does not help (prose, shuffled words): cost-aware aded must not fall behind ar
      "${aded[@]}" bench --device gpu --model "$model" --datastore "$ds" \
        --prompts "$root/aded-examples/data/no-corpus.jsonl" --modes ar,pld,aded --max-new-tokens 128 \
        --json "$out/bench-gpu-no-corpus.json" 2>&1 | tee "$out/bench-gpu-no-corpus.txt"
      ;;
    bench-f32)
      # f32 on the GPU: no f16 rounding ties, so every output must equal plain decoding's
      "${aded[@]}" bench --device gpu --dtype f32 --model "$model" --datastore "$ds" --prompts "$prompts" \
        --modes ar,pld,aded --max-new-tokens 128 --json "$out/bench-gpu-f32.json" 2>&1 | tee "$out/bench-gpu-f32.txt"
      ;;
    bench-best-first)
      # the other drafter, against its own plain-decoding run
      "${aded[@]}" bench --device gpu --model "$model" --datastore "$ds" --prompts "$prompts" --modes ar,aded \
        --drafter best-first --max-new-tokens 128 --json "$out/bench-gpu-best-first.json" 2>&1 \
        | tee "$out/bench-gpu-best-first.txt"
      ;;
    attention-check)
      # the helper's tree-attention kernel against DJL's operators on random inputs, f16 and f32
      for dtype in f16 f32; do
        "${java[@]}" dev.aded.verify.AttentionCheck $dtype 2>&1 | tee "$out/attention-check-$dtype.txt" \
          || echo "attention-check $dtype: FAILED (the steps after it still run)"
      done
      ;;
    batch-check)
      # batched passes (graphs per batch bucket) against each session's own pass, f16 and f32
      for dtype in f16 f32; do
        "${java[@]}" dev.aded.verify.BatchCheck "$model" $dtype 2>&1 | tee "$out/batch-check-$dtype.txt" \
          || echo "batch-check $dtype: FAILED (the steps after it still run)"
      done
      ;;
    batch-forward)
      # one pass over B sequences of 1 and 16 nodes against one sequence's, 7B shape and code-15m
      # (ADED_BATCH_SHAPES: context, batches and nodes; ADED_BATCH_MODELS: "7b", "15m" or both)
      shapes=${ADED_BATCH_SHAPES:-512 1,4,16,64 1,16}
      case ${ADED_BATCH_MODELS:-7b 15m} in *7b*)
        "${java[@]}" dev.aded.verify.bench.BatchBench random7b gpu $shapes 2>&1 | tee "$out/batch-7b.txt" ;; esac
      case ${ADED_BATCH_MODELS:-7b 15m} in *15m*)
        "${java[@]}" dev.aded.verify.bench.BatchBench "$model" gpu $shapes 2>&1 | tee "$out/batch-15m.txt" ;; esac
      ;;
    bench-concurrency|bench-concurrency-7b)
      # N concurrent streams over the dev prompts, each mode against its own single-stream run; -7b: the same on the
      # 7B shape with random weights (random-llama.py, code-15m's tokenizer), a pass that reads 13 GB of weights,
      # where batching pays most; 64 new tokens, the text being meaningless
      m=$model modes=ar,pld,aded tokens=128
      if [ "$step" = bench-concurrency-7b ]; then
        m=$work/random-7b modes=ar,aded tokens=64
        [ -f "$m/model.safetensors" ] || python3 "$root/aded-examples/gpu/random-llama.py" "$model" "$m" \
          | tee "$out/random-7b.txt"
      fi
      "${aded[@]}" bench --device gpu --model "$m" --datastore "$ds" --prompts "$prompts" \
        ${ADED_LIMIT:+--limit $ADED_LIMIT} --modes ${ADED_BENCH_MODES:-$modes} --max-new-tokens $tokens \
        --concurrency ${ADED_CONCURRENCY:-1,4,16,64} \
        ${ADED_PASS_NODES:+--max-pass-nodes $ADED_PASS_NODES} ${ADED_BENCH_ARGS:-} --json "$out/$step.json" 2>&1 \
        | tee "$out/$step.txt"
      ;;
    forward)
      # graph replay, then the eager path of the same code (-Daded.cudaGraphs=false)
      for steps_mode in ${ADED_FORWARD_MODES:-graphs eager}; do
        flag=$([ $steps_mode = eager ] && echo -Daded.cudaGraphs=false || true)
        "${java[@]}" $flag dev.aded.verify.bench.ForwardBench random7b gpu 512 1,16,64,128 2>&1 \
          | tee "$out/forward-7b-$steps_mode.txt"
        "${java[@]}" $flag dev.aded.verify.bench.ForwardBench "$model" gpu 512 1,16,64,128 2>&1 \
          | tee "$out/forward-15m-$steps_mode.txt"
      done
      ;;
    reference)
      # the plain PyTorch step: Python eager, TorchScript and CUDA graph replay, on the same machine
      python3 "$root/.gpu/torch_step.py" 2>&1 | tee "$out/reference.txt"
      ;;
    peers)
      # Hugging Face transformers, greedy and prompt lookup, same model and prompts
      python3 "$root/aded-examples/gpu/peers.py" "$model" "$prompts" 128 ${ADED_PEER_PROMPTS:-} 2>&1 \
        | grep -v Warning | tee "$out/peers.txt"
      ;;
    *) echo "unknown step '$step': expected helper, graphs, batch-check, smoke, datastore, bench, bench-no-corpus," \
         "bench-f32, bench-best-first, bench-concurrency, batch-forward, forward, reference or peers" >&2; exit 2 ;;
  esac
done
