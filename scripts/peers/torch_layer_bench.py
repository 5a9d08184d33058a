#!/usr/bin/env python3
"""PyTorch peer of native/bench/layer_bench.cpp: fwd+bwd of one adapted linear layer.

Same work per iteration as the native bench: frozen base (y = x·Wᵀ, dx; no weight gradient) plus
the adapter's forward and backward with autograd. The base runs in BF16 (x rounded to BF16) when
--base bf16, adapters in F32, as MoRNative does. MoR is written two ways: the straightforward
per-expert loop a user would write from the paper, and the rank-expanded form (MOR.md §2).

  python3 scripts/peers/torch_layer_bench.py --device cuda --T 4096 --base bf16 --iters 20 [--json]
"""
import argparse
import json
import time

import torch


def timed(fn, iters, device):
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1000.0 / iters


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--T", type=int, default=4096)
    p.add_argument("--d-in", type=int, default=4096)
    p.add_argument("--d-out", type=int, default=11008)
    p.add_argument("--N", type=int, default=8)
    p.add_argument("--r", type=int, default=32)
    p.add_argument("--base", choices=["f32", "bf16"], default="bf16")
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    dev = a.device
    torch.backends.cuda.matmul.allow_tf32 = False
    g = torch.Generator(device="cpu").manual_seed(0)
    wdt = torch.bfloat16 if a.base == "bf16" else torch.float32
    W = (torch.randn(a.d_out, a.d_in, generator=g) * 0.02).to(dev, wdt)
    x = torch.randn(a.T, a.d_in, generator=g).to(dev).requires_grad_(True)
    dy = torch.randn(a.T, a.d_out, generator=g).to(dev)
    s = 2.0

    def param(*shape, scale=0.01):
        return (torch.randn(*shape, generator=g) * scale).to(dev).requires_grad_(True)

    A, B = param(a.r, a.d_in), param(a.d_out, a.r)
    Wg, wA, wB = param(a.N, a.d_in), param(a.N, a.r, scale=1.0), param(a.N, a.d_out, scale=1.0)
    Am, Bm = param(a.N, a.r, a.d_in), param(a.N, a.d_out, a.r)

    def base_out():
        return (x.to(wdt) @ W.t()).float()

    def run(y):
        y.backward(dy)

    def lora():
        run(base_out() + s * ((x @ A.t()) @ B.t()))

    def mor_naive():
        gate = torch.softmax(x @ Wg.t(), dim=-1)
        h = x @ A.t()
        out = base_out()
        for i in range(a.N):
            out = out + s * gate[:, i : i + 1] * (wB[i] * ((h * wA[i]) @ B.t()))
        run(out)

    def mor_expanded():
        gate = torch.softmax(x @ Wg.t(), dim=-1)
        h = x @ A.t()
        P = (gate[:, :, None] * wA[None] * h[:, None, :]).reshape(a.T, a.N * a.r)
        Q = (wB[:, :, None] * B[None]).permute(1, 0, 2).reshape(a.d_out, a.N * a.r)
        run(base_out() + s * (P @ Q.t()))

    def moe_lora():
        gate = torch.softmax(x @ Wg.t(), dim=-1)
        out = base_out()
        for i in range(a.N):
            out = out + s * gate[:, i : i + 1] * ((x @ Am[i].t()) @ Bm[i].t())
        run(out)

    res = {
        "base": timed(lambda: run(base_out()), a.iters, dev),
        "lora": timed(lora, a.iters, dev),
        "moe_lora": timed(moe_lora, a.iters, dev),
        "mor_naive": timed(mor_naive, a.iters, dev),
        "mor_expanded": timed(mor_expanded, a.iters, dev),
    }
    name = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
    if a.json:
        print(json.dumps({"peer": "pytorch " + torch.__version__, "device": name, "base_dtype": a.base, "T": a.T,
                          "d_in": a.d_in, "d_out": a.d_out, "N": a.N, "r": a.r, "ms": res}))
    else:
        print(f"# pytorch {torch.__version__} on {name}, base {a.base}, T={a.T} d_in={a.d_in} d_out={a.d_out} N={a.N} r={a.r}")
        for k, v in res.items():
            print(f"{k:14s} {v:10.3f} ms  overhead {100.0 * (v - res['base']) / res['base']:6.1f}%")


if __name__ == "__main__":
    main()
