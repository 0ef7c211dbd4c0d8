package config

import (
	"fmt"
	"sort"
	"strings"

	"emlab/internal/suggest"
)

// presets are small diffs over Default. The tiny/small/medium GPTs are the
// benchmark shapes (B batch, T context, L layers, d width, H heads,
// V vocab); attn2/attn1 are the induction-head study (docs/probes.md).
// tiny, small and medium train on two kernel threads: side by side
// (emlab bench --threads 1|2) two beat one by 1.1-1.3x on tiny and 1.4-1.7x
// on small. Sweeps set train.threads from resources.threads themselves.
var presets = map[string]struct {
	about string
	set   []string
}{
	"tiny": {"GPT B=32 T=64 L=2 d=64 H=4 V=128", []string{
		"train.batch_size=32", "model.n_ctx=64", "model.n_layers=2", "model.d_model=64", "model.n_heads=4", "model.d_vocab=128",
		"train.threads=2"}},
	"small": {"GPT B=32 T=128 L=4 d=128 H=4 V=512", []string{
		"train.batch_size=32", "model.n_ctx=128", "model.n_layers=4", "model.d_model=128", "model.n_heads=4", "model.d_vocab=512",
		"optim.lr=2e-3", "train.threads=2"}},
	"medium": {"GPT B=16 T=256 L=6 d=256 H=8 V=2048", []string{
		"train.batch_size=16", "model.n_ctx=256", "model.n_layers=6", "model.d_model=256", "model.n_heads=8", "model.d_vocab=2048",
		"optim.lr=1e-3", "train.threads=2"}},
	// attn2/attn1: the induction-head study — attention-only, no
	// LayerNorm, d=64, 4 heads, T=64, 64 symbols, AdamW lr 3e-3 without
	// weight decay, B=32, on copyspan (a span repeated at a random offset
	// in a full window; a fixed offset lets one layer solve it by
	// position). The best layer-2 head's prefix-matching score passes 0.5
	// at ≈ 1350–1650 steps in a PyTorch prototype and 1200–1300 here
	// (docs/probes.md); 2000 steps (≈ 40 s) leave room for slow seeds,
	// checkpoints every 100 steps resolve the transition. A
	// constant schedule (after warmup) as in the prototype; untied
	// embeddings as in TransformerLens's attention-only models. PyTorch's
	// default init (embeddings N(0, 1), linear layers std ≈ 1/√(3·d)):
	// with GPT-2's 0.02 nothing was learned in 2000 steps, with 0.072 for
	// the embeddings too nothing in 1500 (docs/probes.md).
	"attn2": {"attention-only GPT L=2 d=64 H=4 T=64, no LayerNorm, on copyspan (induction heads)", attnSet(2)},
	"attn1": {"attention-only GPT L=1 d=64 H=4 T=64, no LayerNorm, on copyspan (the 1-layer control)", attnSet(1)},
	// grok/grok-wd0: grokking on emlab's engine (docs/calibration.md): window MLP, shared embedding d=64 of a, +, b,
	// = → 256 ReLU → logits, half of the unordered pairs of (a+b) mod 53 in
	// training, loss on the answer only (tasks.AnswerLoss), AdamW lr 3e-3,
	// β2 0.98, weight decay 2.0 on every tensor (1.0 grokked too, but seed
	// 2 was at 86% after 2000 steps). Train accuracy passes 99% at ≈ 500
	// steps, held-out accuracy passes 90% at 1300–1700 (seeds 1–3, ≈ 50 s on
	// one core); with weight decay 0 it stays at 0.
	"grok":     {"window MLP d=64 → 256 ReLU on modadd p=53, weight decay 2.0 (groks in < 2000 steps)", grokSet(2)},
	"grok-wd0": {"grok with weight decay 0 (the control: memorises, never generalises)", grokSet(0)},
	// quanta: multitask sparse parity scaled to one core
	// (docs/calibration.md): 10 subtasks, n = 16 bits, k = 3, Zipf 1.5,
	// window MLP over the control token, the bits and "=" (d=8 embeddings),
	// loss on the parity only, AdamW lr 3e-3 without weight decay, B=256,
	// 3000 steps. Set model.d_mlp per run: widths 16/32/64/128 solved the
	// 2/3/4/6 most frequent subtasks (≈ 12–51 s each).
	"quanta": {"window MLP on multitask sparse parity n=16 k=3, 10 Zipf subtasks; set model.d_mlp per run", []string{
		"model.arch=mlp", "model.d_model=8", "model.d_mlp=64", "model.window=18", "model.n_ctx=21",
		"model.n_layers=1", "model.n_heads=0", "model.act=relu", "model.tied_embeddings=false", "model.layer_norm=false",
		"model.init_std=0", "model.embed_init_std=0",
		// Documents are B:K + 16 bits + =p (21 tokens), one per window;
		// the window of 18 reaches from the control token K to "=".
		"data.source=tasks", "data.tasks=parity(n=16,k=3,tasks=10,alpha=1.5,loss=answer)", "data.slot=21",
		"optim.lr=3e-3", "optim.weight_decay=0", "optim.warmup_steps=10", "optim.schedule=constant",
		"train.batch_size=256", "train.steps=3000", "train.checkpoint_every=500", "train.log_every=100", "train.threads=1",
	}},
}

