#!/usr/bin/python3
"""Reference fixtures for emlab's loader of Hugging Face GPT-2 and GPT-NeoX models.

For each variant this script builds a small random-weight model in the exact
on-disk layout Hugging Face's GPT2LMHeadModel / GPTNeoXForCausalLM save
(config.json + model.safetensors with their tensor names, shapes, dtypes and
buffers), runs a forward pass written here from the equations of those two
model classes (no transformers library; nothing is downloaded), and writes the
tokens, the logits and every named activation emlab exposes into
reference.safetensors beside it. The Go test (internal/hf/reference_test.go)
loads the directory through the loader and must match all of it.

The forward pass runs in float64 from the stored weights (bf16/fp16 weights
are widened exactly), so the fixture is the exact answer for the weights on
disk; emlab computes in float32. Rotary angles are formed as Hugging Face and
GPT-NeoX form them (float32 inverse frequencies, a float32 product with the
position); their cosine and sine are then taken in float64. The inverse
frequencies are stored too ("inv_freq") so the test can compare them bit for
bit.

Layout facts this script encodes (from the two model classes):
  GPT-2: Conv1D weights are (in, out): y = x @ W + b. c_attn's output columns
    are [q | k | v], each head-major. Attention scores are divided by
    sqrt(head_dim) and, with scale_attn_by_inverse_layer_idx, by layer+1.
    Activation "gelu_new" is the tanh approximation, "gelu" the exact erf.
    Checkpoints may carry "<prefix>h.N.attn.bias" / ".masked_bias" buffers
    and, when tied, a copy of wte as lm_head.weight.
  GPT-NeoX: nn.Linear weights are (out, in): y = x @ W.T + b.
    query_key_value's output is viewed as (heads, 3*head_dim): per head
    [q | k | v]. Rotary applies to the first rotary_ndims = int(head_dim *
    rotary_pct) dims of q and k in the "rotate half" form. Parallel residual:
    x + attn(ln1(x)) + mlp(ln2(x)); otherwise sequential. embed_out is
    (vocab, hidden), untied.

Run from the repository root with Debian's python3-torch (1.13):
    /usr/bin/python3 tools/reference/hf_models.py
It rewrites internal/hf/testdata/<variant>/; the output is deterministic
(fixed seeds).
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

OUT = os.path.join("internal", "hf", "testdata")
B, T = 2, 12


# --- byte-level vocabulary for the fixture tokenizers -----------------------

def bytes_to_unicode():
    """GPT-2's reversible map from the 256 bytes to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def tiny_tokenizer(first_byte_id, specials):
    """A small byte-level BPE tokenizer.json: the 256 byte symbols from
    first_byte_id on, a dozen merges, and specials {id: content}."""
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: first_byte_id + i for i, b in enumerate(sorted(b2u))}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"),
              ("o", "n"), ("Ġ", "s"), ("e", "n"), ("a", "t"), ("Ġ", "w"), ("o", "r")]
    nxt = first_byte_id + 256
    for a, b in merges:
        vocab[a + b] = nxt
        nxt += 1
    added = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, c in sorted(specials.items())]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }


# --- weights -----------------------------------------------------------------

def draw(gen, shape, std, mean=0.0):
    return (mean + std * torch.randn(shape, generator=gen, dtype=torch.float64)).to(torch.float32)


