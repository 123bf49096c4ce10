"""PyTorch reference for the hybrid's neural part, same architecture and sizes
as src/models/{bilstm,transformer,fusion}.rs, for the CPU latency/throughput
ratio in docs/BENCHMARKS.md.

    pip install torch   # PyPI wheel
    python3 inference/benches/torch_reference.py [--config small|seed] [--threads N] [--device cpu|cuda]

`--device cuda` (the GPU half of the comparison, against the Rust bench built
with `--features cuda`) exits with an error when torch sees no CUDA device.

Prints JSON: batch-1 median latency (ms) and batch-256 throughput (rows/s).
"""
import argparse, json, math, sys, time
import torch
from torch import nn

SIZES = {
    # n_features = 8 clinical + 6 genes + 5 drugs + dose + 3 vital means = 23
    "small": dict(F=23, C=6, T=24, H=32, L=2, D=32, heads=4, layers=2, ff=64, fusion=(64, 32)),
    "seed": dict(F=23, C=6, T=48, H=256, L=3, D=512, heads=8, layers=4, ff=2048, fusion=(512, 128)),
}


class Encoder(nn.Module):
    def __init__(self, F, D, heads, layers, ff):
        super().__init__()
        self.value_w = nn.Parameter(torch.randn(F, D))
        self.feat_emb = nn.Parameter(torch.randn(F, D) * 0.02)
        self.miss_emb = nn.Parameter(torch.randn(F, D) * 0.02)
        self.cls = nn.Parameter(torch.randn(1, 1, D) * 0.02)
        pe = torch.zeros(F + 1, D)
        for pos in range(F + 1):
            for i in range(D):
                a = pos / 10000 ** ((2 * (i // 2)) / D)
                pe[pos, i] = math.sin(a) if i % 2 == 0 else math.cos(a)
        self.register_buffer("pe", pe)
        layer = nn.TransformerEncoderLayer(D, heads, ff, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(D)

    def forward(self, values, missing):
        tok = values.unsqueeze(-1) * self.value_w + self.feat_emb + missing.unsqueeze(-1) * self.miss_emb
        h = torch.cat([self.cls.expand(values.shape[0], 1, -1), tok], 1) + self.pe
        return self.ln_f(self.enc(h)[:, 0])


class Hybrid(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.lstm = nn.LSTM(s["C"], s["H"], s["L"], batch_first=True, bidirectional=True)
        self.tr = Encoder(s["F"], s["D"], s["heads"], s["layers"], s["ff"])
        h1, h2 = s["fusion"]
        self.head = nn.Sequential(nn.Linear(2 + 2 * s["H"] + s["D"], h1), nn.GELU(), nn.Linear(h1, h2), nn.GELU(), nn.Linear(h2, 2))
        self.H = s["H"]

    def forward(self, gbdt, seq, values, missing):
        out, _ = self.lstm(seq)
        l = torch.cat([out[:, -1, : self.H], out[:, 0, self.H :]], 1)
        return self.head(torch.cat([gbdt, l, self.tr(values, missing)], 1))


def timeit(fn, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="small", choices=SIZES)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit(f"--device {a.device}: torch {torch.__version__} sees no CUDA device "
                 f"(built for CUDA {torch.version.cuda}); run on a GPU machine or use --device cpu")
    s = SIZES[a.config]
    m = Hybrid(s).eval().to(dev)
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "config": a.config, "device": str(dev)}
    if dev.type == "cuda":
        res["gpu"] = torch.cuda.get_device_name(dev)
    with torch.inference_mode():
        for b in (1, 256):
            x = tuple(t.to(dev) for t in (torch.randn(b, 2), torch.randn(b, s["T"], s["C"]), torch.randn(b, s["F"]), torch.zeros(b, s["F"])))
            # .cpu() copies the result back, so GPU timings include completion (as the Rust bench's to_vec2).
            f = lambda: torch.sigmoid(m(*x)).cpu().numpy()
            for _ in range(5):
                f()
            t = timeit(f, 50 if b == 1 else 10)
            res[f"batch{b}_median_ms"] = t * 1e3
            res[f"batch{b}_rows_per_s"] = b / t
    print(json.dumps(res))


if __name__ == "__main__":
    main()
