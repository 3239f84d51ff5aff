#!/bin/bash
# Between two GPU runs that change only the project's own classes: packs them into .gpu/classes.tar.xz (git-ignored),
# which run-on-device.sh unpacks ahead of the packed runtime's classes, instead of packing the whole runtime again
# (package.sh).
#
# The packed runtime's dependencies are the minimized jar's of its day: after a change that uses a class of a
# dependency the code did not use before, run package.sh instead (a run otherwise stops with NoClassDefFoundError).
#
#   aded-examples/gpu/overlay.sh     (after mvn -o -q test-compile)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for m in aded-core aded-datastore aded-mcts aded-verify aded-examples; do
  cp -r "$root/$m/target/classes/." "$stage/"
done
mkdir -p "$stage/dev/aded/verify"
cp -r "$root/aded-verify/target/test-classes/dev/aded/verify/bench" "$stage/dev/aded/verify/"
cp "$root"/aded-verify/target/test-classes/dev/aded/verify/{GraphCheck,BatchCheck,AttentionCheck}*.class "$stage/dev/aded/verify/"
rm -rf "$stage/native" "$stage/models"
XZ_OPT=-9e tar -C "$stage" -cJf "$root/.gpu/classes.tar.xz" .
du -b "$root/.gpu/classes.tar.xz"