// grokSet is the grok preset with weight decay wd.
func grokSet(wd float64) []string {
	return []string{
		"model.arch=mlp", "model.d_model=64", "model.d_mlp=256", "model.window=4", "model.n_ctx=7",
		"model.n_layers=1", "model.n_heads=0", "model.act=relu", "model.tied_embeddings=false", "model.layer_norm=false",
		"model.init_std=0", "model.embed_init_std=0",
		// Documents are Z:a+b=c (7 tokens): one per 7-token window, the
		// separator after c is the extra target position.
		"data.source=tasks", "data.tasks=modadd(p=53,train=0.5,enc=token,loss=answer)", "data.slot=7",
		"optim.lr=3e-3", "optim.beta2=0.98", "optim.warmup_steps=10", "optim.schedule=constant",
		fmt.Sprintf("optim.weight_decay=%g", wd), "optim.decay_all=true",
		"train.batch_size=512", "train.steps=2000", "train.checkpoint_every=100", "train.log_every=50", "train.threads=1",
	}
}

// attnSet is the attn2/attn1 preset with n_layers layers.
func attnSet(layers int) []string {
	return []string{
		"model.arch=gpt", "model.attn_only=true", "model.layer_norm=false", "model.tied_embeddings=false",
		fmt.Sprintf("model.n_layers=%d", layers), "model.d_model=64", "model.n_heads=4", "model.n_ctx=64",
		"model.init_std=0.072", "model.embed_init_std=1",
		"data.source=tasks", "data.tasks=copyspan(len=64,vocab=64)", "data.slot=64",
		"optim.lr=3e-3", "optim.weight_decay=0", "optim.schedule=constant", "optim.warmup_steps=50",
		"train.batch_size=32", "train.steps=2000", "train.checkpoint_every=100", "train.log_every=50",
	}
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// PresetAbout is a one-line description of a preset.
func PresetAbout(name string) string { return presets[name].about }

// Preset returns Default with the named preset applied.
func Preset(name string) (Config, error) {
	p, ok := presets[name]
	if !ok {
		msg := fmt.Sprintf("unknown preset %q", name)
		if s := suggest.Closest(name, PresetNames(), 3); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
		}
		return Config{}, fmt.Errorf("%s; presets: %s", msg, strings.Join(PresetNames(), ", "))
	}
	c := Default()
	for _, kv := range p.set {
		if err := c.Set(kv); err != nil {
			panic("config: bad preset " + name + ": " + err.Error()) // programming error
		}
	}
	return c, nil
}
