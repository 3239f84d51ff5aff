# GPU time of the pieces of a code-15m verifier step by node count, to see what a tree of n nodes costs over one
# token: each piece is captured 200 times into one CUDA graph and replayed, so host time is gone and launch gaps
# inside a graph are counted. Shapes are those LlamaModel runs (hidden 384 plus the constant column, padded to 392;
# q/k/v 10 heads of 64; gate-up 2048; vocab 8192; 2 kv heads, groups of 3), f16, 512 cache rows.
# Run on the GPU machine: python3 kernels.py
import torch

torch.manual_seed(0)
dev, dt = "cuda", torch.float16
H, QH, KV, D, I, V, KEYS = 392, 6, 2, 64, 1024, 8192, 512
G = QH // KV
REPS = 200


def gpu_us(fn):
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(REPS):
            fn()
    g.replay()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(5):
        a, b = torch.cuda.Event(True), torch.cuda.Event(True)
        a.record()
        g.replay()
        b.record()
        torch.cuda.synchronize()
        best = min(best, a.elapsed_time(b) * 1000 / REPS)
    return best


w = {"qkv": (10 * D, H), "out": (H, QH * D), "gate_up": (2 * I, H), "down": (H, I), "head": (V, H)}
W = {k: torch.randn(*s, device=dev, dtype=dt) * 0.02 for k, s in w.items()}
cache = torch.randn(2 * KV, KEYS, D, device=dev, dtype=dt)
rows = []
for n in (1, 2, 4, 8, 16, 32, 64):
    r = {"n": n}
    for k, (o, i) in w.items():
        x = torch.randn(n, i, device=dev, dtype=dt)
        r[k] = gpu_us(lambda: torch.nn.functional.linear(x, W[k]))
        r[k + " W·xT"] = gpu_us(lambda: torch.mm(W[k], x.t()).t().contiguous())
    q = torch.randn(n, QH, D, device=dev, dtype=dt)
    mask = torch.zeros(G * n, KEYS, device=dev, dtype=dt)

    def attention():
        g = q.reshape(n, KV, G, D).permute(1, 2, 0, 3).reshape(KV, 1, G * n, D) if n > 1 else q.reshape(KV, 1, G, D)
        s = torch.matmul(g, cache[:KV].unsqueeze(1).transpose(2, 3)) + mask
        o = torch.matmul(torch.softmax(s, -1, dtype=dt), cache[KV:].unsqueeze(1))
        return o.reshape(KV, G, n, D).permute(2, 0, 1, 3).reshape(n, QH * D) if n > 1 else o.reshape(1, QH * D)

    def fused():
        g = q.reshape(n, KV, G, D).permute(1, 2, 0, 3).reshape(1, KV, G * n, D)
        o = torch.nn.functional.scaled_dot_product_attention(g, cache[:KV].unsqueeze(0), cache[KV:].unsqueeze(0),
                                                             attn_mask=mask)
        return o.reshape(KV, G, n, D).permute(2, 0, 1, 3).reshape(n, QH * D)

    r["attention"] = gpu_us(attention)
    r["attention sdpa"] = gpu_us(fused)
    x = torch.randn(n, H, device=dev, dtype=dt)
    r["norm+div"] = gpu_us(lambda: x / torch.linalg.vector_norm(x, dim=-1, keepdim=True))
    logits = torch.randn(n, V, device=dev, dtype=dt)
    r["argmax"] = gpu_us(lambda: torch.argmax(logits, -1))
    rows.append(r)

# The layer as LlamaModel.layer issues it in a graph, piece by piece, and the per-pass pieces around the layers.
ROWS, L = 2048, 8
kv_cache = torch.randn(L, 2 * KV, ROWS, D, device=dev, dtype=dt)
R = torch.zeros(D, D, device=dev, dtype=dt)
table = torch.randn(2 * ROWS, 2 * D, device=dev, dtype=dt)
emb = torch.randn(V, H, device=dev, dtype=dt)
for r in rows:
    n = r["n"]
    h = torch.randn(n, H, device=dev, dtype=dt)
    inp = torch.zeros(n * (2 + 10 + KEYS) + 64, device=dev)
    ids = torch.zeros(n, dtype=torch.long, device=dev)
    rope_rows = torch.zeros(n, 10, dtype=torch.long, device=dev)
    write = torch.arange(n, device=dev) + 100
    rope = torch.embedding(table, rope_rows).reshape(n, 10, 2 * D)
    cos, sin = rope[:, :, :D], rope[:, :, D:]
    qkv = torch.randn(n, 10, D, device=dev, dtype=dt)
    mask = torch.zeros(G * n, KEYS, device=dev, dtype=dt)
    moves = torch.full((64,), ROWS - 1, dtype=torch.long, device=dev)

    def inputs():
        t = inp[:n].to(torch.long)
        rr = inp[n:n * 11].to(torch.long).reshape(n, 10)
        w_ = inp[n * 11:n * 12].to(torch.long)
        m = inp[n * 12 + 64:n * 12 + 64 + n * KEYS].to(dt).reshape(n, KEYS).tile(G, 1)
        return t, rr, w_, m

    def moved():
        src = kv_cache[:, :, moves[:32]]
        kv_cache[:, :, moves[32:]] = src

    def roped():
        return qkv * cos + torch.matmul(qkv, R) * sin

    def cache_write():
        kv_cache[0][:, write] = qkv[:, QH:].permute(1, 0, 2)

    def mlp():
        gu = torch.nn.functional.linear(h / torch.linalg.vector_norm(h, dim=-1, keepdim=True), W["gate_up"])
        g, u = gu[:, :I], gu[:, I:]
        return torch.addmm(h, g * torch.sigmoid(g) * u, W["down"].t())

    def mlp_features_first():  # gate and up as blocks of whole rows: tried, left out (docs/benchmarks.md)
        gu = torch.mm(W["gate_up"], (h / torch.linalg.vector_norm(h, dim=-1, keepdim=True)).t())
        g, u = gu[:I], gu[I:]
        return torch.addmm(h, (g * torch.sigmoid(g) * u).t(), W["down"].t())

    r["pass: inputs"] = gpu_us(inputs)
    r["pass: moves"] = gpu_us(moved)
    r["pass: embed+rope"] = gpu_us(lambda: (torch.embedding(emb, ids),
                                            torch.embedding(table, rope_rows).reshape(n, 10, 2 * D)))
    r["layer: rope"] = gpu_us(roped)
    r["layer: write"] = gpu_us(cache_write)
    r["layer: mlp"] = gpu_us(mlp)
    r["layer: mlp W·xT"] = gpu_us(mlp_features_first)

keys = [k for k in rows[0] if k != "n"]
print("GPU µs per operation (CUDA graph of %d, best of 5), code-15m shapes, f16, %d cache rows" % (REPS, KEYS))
print("%-16s" % "n" + "".join("%9d" % r["n"] for r in rows))
for k in keys:
    print("%-16s" % k + "".join("%9.2f" % r[k] for r in rows))
