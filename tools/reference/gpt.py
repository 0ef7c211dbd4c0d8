#!/usr/bin/python3
"""Reference-state fixtures for emlab's GPT and attention-only model.

After llm.c's test_gpt2: PyTorch builds the same model as internal/nn/gpt.go
and this script writes its weights, a batch (tokens and targets, some targets
-1 = ignored), the logits, the mean loss, every gradient ("grad.<name>") and
the losses of 10 AdamW steps into a versioned safetensors fixture. The Go test
(internal/nn/reference_test.go, TestGPTReference) must match all of it; it
needs no Python.

The model is written from the equations (not torch.nn.MultiheadAttention), in
float64 throughout: the weights are drawn in float32 and stored as F32, so the
float64 computation starts from exactly the values the Go float32 model
loads, and logits, loss and gradients (stored as F64) are the exact answer
the float32 engine is compared with. The 10 AdamW steps also run in float64.

Names and layouts are emlab's (GPT-2's): wte.weight (V, C), wpe.weight
(NCtx, C), h.<l>.attn.c_attn.weight (C, 3C) in (in, out) layout with columns
[q | k | v], h.<l>.mlp.c_fc.weight (C, F), ln_*.weight/bias, lm_head.weight
(C, V) when untied. The metadata holds the emlab model config ("config", JSON
with internal/nn.Config's keys), the batch shape ("B", "T") and the AdamW
hyperparameters ("adamw", JSON).

Fixtures:
  gpt_v1.safetensors   2-layer GPT, pre-LN, GELU MLP, tied unembedding
  attn_v1.safetensors  2-layer attention-only model without LayerNorm,
                       untied unembedding (the induction-head setup)

Run from the repository root with Debian's python3-torch (1.13):
    /usr/bin/python3 tools/reference/gpt.py
It rewrites internal/nn/testdata/{gpt,attn}_v1.safetensors; the output is
deterministic (fixed seeds). Bump the _v1 suffix (and the Go test) if the
fixtures' contents change meaning.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

OUT = os.path.join("internal", "nn", "testdata")

# AdamW as the fixture's 10 steps use it (the calibrated betas of
# optim.DefaultConfig; weight decay only on tensors emlab marks Decay:
# the 2-D matrices except the embeddings).
ADAMW = dict(lr=1e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.1)
STEPS = 10
LN_EPS = 1e-5


def param_specs(cfg):
    """(name, shape, decay) in emlab's layout order (internal/nn/gpt.go)."""
    C, V, L, T = cfg["d_model"], cfg["d_vocab"], cfg["n_layers"], cfg["n_ctx"]
    Fh = cfg["d_mlp"] or 4 * C
    out = [("wte.weight", (V, C), False), ("wpe.weight", (T, C), False)]
    for l in range(L):
        p = f"h.{l}."
        if cfg["layer_norm"]:
            out += [(p + "ln_1.weight", (C,), False), (p + "ln_1.bias", (C,), False)]
        out += [(p + "attn.c_attn.weight", (C, 3 * C), True), (p + "attn.c_attn.bias", (3 * C,), False),
                (p + "attn.c_proj.weight", (C, C), True), (p + "attn.c_proj.bias", (C,), False)]
        if not cfg["attn_only"]:
            if cfg["layer_norm"]:
                out += [(p + "ln_2.weight", (C,), False), (p + "ln_2.bias", (C,), False)]
            out += [(p + "mlp.c_fc.weight", (C, Fh), True), (p + "mlp.c_fc.bias", (Fh,), False),
                    (p + "mlp.c_proj.weight", (Fh, C), True), (p + "mlp.c_proj.bias", (C,), False)]
    if cfg["layer_norm"]:
        out += [("ln_f.weight", (C,), False), ("ln_f.bias", (C,), False)]
    if not cfg["tied_embeddings"]:
        out += [("lm_head.weight", (C, V), True)]
    return out


def init_weights(cfg, gen):
    """Random float32 weights. Biases and LayerNorm parameters are drawn away
    from 0 and 1 so that a forgotten bias or gain shows up in the test; the
    matrices use a larger std than GPT-2's 0.02 so the loss is not flat."""
    W = {}
    L = cfg["n_layers"]
    for name, shape, _ in param_specs(cfg):
        if name in ("wte.weight", "wpe.weight"):
            std, mean = 0.5, 0.0
        elif "ln_" in name and name.endswith(".weight"):
            std, mean = 0.1, 1.0
        elif name.endswith(".bias"):
            std, mean = 0.05, 0.0
        elif name.endswith("c_proj.weight"):
            std, mean = 0.15 / math.sqrt(2 * L), 0.0
        else:
            std, mean = 0.15, 0.0
        W[name] = (mean + std * torch.randn(shape, generator=gen, dtype=torch.float64)).to(torch.float32)
    return W