def gpt2_weights(cfg, gen):
    """HF GPT2LMHeadModel state (names without prefix), float32."""
    C, V, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_layer"]
    Fh = cfg["n_inner"] or 4 * C
    W = {"wte.weight": draw(gen, (V, C), 0.5), "wpe.weight": draw(gen, (cfg["n_positions"], C), 0.3)}
    for l in range(L):
        p = f"h.{l}."
        W[p + "ln_1.weight"] = draw(gen, (C,), 0.1, 1.0)
        W[p + "ln_1.bias"] = draw(gen, (C,), 0.05)
        W[p + "attn.c_attn.weight"] = draw(gen, (C, 3 * C), 0.25)
        W[p + "attn.c_attn.bias"] = draw(gen, (3 * C,), 0.05)
        W[p + "attn.c_proj.weight"] = draw(gen, (C, C), 0.15)
        W[p + "attn.c_proj.bias"] = draw(gen, (C,), 0.05)
        W[p + "ln_2.weight"] = draw(gen, (C,), 0.1, 1.0)
        W[p + "ln_2.bias"] = draw(gen, (C,), 0.05)
        W[p + "mlp.c_fc.weight"] = draw(gen, (C, Fh), 0.3)
        W[p + "mlp.c_fc.bias"] = draw(gen, (Fh,), 0.1)
        W[p + "mlp.c_proj.weight"] = draw(gen, (Fh, C), 0.1)
        W[p + "mlp.c_proj.bias"] = draw(gen, (C,), 0.05)
    W["ln_f.weight"] = draw(gen, (C,), 0.1, 1.0)
    W["ln_f.bias"] = draw(gen, (C,), 0.05)
    if not cfg.get("tie_word_embeddings", True):
        W["lm_head.weight"] = draw(gen, (V, C), 0.2)
    return W


def neox_weights(cfg, gen):
    """HF GPTNeoXForCausalLM state, float32."""
    C, V, L, Fh = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"], cfg["intermediate_size"]
    W = {"gpt_neox.embed_in.weight": draw(gen, (V, C), 0.5)}
    for l in range(L):
        p = f"gpt_neox.layers.{l}."
        W[p + "input_layernorm.weight"] = draw(gen, (C,), 0.1, 1.0)
        W[p + "input_layernorm.bias"] = draw(gen, (C,), 0.05)
        W[p + "post_attention_layernorm.weight"] = draw(gen, (C,), 0.1, 1.0)
        W[p + "post_attention_layernorm.bias"] = draw(gen, (C,), 0.05)
        W[p + "attention.query_key_value.weight"] = draw(gen, (3 * C, C), 0.25)
        W[p + "attention.query_key_value.bias"] = draw(gen, (3 * C,), 0.05)
        W[p + "attention.dense.weight"] = draw(gen, (C, C), 0.15)
        W[p + "attention.dense.bias"] = draw(gen, (C,), 0.05)
        W[p + "mlp.dense_h_to_4h.weight"] = draw(gen, (Fh, C), 0.3)
        W[p + "mlp.dense_h_to_4h.bias"] = draw(gen, (Fh,), 0.1)
        W[p + "mlp.dense_4h_to_h.weight"] = draw(gen, (C, Fh), 0.1)
        W[p + "mlp.dense_4h_to_h.bias"] = draw(gen, (C,), 0.05)
    W["gpt_neox.final_layer_norm.weight"] = draw(gen, (C,), 0.1, 1.0)
    W["gpt_neox.final_layer_norm.bias"] = draw(gen, (C,), 0.05)
    W["embed_out.weight"] = draw(gen, (V, C), 0.2)
    return W


def act_fn(name):
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "gelu":
        return lambda x: F.gelu(x)
    if name == "relu":
        return F.relu
    raise ValueError(name)


def attention(q, k, v, scale, acts, l):
    """q, k, v (B, T, H, Dh) float64 -> z (B, T, H, Dh); records pattern."""
    Tn = q.shape[1]
    qh, kh, vh = (a.transpose(1, 2) for a in (q, k, v))  # (B, H, T, Dh)
    s = (qh @ kh.transpose(-2, -1)) * scale
    causal = torch.ones(Tn, Tn, dtype=torch.bool).tril()
    p = s.masked_fill(~causal, float("-inf")).softmax(dim=-1)
    acts[f"blocks.{l}.attn.pattern"] = p
    return (p @ vh).transpose(1, 2)


