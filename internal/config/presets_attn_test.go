package config

import "testing"

// TestAttnPresets checks the induction-head presets resolve to the
// induction-head configuration (docs/probes.md) and differ only in depth.
func TestAttnPresets(t *testing.T) {
	for _, c := range []struct {
		name   string
		layers int
	}{{"attn2", 2}, {"attn1", 1}} {
		cfg, err := Preset(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		m := cfg.Model
		if m.NLayers != c.layers || !m.AttnOnly || m.LayerNorm || m.DModel != 64 || m.NHeads != 4 || m.NCtx != 64 ||
			cfg.Optim.LR != 3e-3 || cfg.Optim.WeightDecay != 0 || cfg.Train.BatchSize != 32 ||
			cfg.Data.Source != "tasks" || cfg.Data.Tasks.String() != "copyspan(len=64,vocab=64)" {
			t.Errorf("%s resolves to %+v", c.name, cfg)
		}
	}
}
