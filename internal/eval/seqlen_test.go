package eval_test

import (
	"testing"

	"emlab/internal/data"
	"emlab/internal/eval"
	"emlab/internal/nn"
	"emlab/internal/tasks"
)

// longestForward is a model that records the longest sequence Forward is
// given. It hides the model's decoder, so generation runs by Forward on
// the growing sequence and the longest generated row is seen too.
type longestForward struct {
	nn.Model
	maxT int
}

func (m *longestForward) Forward(tokens, targets []int32, B, T int) float32 {
	m.maxT = max(m.maxT, T)
	return m.Model.Forward(tokens, targets, B, T)
}

// TestSeqLenBoundsRun: Battery.SeqLen, which sizes the memory check before
// eval, bounds every sequence Run passes the model — scored continuations,
// multiple choices and generated answers — and is capped at the context.
func TestSeqLenBoundsRun(t *testing.T) {
	for _, name := range []string{"add", "chain", "icl", "stories"} {
		t.Run(name, func(t *testing.T) {
			task, err := tasks.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			nctx := 2*task.MaxLen() + 64
			st, err := tasks.NewStream(name, data.MixtureConfig{Seed: 1, Label: "train", NCtx: nctx, Slot: 1})
			if err != nil {
				t.Fatal(err)
			}
			bat, err := eval.NewBattery([]tasks.Task{task}, 8)
			if err != nil {
				t.Fatal(err)
			}
			cfg := nn.DefaultConfig(nn.ArchGPT)
			cfg.NLayers, cfg.DModel, cfg.NHeads, cfg.NCtx, cfg.DVocab = 1, 16, 2, nctx, st.Vocab()
			g, err := nn.New(cfg, data.RNG(1, "init"))
			if err != nil {
				t.Fatal(err)
			}
			m := &longestForward{Model: g}
			if _, err := bat.Run(&eval.Harness{Model: m, Tok: st.Tok}, 0); err != nil {
				t.Fatal(err)
			}
			got := bat.SeqLen(nctx)
			t.Logf("%s: longest forward %d tokens, SeqLen %d, n_ctx %d", name, m.maxT, got, nctx)
			if m.maxT == 0 || m.maxT > got {
				t.Errorf("Run passed %d tokens, SeqLen(%d) = %d", m.maxT, nctx, got)
			}
			if short := bat.SeqLen(2); short != 2 {
				t.Errorf("SeqLen(2) = %d, want the context, 2", short)
			}
		})
	}
}
