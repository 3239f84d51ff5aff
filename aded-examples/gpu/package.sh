#!/bin/bash
# Packs what a GPU run needs into .gpu/ (git-ignored) at the repository root, small enough for a remote machine
# that has a CUDA libtorch and a python3 but no Java: a jlink runtime, the GPU jar's classes, the benchmark and
# GPU-check mains, the dev prompts and the reference PyTorch step. The model and default datastore travel with the working tree. See docs/gpu.md.
#
#   aded-examples/gpu/package.sh [PROMPTS_JSONL]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
prompts=${1:-$root/../shared/prompts/code-dev.jsonl}
out=$root/.gpu
cd "$root"
mvn -B -q package -DskipTests -Pgpu  # test classes too: the benchmark mains come from there
rm -rf "$out" && mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Classes go exploded, not as a jar: xz packs raw class files far tighter than a deflated jar.
mkdir -p "$stage/app"
(cd "$stage/app" && unzip -q "$root/aded-examples/target/aded-gpu.jar")
cp -r aded-verify/target/test-classes/dev/aded/verify/bench "$stage/app/dev/aded/verify/"
cp aded-verify/target/test-classes/dev/aded/verify/{GraphCheck,BatchCheck,AttentionCheck}*.class "$stage/app/dev/aded/verify/"
strip --strip-unneeded "$stage"/app/native/lib/linux-x86_64/cpu/libtokenizers.so

# Modules: what jdeps finds (java.desktop for java.beans, which the chat-template engine uses), jdk.jfr to profile
# a run there (ADED_JAVA_OPTS=-XX:StartFlightRecording=...), less the
# debugging ones. Uncompressed modules and no CDS archive: xz packs them tighter than jlink does.
jlink --add-modules java.base,java.management,java.sql,jdk.unsupported,java.desktop,jdk.jfr \
  --strip-debug --no-header-files --no-man-pages --compress=0 --output "$stage/jre"
rm -f "$stage"/jre/lib/server/classes*.jsa
# java.desktop is there for java.beans alone: its graphics, sound and font libraries are never loaded (0.7 MB packed).
rm -f "$stage"/jre/lib/lib{awt,awt_xawt,awt_headless,mlib_image,fontmanager,lcms,javajpeg,splashscreen,jsound}.so
strip --strip-unneeded "$stage"/jre/lib/server/libjvm.so "$stage"/jre/lib/*.so

XZ_OPT=-9e tar -C "$stage" -cJf "$out/runtime.tar.xz" jre app
cp "$prompts" "$out/prompts.jsonl"
# The plain PyTorch step that the verifier's graphs are measured against (the reference step of issue 13).
cp "$(dirname "$prompts")/../reference/torch_step.py" "$out/torch_step.py"
du -b "$out"/* | awk '{printf "%6.1f MB  %s\n", $1/1e6, $2}'
echo "tracked files: $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1 | awk '{printf "%.1f MB", $1/1e6}') (the device carries at most 64 MiB in all)"
