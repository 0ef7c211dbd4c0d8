package eval_test

import (
	"testing"

	"emlab/internal/data"
	"emlab/internal/eval"
	"emlab/internal/nn"
	"emlab/internal/tasks"
)

// BenchmarkBattery1000 scores 1000 held-out items of a task (teacher-forced
// log-prob and token accuracy, plus greedy generation for exact match and
// edit distance) with a GPT of the small preset's shape (L=4, d=128, H=4,
// n_ctx=128; the task's character vocabulary) and random weights, one
// kernel thread. It reports items per second.
func BenchmarkBattery1000(b *testing.B) {
	for _, spec := range []string{"add(digits=3)", "add(digits=3,format=scratchpad)", "stories", "icl"} {
		b.Run(spec, func(b *testing.B) {
			task, err := tasks.Lookup(spec)
			if err != nil {
				b.Fatal(err)
			}
			st, err := tasks.NewStream(spec, data.MixtureConfig{Seed: 1, Label: "train", NCtx: 160, Slot: 1})
			if err != nil {
				b.Fatal(err)
			}
			cfg := nn.DefaultConfig(nn.ArchGPT)
			cfg.NLayers, cfg.DModel, cfg.NHeads, cfg.NCtx, cfg.DVocab = 4, 128, 4, 160, st.Vocab()
			m, err := nn.New(cfg, data.RNG(1, "init"))
			if err != nil {
				b.Fatal(err)
			}
			items := task.Eval(0, 1000)
			// Keep exactly 1000 items (a task with several variants returns
			// up to 1000 of each).
			if len(items) > 1000 {
				items = items[:1000]
			}
			vm := map[string]tasks.Variant{}
			for _, v := range task.Variants() {
				vm[v.Name] = v
			}
			h := &eval.Harness{Model: m, Tok: st.Tok}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := h.ScoreItems(task, items, vm); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(items)*b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
