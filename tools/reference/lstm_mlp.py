#!/usr/bin/python3
"""Reference-state fixtures for emlab's LSTM and window-MLP language models.

After llm.c's test_gpt2: PyTorch builds the same model as internal/nn
(torch.nn.Embedding / LSTM / Linear), and this script writes its weights, a
batch (tokens and targets, some targets -1 = ignored), the logits, the mean
loss, every gradient ("grad.<name>") and the losses of 10 AdamW steps into a
versioned safetensors fixture. internal/nn's Go tests must match all of it
(lstm_test.go / mlp_test.go: TestSeqModelsReference); they need no Python.

Tensor names and layouts are emlab's: LSTM weights as torch stores them
(lstm.<l>.weight_ih is weight_ih_l<l>, (4H, in), gate order i, f, g, o);
linear weights in GPT-2's (in, out) layout, i.e. the transpose of
torch.nn.Linear.weight.

Run from the repository root with Debian's python3-torch:
    /usr/bin/python3 tools/reference/lstm_mlp.py
It rewrites internal/nn/testdata/{lstm,lstm_tied,mlp,mlp_gelu}_v1.safetensors.
Bump the _v1 suffix (and the Go test) if the fixture's contents change
meaning.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

OUT = os.path.join("internal", "nn", "testdata")

# AdamW as the fixture's 10 steps use it (the calibrated betas of
# optim.DefaultConfig; weight decay only on tensors emlab marks Decay).
ADAMW = dict(lr=1e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.1)
STEPS = 10


class LSTMLM(torch.nn.Module):
    def __init__(self, V, H, L, tied):
        super().__init__()
        self.wte = torch.nn.Embedding(V, H)
        self.lstm = torch.nn.LSTM(H, H, num_layers=L, batch_first=True)
        self.tied = tied
        self.lm_head = None if tied else torch.nn.Linear(H, V)
        self.L = L

    def forward(self, tokens):
        h, _ = self.lstm(self.wte(tokens))  # zero initial state
        if self.tied:
            return h @ self.wte.weight.T
        return self.lm_head(h)

    def named(self):
        """(emlab name, torch parameter, transpose?, decay?) in emlab's order."""
        out = [("wte.weight", self.wte.weight, False, False)]
        for l in range(self.L):
            out += [
                (f"lstm.{l}.weight_ih", getattr(self.lstm, f"weight_ih_l{l}"), False, True),
                (f"lstm.{l}.weight_hh", getattr(self.lstm, f"weight_hh_l{l}"), False, True),
                (f"lstm.{l}.bias_ih", getattr(self.lstm, f"bias_ih_l{l}"), False, False),
                (f"lstm.{l}.bias_hh", getattr(self.lstm, f"bias_hh_l{l}"), False, False),
            ]
        if not self.tied:
            out += [("lm_head.weight", self.lm_head.weight, True, True),
                    ("lm_head.bias", self.lm_head.bias, False, False)]
        return out


class WindowMLP(torch.nn.Module):
    """Bengio et al. 2003 without direct connections: logits at t from the
    concatenated embeddings of tokens t-W+1..t (zeros before position 0)."""

    def __init__(self, V, D, W, Fh, act):
        super().__init__()
        self.wte = torch.nn.Embedding(V, D)
        self.fc = torch.nn.Linear(W * D, Fh)
        self.out = torch.nn.Linear(Fh, V)
        self.W, self.act = W, act

    def forward(self, tokens):
        e = self.wte(tokens)  # (B, T, D)
        B, T, D = e.shape
        slots = []
        for j in range(self.W):
            shift = self.W - 1 - j  # slot j holds position t - shift
            if shift == 0:
                slots.append(e)
            else:
                z = torch.zeros(B, min(shift, T), D, dtype=e.dtype)
                slots.append(torch.cat([z, e[:, : max(T - shift, 0)]], dim=1)[:, :T])
        x = torch.cat(slots, dim=-1)  # (B, T, W*D)
        pre = self.fc(x)
        post = F.relu(pre) if self.act == "relu" else F.gelu(pre, approximate="tanh")
        return self.out(post)

    def named(self):
        return [
            ("wte.weight", self.wte.weight, False, True),
            ("h.0.mlp.c_fc.weight", self.fc.weight, True, True),
            ("h.0.mlp.c_fc.bias", self.fc.bias, False, False),
            ("lm_head.weight", self.out.weight, True, True),
            ("lm_head.bias", self.out.bias, False, False),
        ]


