package config

import (
	"fmt"
	"sort"
	"strings"

	"emlab/internal/suggest"
)

// presets are small diffs over Default. The tiny/small/medium GPTs are the
// issue's benchmark shapes (B batch, T context, L layers, d width, H heads,
// V vocab); attn2/attn1 are the induction-head study of CALIBRATION.md.
var presets = map[string]struct {
	about string
	set   []string
}{
	"tiny": {"GPT B=32 T=64 L=2 d=64 H=4 V=128", []string{
		"train.batch_size=32", "model.n_ctx=64", "model.n_layers=2", "model.d_model=64", "model.n_heads=4", "model.d_vocab=128"}},
	"small": {"GPT B=32 T=128 L=4 d=128 H=4 V=512", []string{
		"train.batch_size=32", "model.n_ctx=128", "model.n_layers=4", "model.d_model=128", "model.n_heads=4", "model.d_vocab=512",
		"optim.lr=2e-3"}},
	"medium": {"GPT B=16 T=256 L=6 d=256 H=8 V=2048", []string{
		"train.batch_size=16", "model.n_ctx=256", "model.n_layers=6", "model.d_model=256", "model.n_heads=8", "model.d_vocab=2048",
		"optim.lr=1e-3", "train.threads=2"}},
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
