#!/usr/bin/env python3
"""PyTorch peer of `mor bench train`: one optimizer step (forward + backward + clip + AdamW) on the same
Hugging Face model folder `mor bench train --write-model` wrote, on the same token batch, printing the
same JSON record (camelCase, one line) so docs/PERFORMANCE.md can put both side by side.

Methods:
  peft-lora  transformers' LlamaForCausalLM (SDPA attention, BF16) + PEFT LoRA: what a user would pick
  lora       the same model with a hand-written LoRA (F32 adapters, as PEFT's autocast makes them)
  mor        the same model with a hand-written MoR layer in the rank-expanded form of MOR.md §2
Without transformers the model is the minimal LLaMA below (same math: RMSNorm, HF rotate_half RoPE,
GQA SDPA attention, SwiGLU); the record says which one ran.

  python3 torch_train_bench.py --model DIR --write-data BATCH.jsonl --batch 1 --seq-len 2048   # make the batch
  python3 torch_train_bench.py --model DIR --data BATCH.jsonl --method peft-lora --steps 5 --json
"""
import argparse
import json
import math
import os
import platform
import resource
import statistics
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def read_safetensors(path, device, dtype):
    """The whole file as {name: tensor}: an 8-byte header length, a JSON header, then the data."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[lo:hi]), dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = t.to(device=device, dtype=dtype if t.dim() > 1 else torch.float32)
    return out


class RMSNorm(nn.Module):
    def __init__(self, weight, eps):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight).to(x.dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class MinimalLlama(nn.Module):
    """LLaMA forward in plain PyTorch, for machines without transformers."""

    def __init__(self, cfg, w, dtype):
        super().__init__()
        self.cfg = cfg
        d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
        self.nh, self.nkv = nh, cfg.get("num_key_value_heads", nh)
        self.hd = cfg.get("head_dim", d // nh)
        eps = cfg.get("rms_norm_eps", 1e-6)

        def lin(name):
            m = nn.Linear(w[name].shape[1], w[name].shape[0], bias=False, dtype=dtype, device=w[name].device)
            m.weight = nn.Parameter(w[name], requires_grad=False)
            return m

        self.embed = nn.Embedding.from_pretrained(w["model.embed_tokens.weight"], freeze=True)
        self.layers = nn.ModuleList()
        for i in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            layer = nn.Module()
            layer.input_layernorm = RMSNorm(w[p + "input_layernorm.weight"], eps)
            layer.post_attention_layernorm = RMSNorm(w[p + "post_attention_layernorm.weight"], eps)
            layer.self_attn = nn.Module()
            for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
                setattr(layer.self_attn, n, lin(p + f"self_attn.{n}.weight"))
            layer.mlp = nn.Module()
            for n in ("gate_proj", "up_proj", "down_proj"):
                setattr(layer.mlp, n, lin(p + f"mlp.{n}.weight"))
            self.layers.append(layer)
        self.norm = RMSNorm(w["model.norm.weight"], eps)
        head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
        self.lm_head = nn.Linear(d, head.shape[0], bias=False, dtype=dtype, device=head.device)
        self.lm_head.weight = nn.Parameter(head, requires_grad=False)
        inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))
        self.register_buffer("inv_freq", inv.to(head.device), persistent=False)

    def forward(self, input_ids, labels=None):
        B, T = input_ids.shape
        x = self.embed(input_ids)
        ang = torch.arange(T, device=x.device, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
        emb = torch.cat((ang, ang), -1)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        for layer in self.layers:
            a = layer.self_attn
            h = layer.input_layernorm(x)
            q = a.q_proj(h).view(B, T, self.nh, self.hd).transpose(1, 2)
            k = a.k_proj(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
            v = a.v_proj(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.nkv != self.nh)
            x = x + a.o_proj(o.transpose(1, 2).reshape(B, T, -1))
            h = layer.post_attention_layernorm(x)
            m = layer.mlp
            x = x + m.down_proj(F.silu(m.gate_proj(h)) * m.up_proj(h))
        logits = self.lm_head(self.norm(x)).float()
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)
        return type("Out", (), {"loss": loss})


class LoRALinear(nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        dev = base.weight.device
        self.a = nn.Parameter(torch.empty(r, base.in_features, device=dev))
        nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))
        self.b = nn.Parameter(torch.zeros(base.out_features, r, device=dev))
        self.s = alpha / r

    def forward(self, x):
        return self.base(x) + (self.s * ((x.float() @ self.a.t()) @ self.b.t())).to(x.dtype)


class MoRLinear(nn.Module):
    """MoR in the rank-expanded form: [h | z] = x·[A ; W_g]ᵀ, P = g ⊙ ω_A ⊙ h, y += s·P·Qᵀ with Q = ω_B ⊙ B."""

    def __init__(self, base, r, n, alpha):
        super().__init__()
        self.base, self.r, self.n = base, r, n
        dev = base.weight.device
        self.ag = nn.Parameter(torch.empty(r + n, base.in_features, device=dev))
        nn.init.kaiming_uniform_(self.ag[:r], a=math.sqrt(5))
        nn.init.normal_(self.ag[r:], std=0.02)
        self.b = nn.Parameter(torch.zeros(base.out_features, r, device=dev))
        self.omega_a = nn.Parameter(torch.ones(n, r, device=dev))
        self.omega_b = nn.Parameter(torch.ones(n, base.out_features, device=dev))
        self.s = alpha / r

    def forward(self, x):
        hz = x.float() @ self.ag.t()
        h, g = hz[..., : self.r], torch.softmax(hz[..., self.r :], dim=-1)
        p = (g.unsqueeze(-1) * self.omega_a * h.unsqueeze(-2)).flatten(-2)
        q = (self.omega_b.unsqueeze(-1) * self.b.unsqueeze(0)).permute(1, 0, 2).reshape(self.b.shape[0], -1)
        return self.base(x) + (self.s * (p @ q.t())).to(x.dtype)


def attach(model, targets, make):
    for name, module in list(model.named_modules()):
        for t in targets:
            child = getattr(module, t, None)
            if isinstance(child, nn.Linear):
                setattr(module, t, make(child))


def load_model(path, device, dtype, want_hf):
    cfg = json.load(open(os.path.join(path, "config.json")))
    if want_hf:
        try:
            from transformers import LlamaForCausalLM

            m = LlamaForCausalLM.from_pretrained(path, torch_dtype=dtype, attn_implementation="sdpa").to(device)
            return m, cfg, "transformers"
        except ImportError:
            pass
    w = read_safetensors(os.path.join(path, "model.safetensors"), device, dtype)
    return MinimalLlama(cfg, w, dtype), cfg, "minimal"


def step_flops(cfg, batch, seq, full):
    d = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    hd = cfg.get("head_dim", d // nh)
    q, kv = nh * hd, cfg.get("num_key_value_heads", nh) * hd
    per_layer = d * q + 2 * d * kv + q * d + 3 * d * cfg["intermediate_size"]
    weights = cfg["num_hidden_layers"] * per_layer + cfg["vocab_size"] * d
    attention = 2.0 * batch * seq * seq * q * cfg["num_hidden_layers"]
    return (6 if full else 4) * weights * batch * seq + 3 * attention


def read_batch(path, rows, seq):
    ids, labels = [], []
    with open(path) as f:
        for line in f:
            if line.strip() and len(ids) < rows:
                o = json.loads(line)
                ids.append(o["input_ids"])
                labels.append(o.get("labels", o["input_ids"]))
    if len(ids) != rows or any(len(r) != seq for r in ids):
        sys.exit(f"{path}: need {rows} rows of {seq} tokens")
    return torch.tensor(ids), torch.tensor(labels)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", help="Hugging Face model folder (not needed with --write-data)")
    p.add_argument("--vocab", type=int, default=32000, help="token range of --write-data")
    p.add_argument("--method", choices=["peft-lora", "lora", "mor", "full"], default="peft-lora")
    p.add_argument("--data")
    p.add_argument("--write-data")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seq-len", type=int, default=2048)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rank", type=int, default=32)
    p.add_argument("--experts", type=int, default=8)
    p.add_argument("--target", default="gate_proj,up_proj,down_proj")
    p.add_argument("--dtype", choices=["bf16", "f32"], default="bf16")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.write_data:
        g = torch.Generator().manual_seed(0)
        with open(a.write_data, "w") as f:
            for _ in range(a.batch):
                row = torch.randint(0, a.vocab, (a.seq_len,), generator=g).tolist()
                f.write(json.dumps({"input_ids": row, "labels": row}) + "\n")
        return

    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    targets = a.target.split(",")
    t_load = time.perf_counter()
    model, cfg, impl = load_model(a.model, a.device, dtype, want_hf=True)
    load_s = time.perf_counter() - t_load
    base_parameters = sum(t.numel() for t in model.parameters())
    for prm in model.parameters():
        prm.requires_grad_(a.method == "full")
    libs = {"torch": torch.__version__, "model": impl}
    if a.method == "peft-lora":
        try:
            import peft

            libs["peft"] = peft.__version__
        except ImportError:
            sys.exit("peft is not installed")
        if impl != "transformers":
            sys.exit("transformers is not installed")
        conf = peft.LoraConfig(r=a.rank, lora_alpha=2 * a.rank, lora_dropout=0.0, target_modules=targets, task_type="CAUSAL_LM")
        model = peft.get_peft_model(model, conf)
    elif a.method == "lora":
        attach(model, targets, lambda m: LoRALinear(m, a.rank, 2 * a.rank))
    elif a.method == "mor":
        attach(model, targets, lambda m: MoRLinear(m, a.rank, a.experts, 2 * a.rank))
    if impl == "transformers":
        import transformers

        libs["transformers"] = transformers.__version__
    model.train()
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, fused=a.device.startswith("cuda"))
    if a.data:
        ids, labels = read_batch(a.data, a.batch, a.seq_len)
    else:
        ids = torch.randint(0, cfg["vocab_size"], (a.batch, a.seq_len))
        labels = ids
    ids, labels = ids.to(a.device), labels.to(a.device)

    def sync():
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()

    if a.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    losses, times = [], []
    for i in range(a.warmup + a.steps):
        sync()
        t0 = time.perf_counter()
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())  # also synchronises, as the trainer reads its loss
        sync()
        if i >= a.warmup:
            times.append((time.perf_counter() - t0) * 1000.0)

    median = statistics.median(times)
    tokens = a.batch * a.seq_len
    record = {
        "stack": "pytorch",
        "method": a.method,
        "model": a.model,
        "modelParameters": base_parameters,
        "trainableParameters": sum(t.numel() for t in params),
        "frozenDType": "BF16" if dtype == torch.bfloat16 else "F32",
        "batch": a.batch,
        "seqLen": a.seq_len,
        "step": {"iterations": len(times), "minMs": min(times), "medianMs": median, "maxMs": max(times)},
        "tokensPerSecond": tokens / (median / 1000.0),
        "stepTflops": step_flops(cfg, a.batch, a.seq_len, a.method == "full") / (median / 1000.0) / 1e12,
        "peakDeviceBytes": torch.cuda.max_memory_allocated() if a.device.startswith("cuda") else 0,
        "peakResidentBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "losses": losses,
        "breakdown": [],
        "topFunctions": [],
        "steadyStateAllocations": 0,
        "environment": {
            "device": a.device,
            "deviceName": torch.cuda.get_device_name() if a.device.startswith("cuda") else "cpu",
            "processorName": platform.processor() or None,
            "logicalProcessors": os.cpu_count(),
            "operatingSystem": platform.platform(),
            "runtime": "Python " + platform.python_version(),
            "nativeBuild": ", ".join(f"{k} {v}" for k, v in libs.items()),
            "startedUtc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "loadAverage": os.getloadavg()[0],
        },
        "loadSeconds": load_s,
    }
    if a.json:
        print(json.dumps(record))
    else:
        print(f"# pytorch {a.method} ({impl}): {median:.1f} ms/step, {record['tokensPerSecond']:.0f} tokens/s, "
              f"{record['stepTflops']:.1f} TFLOP/s, peak {record['peakDeviceBytes'] / 2**30:.1f} GiB, losses {losses}")


if __name__ == "__main__":
    main()