def export(t, transpose):
    a = t.detach().numpy()
    return np.ascontiguousarray(a.T if transpose else a).astype(np.float32)


def batch(gen, B, T, V):
    tokens = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)
    drop = torch.rand(B, T, generator=gen) < 0.2
    targets[drop] = -1
    targets[0, 0] = -1  # at least one ignored target, whatever the draw
    return tokens, targets


def fixture(path, model, config, B, T, seed):
    gen = torch.Generator().manual_seed(seed + 1)
    tokens, targets = batch(gen, B, T, config["d_vocab"])
    named = model.named()
    tensors = {"tokens": tokens.numpy().astype(np.int32), "targets": targets.numpy().astype(np.int32)}
    for name, p, tr, _ in named:
        tensors[name] = export(p, tr)

    V = config["d_vocab"]
    logits = model(tokens)
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1)
    model.zero_grad()
    loss.backward()
    tensors["logits"] = export(logits, False)
    tensors["loss"] = np.array([loss.item()], dtype=np.float32)
    for name, p, tr, _ in named:
        tensors["grad." + name] = export(p.grad, tr)

    decay = [p for _, p, _, d in named if d]
    no_decay = [p for _, p, _, d in named if not d]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": ADAMW["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=ADAMW["lr"], betas=ADAMW["betas"], eps=ADAMW["eps"], foreach=False)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        logits = model(tokens)
        loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1)
        loss.backward()
        losses.append(loss.item())  # loss before this step's update, as llm.c
        opt.step()
    tensors["adamw_losses"] = np.array(losses, dtype=np.float32)

    meta = {
        "format": "emlab-nn-reference-v1",
        "config": json.dumps(config, sort_keys=True),
        "B": str(B), "T": str(T),
        "adamw": json.dumps({"lr": ADAMW["lr"], "beta1": ADAMW["betas"][0], "beta2": ADAMW["betas"][1],
                             "eps": ADAMW["eps"], "weight_decay": ADAMW["weight_decay"], "steps": STEPS}),
        "torch": torch.__version__,
        "seed": str(seed),
    }
    st.save(path, tensors, meta)
    print(f"{path}: loss {tensors['loss'][0]:.6f}, adamw losses {losses[0]:.5f} .. {losses[-1]:.5f}")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    base = {"n_heads": 0, "layer_norm": False, "attn_only": False, "init_std": 0.0, "embed_init_std": 0.0}

    for name, tied, seed in [("lstm_v1", False, 1), ("lstm_tied_v1", True, 2)]:
        torch.manual_seed(seed)
        V, H, L, B, T = 32, 16, 2, 4, 9
        cfg = dict(base, arch="lstm", n_layers=L, d_model=H, d_mlp=0, n_ctx=16, d_vocab=V,
                   tied_embeddings=tied, act="gelu", window=0)
        if tied:
            # N(0, 1) embeddings as unembedding give logits of std ≈ 2 at
            # H = 16; a smaller embedding keeps the softmax away from
            # saturation so every gradient is exercised.
            cfg["embed_init_std"] = 0.3
            m = LSTMLM(V, H, L, tied)
            with torch.no_grad():
                m.wte.weight.normal_(0, 0.3)
        else:
            m = LSTMLM(V, H, L, tied)
        fixture(os.path.join(OUT, name + ".safetensors"), m, cfg, B, T, seed)

    for name, W, act, seed in [("mlp_v1", 2, "relu", 3), ("mlp_gelu_v1", 3, "gelu", 4)]:
        torch.manual_seed(seed)
        V, D, Fh, B, T = 23, 8, 32, 4, 7
        cfg = dict(base, arch="mlp", n_layers=1, d_model=D, d_mlp=Fh, n_ctx=16, d_vocab=V,
                   tied_embeddings=False, act=act, window=W)
        m = WindowMLP(V, D, W, Fh, act)
        fixture(os.path.join(OUT, name + ".safetensors"), m, cfg, B, T, seed)


if __name__ == "__main__":
    main()
