"""PyTorch training throughput on emlab's presets, the baseline of tools/bench/compare.sh.

The same architecture as emlab's GPT (pre-LN, learned positions, fused QKV,
GELU tanh MLP 4x, tied unembedding) trained with AdamW + clipping on random
tokens. Prints one JSON line per preset: {"preset", "tokens_per_s", "gflops",
"best_step_tokens_per_s"} (the last: the fastest single step's rate).
Run with Debian's python3-torch; thread settings come from the caller.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "tiny": dict(B=32, T=64, L=2, d=64, H=4, V=128),
    "small": dict(B=32, T=128, L=4, d=128, H=4, V=512),
    "medium": dict(B=16, T=256, L=6, d=256, H=8, V=2048),
}


class Block(nn.Module):
    def __init__(self, d, H):
        super().__init__()
        self.H = H
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q = q.view(B, T, self.H, C // self.H).transpose(1, 2)
        k = k.view(B, T, self.H, C // self.H).transpose(1, 2)
        v = v.view(B, T, self.H, C // self.H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.H)
        att = att.masked_fill(mask[:T, :T] == 0, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, L, d, H, V, T):
        super().__init__()
        self.wte = nn.Embedding(V, d)
        self.wpe = nn.Embedding(T, d)
        self.h = nn.ModuleList([Block(d, H) for _ in range(L)])
        self.ln_f = nn.LayerNorm(d)
        self.register_buffer("mask", torch.tril(torch.ones(T, T)))

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.h:
            x = b(x, self.mask)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def flops_per_token(L, d, V, T):
    # 6N for the matrices (incl. the tied unembedding) plus the attention term
    # (Kaplan et al. 2020): forward 2·L·T·d, training 3x that.
    n = 12 * L * d * d + V * d
    return 6 * n + 6 * L * T * d


def bench(name, seconds):
    p = PRESETS[name]
    torch.manual_seed(0)
    model = GPT(p["L"], p["d"], p["H"], p["V"], p["T"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=0.1, foreach=True)  # foreach: its fastest CPU path here
    idx = torch.randint(p["V"], (p["B"], p["T"]))
    tgt = torch.randint(p["V"], (p["B"], p["T"]))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(idx, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(2):
        step()
    n, t0, best = 0, time.perf_counter(), float("inf")
    while n < 3 or time.perf_counter() - t0 < seconds:
        s0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - s0)
        n += 1
    tps = n * p["B"] * p["T"] / (time.perf_counter() - t0)
    return {"preset": name, "tokens_per_s": tps, "gflops": tps * flops_per_token(p["L"], p["d"], p["V"], p["T"]) / 1e9,
            "best_step_tokens_per_s": p["B"] * p["T"] / best, "torch_threads": torch.get_num_threads()}


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    for name in (sys.argv[1].split(",") if len(sys.argv) > 1 else PRESETS):
        print(json.dumps(bench(name, secs)), flush=True)