def forward(cfg, P, tokens):
    """Logits (B, T, V) of the GPT in internal/nn/gpt.go, from parameters P
    (name -> float64 tensor, emlab layout)."""
    B, T = tokens.shape
    C, H = cfg["d_model"], cfg["n_heads"]
    Dh = C // H
    ln = cfg["layer_norm"]
    x = P["wte.weight"][tokens] + P["wpe.weight"][:T]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(cfg["n_layers"]):
        p = f"h.{l}."
        h = F.layer_norm(x, (C,), P[p + "ln_1.weight"], P[p + "ln_1.bias"], LN_EPS) if ln else x
        qkv = h @ P[p + "attn.c_attn.weight"] + P[p + "attn.c_attn.bias"]  # (B, T, 3C)
        q, k, v = qkv.split(C, dim=2)
        q, k, v = (a.view(B, T, H, Dh).transpose(1, 2) for a in (q, k, v))  # (B, H, T, Dh)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(Dh)
        att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        z = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + z @ P[p + "attn.c_proj.weight"] + P[p + "attn.c_proj.bias"]
        if not cfg["attn_only"]:
            h = F.layer_norm(x, (C,), P[p + "ln_2.weight"], P[p + "ln_2.bias"], LN_EPS) if ln else x
            a = h @ P[p + "mlp.c_fc.weight"] + P[p + "mlp.c_fc.bias"]
            a = F.gelu(a, approximate="tanh") if cfg["act"] == "gelu" else F.relu(a)
            x = x + a @ P[p + "mlp.c_proj.weight"] + P[p + "mlp.c_proj.bias"]
    if ln:
        x = F.layer_norm(x, (C,), P["ln_f.weight"], P["ln_f.bias"], LN_EPS)
    if cfg["tied_embeddings"]:
        return x @ P["wte.weight"].T
    return x @ P["lm_head.weight"]


def make_fixture(path, cfg, B, T, seed):
    gen = torch.Generator().manual_seed(seed)
    W = init_weights(cfg, gen)
    V = cfg["d_vocab"]
    tokens = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)
    # A few ignored targets (-1), including a whole row's tail.
    targets[0, 1] = -1
    targets[1, T - 3:] = -1
    targets[B - 1, 0] = -1

    specs = param_specs(cfg)
    P = {n: torch.nn.Parameter(W[n].to(torch.float64)) for n, _, _ in specs}

    def loss_fn():
        logits = forward(cfg, P, tokens)
        return logits, F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1)

    logits, loss = loss_fn()
    loss.backward()
    grads = {n: P[n].grad.detach().clone() for n, _, _ in specs}

    decay = [P[n] for n, _, d in specs if d]
    nodecay = [P[n] for n, _, d in specs if not d]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": ADAMW["weight_decay"]},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=ADAMW["lr"], betas=ADAMW["betas"], eps=ADAMW["eps"], foreach=False)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=True)
        _, l = loss_fn()
        l.backward()
        opt.step()
        losses.append(l.item())
    assert abs(losses[0] - loss.item()) < 1e-12

    tensors = {n: W[n].numpy() for n, _, _ in specs}
    for n in grads:
        tensors["grad." + n] = grads[n].numpy()
    tensors["tokens"] = tokens.to(torch.int32).numpy()
    tensors["targets"] = targets.to(torch.int32).numpy()
    tensors["logits"] = logits.detach().numpy()
    tensors["loss"] = np.array([loss.item()], dtype=np.float64)
    tensors["losses"] = np.array(losses, dtype=np.float64)
    meta = {
        "config": json.dumps(cfg, sort_keys=True),
        "B": str(B),
        "T": str(T),
        "adamw": json.dumps({"lr": ADAMW["lr"], "beta1": ADAMW["betas"][0], "beta2": ADAMW["betas"][1],
                             "eps": ADAMW["eps"], "weight_decay": ADAMW["weight_decay"], "steps": STEPS}),
        "generator": "tools/reference/gpt.py",
        "torch": torch.__version__,
    }
    st.save(path, tensors, meta)
    print(f"{path}: loss {loss.item():.6f}, losses {losses[0]:.6f} .. {losses[-1]:.6f}")


def main():
    os.makedirs(OUT, exist_ok=True)
    base = dict(arch="gpt", n_layers=2, d_model=16, n_heads=4, d_mlp=0, n_ctx=16, d_vocab=37,
                attn_only=False, layer_norm=True, tied_embeddings=True, act="gelu", window=0,
                init_std=0.02, embed_init_std=0.0)
    make_fixture(os.path.join(OUT, "gpt_v1.safetensors"), base, B=4, T=12, seed=1234)
    attn = dict(base, attn_only=True, layer_norm=False, tied_embeddings=False)
    make_fixture(os.path.join(OUT, "attn_v1.safetensors"), attn, B=4, T=12, seed=5678)


if __name__ == "__main__":
    main()
