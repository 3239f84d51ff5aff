# Sums the device profiles BatchBench writes (-Daded.profile=DIR: DIR/batch-<B>x<nodes>.p<passes>.json, Chrome
# traces of libtorch's Kineto profiler) per pass: kernels and their GPU time, the span from a pass's first kernel to
# its last (GPU time plus the gaps between kernels), copies, and the kernels that cost most. A pass's wall time
# above its span is host time; a span above the kernel time is gaps between kernels.
#
#   python3 trace-summary.py TRACE.json... [--top N]
import json
import re
import sys
from collections import defaultdict


def short(name):
    name = re.sub(r"^void ", "", name)
    # Template arguments make kernel names pages long: keep the outer ones (the functor an elementwise kernel
    # applies, say), drop what is nested deeper.
    depth, out = 0, []
    for ch in name:
        if ch == "<":
            depth += 1
            if depth <= 2:
                out.append("<")
        elif ch == ">":
            depth -= 1
            if depth <= 1:
                out.append(">")
        elif depth <= 1:
            out.append(ch)
    return "".join(out)[:110]


def summary(path, top):
    m = re.search(r"\.p(\d+)\.json$", path)
    passes = int(m.group(1)) if m else 1
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    kernels = [e for e in events if e.get("cat") == "kernel" and e.get("ph") == "X"]
    copies = [e for e in events if e.get("cat") in ("gpu_memcpy", "gpu_memset") and e.get("ph") == "X"]
    if not kernels:
        print("%s: no kernels recorded" % path)
        return
    busy = sum(e["dur"] for e in kernels)
    span = max(e["ts"] + e["dur"] for e in kernels) - min(e["ts"] for e in kernels)
    by = defaultdict(lambda: [0, 0.0])
    for e in kernels:
        b = by[short(e["name"])]
        b[0] += 1
        b[1] += e["dur"]
    print("%s: %d passes; a pass: %.0f kernels, %.1f us of kernels, %.1f us from the first kernel to the last"
          " (all passes' span / passes, gaps between passes included), copies %.1f us"
          % (path, passes, len(kernels) / passes, busy / passes, span / passes,
             sum(e["dur"] for e in copies) / passes))
    # A graph replay's kernels carry the correlation id of the cudaGraphLaunch that ran them.
    launches = {e["args"]["correlation"] for e in events if e.get("ph") == "X"
                and e.get("name", "").startswith("cudaGraphLaunch") and "correlation" in e.get("args", {})}
    graphs = defaultdict(list)
    for e in kernels:
        c = e.get("args", {}).get("correlation")
        if c in launches:
            graphs[c].append(e)
    if graphs:
        spans = sorted(max(k["ts"] + k["dur"] for k in g) - min(k["ts"] for k in g) for g in graphs.values())
        inside = sum(sum(k["dur"] for k in g) for g in graphs.values()) / len(graphs)
        print("  graph replays: %d, %.0f kernels each; a replay's span: median %.1f us (min %.1f, max %.1f),"
              " %.1f us of it kernels" % (len(graphs), sum(len(g) for g in graphs.values()) / len(graphs),
                                          spans[len(spans) // 2], spans[0], spans[-1], inside))
    print("  %8s %8s %6s  %s" % ("us/pass", "n/pass", "share", "kernel"))
    for name, (n, dur) in sorted(by.items(), key=lambda kv: -kv[1][1])[:top]:
        print("  %8.1f %8.1f %5.1f%%  %s" % (dur / passes, n / passes, 100 * dur / busy, name))


args = sys.argv[1:]
top = 25
if "--top" in args:
    i = args.index("--top")
    top = int(args[i + 1])
    del args[i:i + 2]
for p in args:
    summary(p, top)