def gpt2_forward(cfg, W, tokens):
    """Logits and activations of HF's GPT-2 on tokens, float64."""
    Bn, Tn = tokens.shape
    C, H = cfg["n_embd"], cfg["n_head"]
    Dh = C // H
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    act = act_fn(cfg.get("activation_function", "gelu_new"))
    acts = {}
    emb = W["wte.weight"][tokens]
    pos = W["wpe.weight"][:Tn]
    acts["hook_embed"], acts["hook_pos_embed"] = emb, pos
    x = emb + pos
    for l in range(cfg["n_layer"]):
        p = f"h.{l}."
        acts[f"blocks.{l}.hook_resid_pre"] = x
        h = F.layer_norm(x, (C,), W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
        qkv = h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = (a.reshape(Bn, Tn, H, Dh) for a in qkv.split(C, dim=2))
        acts[f"blocks.{l}.attn.hook_q"], acts[f"blocks.{l}.attn.hook_k"], acts[f"blocks.{l}.attn.hook_v"] = q, k, v
        scale = 1 / math.sqrt(Dh)
        if cfg.get("scale_attn_by_inverse_layer_idx", False):
            scale /= l + 1
        z = attention(q, k, v, scale, acts, l)
        acts[f"blocks.{l}.attn.hook_z"] = z
        ao = z.reshape(Bn, Tn, C) @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        acts[f"blocks.{l}.hook_attn_out"] = ao
        mid = x + ao
        acts[f"blocks.{l}.hook_resid_mid"] = mid
        h2 = F.layer_norm(mid, (C,), W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
        pre = h2 @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]
        post = act(pre)
        mo = post @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
        acts[f"blocks.{l}.mlp.pre"], acts[f"blocks.{l}.mlp.post"], acts[f"blocks.{l}.hook_mlp_out"] = pre, post, mo
        x = mid + mo
        acts[f"blocks.{l}.hook_resid_post"] = x
    y = F.layer_norm(x, (C,), W["ln_f.weight"], W["ln_f.bias"], eps)
    acts["ln_final.hook_normalized"] = y
    if cfg.get("tie_word_embeddings", True):
        logits = y @ W["wte.weight"].T
    else:
        logits = y @ W["lm_head.weight"].T
    return logits, acts


def neox_inv_freq(R, base):
    """GPT-NeoX / HF: float32 inverse frequencies."""
    return 1.0 / (base ** (torch.arange(0, R, 2).float() / R))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def neox_forward(cfg, W, tokens):
    """Logits and activations of HF's GPT-NeoX on tokens, float64."""
    Bn, Tn = tokens.shape
    C, H = cfg["hidden_size"], cfg["num_attention_heads"]
    Dh = C // H
    R = int(Dh * cfg.get("rotary_pct", cfg.get("partial_rotary_factor", 0.25)))
    base = cfg.get("rotary_emb_base", cfg.get("rope_theta", 10000))
    eps = cfg.get("layer_norm_eps", 1e-5)
    act = act_fn(cfg.get("hidden_act", "gelu"))
    inv = neox_inv_freq(R, base)
    angles = torch.arange(Tn).float()[:, None] * inv[None, :]  # float32 products, as HF
    emb = torch.cat((angles, angles), dim=-1).to(torch.float64)
    cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]  # (1, T, 1, R)
    acts = {}
    x = W["gpt_neox.embed_in.weight"][tokens]
    acts["hook_embed"] = x
    for l in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{l}."
        acts[f"blocks.{l}.hook_resid_pre"] = x
        h = F.layer_norm(x, (C,), W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], eps)
        qkv = h @ W[p + "attention.query_key_value.weight"].T + W[p + "attention.query_key_value.bias"]
        qkv = qkv.view(Bn, Tn, H, 3 * Dh)
        q, k, v = qkv[..., :Dh], qkv[..., Dh:2 * Dh], qkv[..., 2 * Dh:]
        acts[f"blocks.{l}.attn.hook_q"], acts[f"blocks.{l}.attn.hook_k"], acts[f"blocks.{l}.attn.hook_v"] = q, k, v
        qr = torch.cat((q[..., :R] * cos + rotate_half(q[..., :R]) * sin, q[..., R:]), dim=-1)
        kr = torch.cat((k[..., :R] * cos + rotate_half(k[..., :R]) * sin, k[..., R:]), dim=-1)
        acts[f"blocks.{l}.attn.hook_rot_q"], acts[f"blocks.{l}.attn.hook_rot_k"] = qr, kr
        z = attention(qr, kr, v, 1 / math.sqrt(Dh), acts, l)
        acts[f"blocks.{l}.attn.hook_z"] = z
        ao = z.reshape(Bn, Tn, C) @ W[p + "attention.dense.weight"].T + W[p + "attention.dense.bias"]
        acts[f"blocks.{l}.hook_attn_out"] = ao
        if cfg.get("use_parallel_residual", True):
            mlp_in = x
        else:
            mlp_in = x + ao
            acts[f"blocks.{l}.hook_resid_mid"] = mlp_in
        h2 = F.layer_norm(mlp_in, (C,), W[p + "post_attention_layernorm.weight"], W[p + "post_attention_layernorm.bias"], eps)
        pre = h2 @ W[p + "mlp.dense_h_to_4h.weight"].T + W[p + "mlp.dense_h_to_4h.bias"]
        post = act(pre)
        mo = post @ W[p + "mlp.dense_4h_to_h.weight"].T + W[p + "mlp.dense_4h_to_h.bias"]
        acts[f"blocks.{l}.mlp.pre"], acts[f"blocks.{l}.mlp.post"], acts[f"blocks.{l}.hook_mlp_out"] = pre, post, mo
        x = (mo + ao + x) if cfg.get("use_parallel_residual", True) else (mlp_in + mo)
        acts[f"blocks.{l}.hook_resid_post"] = x
    y = F.layer_norm(x, (C,), W["gpt_neox.final_layer_norm.weight"], W["gpt_neox.final_layer_norm.bias"], eps)
    acts["ln_final.hook_normalized"] = y
    return y @ W["embed_out.weight"].T, acts, inv


