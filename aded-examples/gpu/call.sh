#!/bin/bash
# Runs a plan of run-on-device.sh steps in one device call and packs everything they wrote into $OUT/results.tgz
# after each step: the device sends back a limited number of files, and a call cut short by its time limit still
# returns what the steps before finished. A step that would start after LIMIT seconds (default 480) is skipped.
#
#   aded-examples/gpu/call.sh PLAN        (there; batching.plan is issue 14's)
#
# PLAN has a step a line: a name (the folder its results go to), then a shell command evaluated in the repository
# root with OUT set to that folder, $R naming run-on-device.sh and $D the embedded datastore; blank lines and
# # comments are skipped. For instance:
#   att     $R helper attention-check
#   c-16    ADED_DATASTORE=$D ADED_BENCH_MODES=aded ADED_CONCURRENCY=1,16 $R bench-concurrency
#   prof    ADED_JAVA_OPTS="-Daded.profile=/tmp/prof" ADED_BATCH_MODELS=15m $R batch-forward \
#           && python3 aded-examples/gpu/trace-summary.py /tmp/prof/*.json > $OUT/summary.txt   (one line)
#
# Before the steps it builds the project's helper and, where the machine lacks it, DJL's JNI by the ignored
# .djl-jni/build.sh (this project ships none of DJL's code or build scripts: docs/gpu.md says what to compile).
set -uo pipefail
plan=${1:?usage: call.sh PLAN}
root=$(cd "$(dirname "$0")/../.." && pwd)
start=$(date +%s)
limit=${LIMIT:-480}
results=$(mktemp -d)
out=${OUT:-$root/gpu-results}
mkdir -p "$out"
log() { echo "[$(( $(date +%s) - start ))s] $*" | tee -a "$results/steps.txt"; }
pack() { tar -C "$results" -czf "$out/results.tgz" .; }
lib=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')/lib
if [ ! -f "$lib/0.35.1-libdjl_torch.so" ]; then
  bash "$root/.djl-jni/build.sh" > "$results/jni.txt" 2>&1 &
fi
"$root/aded-verify/src/main/native/build.sh" > "$results/helper.txt" 2>&1  # always: the source may have changed
wait
log "built"
while read -r name rest; do
  case $name in ''|'#'*) continue ;; esac
  if [ $(( $(date +%s) - start )) -ge "$limit" ]; then
    log "skip $name"
    continue
  fi
  log "start $name"
  mkdir -p "$results/$name"
  (cd "$root" && export OUT="$results/$name" R=aded-examples/gpu/run-on-device.sh \
     D="$root/aded-examples/models/code-15m/default.aded" && eval "$rest") < /dev/null > "$results/$name/log.txt" 2>&1
  log "end $name rc=$?"
  pack
done < "$plan"
log done
pack
