#!/bin/bash
# Between two GPU runs that change only the project's own classes: copies them to .gpu/classes (git-ignored), which
# run-on-device.sh puts ahead of the packed runtime's, instead of packing the whole runtime again (package.sh).
#
#   aded-examples/gpu/overlay.sh     (after mvn -o -q test-compile)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$root/.gpu/classes" && mkdir -p "$root/.gpu/classes"
for m in aded-core aded-datastore aded-mcts aded-verify aded-examples; do
  cp -r "$root/$m/target/classes/." "$root/.gpu/classes/"
done
mkdir -p "$root/.gpu/classes/dev/aded/verify"
cp -r "$root/aded-verify/target/test-classes/dev/aded/verify/bench" "$root/.gpu/classes/dev/aded/verify/"
cp "$root"/aded-verify/target/test-classes/dev/aded/verify/GraphCheck*.class "$root/.gpu/classes/dev/aded/verify/"
rm -rf "$root/.gpu/classes/native" "$root/.gpu/classes/models"
du -sh "$root/.gpu/classes"