def store_dtype(W, dtype):
    """Round the weights to the checkpoint dtype; return (numpy tensors for
    the file, bf16 overrides, float64 weights as stored)."""
    out, overrides, exact = {}, {}, {}
    for n, w in W.items():
        if dtype == "float32":
            out[n] = w.numpy()
            exact[n] = w.to(torch.float64)
        elif dtype == "float16":
            h = w.to(torch.float16)
            out[n] = h.numpy()
            exact[n] = h.to(torch.float64)
        elif dtype == "bfloat16":
            b = w.to(torch.bfloat16)
            out[n] = st.bf16_bits(b)
            overrides[n] = "BF16"
            exact[n] = b.to(torch.float64)
        else:
            raise ValueError(dtype)
    return out, overrides, exact


def write_variant(name, cfg, dtype, seed, prefix="", extra_buffers=False, tied_copy=False, tokenizer=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    neox = cfg["model_type"] == "gpt_neox"
    W = neox_weights(cfg, gen) if neox else gpt2_weights(cfg, gen)
    V = cfg["vocab_size"]
    tokens = torch.randint(0, V, (B, T), generator=gen)
    file_w, overrides, exact = store_dtype(W, dtype)
    if neox:
        logits, acts, inv = neox_forward(cfg, exact, tokens)
    else:
        logits, acts = gpt2_forward(cfg, exact, tokens)
        inv = None
    # The file: HF names (GPT-2 optionally under "transformer."), buffers.
    disk, dt = {}, {}
    for n, a in file_w.items():
        key = n if (neox or n == "lm_head.weight") else prefix + n
        disk[key] = a
        if n in overrides:
            dt[key] = "BF16"
    if tied_copy:
        disk["lm_head.weight"] = file_w["wte.weight"]
        if "wte.weight" in overrides:
            dt["lm_head.weight"] = "BF16"
    if extra_buffers:
        L = cfg["num_hidden_layers"] if neox else cfg["n_layer"]
        n_pos = cfg["max_position_embeddings"] if neox else cfg["n_positions"]
        for l in range(L):
            mask = np.tril(np.ones((n_pos, n_pos), dtype=np.uint8)).reshape(1, 1, n_pos, n_pos)
            if neox:
                p = f"gpt_neox.layers.{l}.attention."
                disk[p + "bias"] = mask
                disk[p + "masked_bias"] = np.array(-1e9, dtype=np.float32)
                disk[p + "rotary_emb.inv_freq"] = inv.numpy()
            else:
                p = f"{prefix}h.{l}.attn."
                disk[p + "bias"] = mask
                disk[p + "masked_bias"] = np.array(-1e4, dtype=np.float32)
    st.save(os.path.join(d, "model.safetensors"), disk, {"format": "pt"}, dt)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    if tokenizer is not None:
        with open(os.path.join(d, "tokenizer.json"), "w") as f:
            json.dump(tokenizer, f, ensure_ascii=False, sort_keys=True)
            f.write("\n")
    ref = {"tokens": tokens.to(torch.int32).numpy(), "logits": logits.numpy()}
    for n, a in acts.items():
        ref[n] = a.to(torch.float32).numpy()
    if inv is not None:
        ref["inv_freq"] = inv.numpy()
    meta = {"B": B, "T": T, "dtype": dtype, "generator": "tools/reference/hf_models.py", "torch": torch.__version__}
    st.save(os.path.join(d, "reference.safetensors"), ref, meta)
    print(f"{d}: {dtype}, logits max |.| {logits.abs().max().item():.3f}, {len(acts)} activations")


def main():
    gpt2 = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": 2, "n_embd": 32, "n_head": 4,
            "n_positions": 16, "n_ctx": 16, "vocab_size": 280, "n_inner": None, "activation_function": "gelu_new",
            "layer_norm_epsilon": 1e-5, "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False,
            "reorder_and_upcast_attn": False, "tie_word_embeddings": True, "bos_token_id": 268,
            "eos_token_id": 268, "torch_dtype": "float32", "transformers_version": "4.40.0"}
    gpt2_tok = tiny_tokenizer(0, {268: "<|endoftext|>"})
    write_variant("gpt2_f32", gpt2, "float32", 101, prefix="transformer.", extra_buffers=True, tied_copy=True,
                  tokenizer=gpt2_tok)
    gpt2_opts = dict(gpt2, n_inner=48, activation_function="gelu", layer_norm_epsilon=1e-3,
                     scale_attn_by_inverse_layer_idx=True, tie_word_embeddings=False, torch_dtype="float16")
    write_variant("gpt2_opts_f16", gpt2_opts, "float16", 202, tokenizer=gpt2_tok)

    neox = {"model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"], "num_hidden_layers": 2,
            "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 48, "max_position_embeddings": 32,
            "vocab_size": 280, "rotary_pct": 0.25, "rotary_emb_base": 10000, "use_parallel_residual": True,
            "hidden_act": "gelu", "layer_norm_eps": 1e-5, "tie_word_embeddings": False, "bos_token_id": 0,
            "eos_token_id": 0, "attention_bias": True, "rope_scaling": None, "torch_dtype": "float32",
            "transformers_version": "4.40.0"}
    neox_tok = tiny_tokenizer(2, {0: "<|endoftext|>", 1: "<|padding|>"})
    write_variant("neox_f32", neox, "float32", 303, extra_buffers=True, tokenizer=neox_tok)
    neox_seq = dict(neox, use_parallel_residual=False, rotary_pct=1.0, layer_norm_eps=1e-3, hidden_act="gelu_new",
                    torch_dtype="bfloat16")
    del neox_seq["rotary_emb_base"]
    neox_seq["rope_theta"] = 500
    write_variant("neox_seq_bf16", neox_seq, "bfloat16", 404, tokenizer=neox_tok)


if __name__ == "__main__":
    main()
