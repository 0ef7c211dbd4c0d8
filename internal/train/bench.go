package train

import (
	"fmt"
	"math"
	"runtime"
	"time"

	"emlab/internal/config"
	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/optim"
	"emlab/internal/tensor"
)

// BenchResult is the measured training throughput of one configuration.
type BenchResult struct {
	TokensPerSec float64 // training tokens per second (forward, backward, clip, AdamW)
	GFLOPs       float64 // model FLOPs per second / 1e9 (FLOPsPerToken × tokens/s)
	// BestTokensPerSec is the fastest single step's rate: on a machine that
	// other processes share, the steps they did not interrupt.
	BestTokensPerSec float64
	Threads          int
	Steps            int
	Params           int
}

// Benchmark trains cfg on the synthetic stream for at least minSteps steps
// and minTime (after two warm-up steps) and reports the throughput. It
// writes nothing.
func Benchmark(cfg config.Config, minSteps int, minTime time.Duration) (BenchResult, error) {
	if err := cfg.Validate(); err != nil {
		return BenchResult{}, err
	}
	threads := cfg.Train.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	tensor.SetThreads(threads)
	src, err := data.NewSynthetic(cfg.Train.Seed, cfg.Model.DVocab, min(4, cfg.Model.DVocab), "train")
	if err != nil {
		return BenchResult{}, err
	}
	model, err := nn.New(cfg.Model, data.RNG(cfg.Train.Seed, "init"))
	if err != nil {
		return BenchResult{}, err
	}
	ps := model.Params()
	opt := optim.NewAdamW(cfg.Optim, ps)
	B, T := cfg.Train.BatchSize, cfg.T()
	tok, tgt := make([]int32, B*T), make([]int32, B*T)
	step := func(s int) error {
		src.Batch(int64(s), B, T, tok, tgt)
		ps.ZeroGrad()
		if loss := model.Forward(tok, tgt, B, T); loss != loss {
			return fmt.Errorf("bench: NaN loss at step %d", s)
		}
		model.Backward()
		optim.ClipGradNorm(ps, cfg.Optim.Clip)
		opt.Update(cfg.Optim.LR)
		return nil
	}
	for s := 0; s < 2; s++ {
		if err := step(s); err != nil {
			return BenchResult{}, err
		}
	}
	began := time.Now()
	n := 0
	best := time.Duration(math.MaxInt64)
	for n < minSteps || time.Since(began) < minTime {
		t0 := time.Now()
		if err := step(2 + n); err != nil {
			return BenchResult{}, err
		}
		best = min(best, time.Since(t0))
		n++
	}
	sec := time.Since(began).Seconds()
	tps := float64(n*B*T) / sec
	return BenchResult{TokensPerSec: tps, GFLOPs: tps * model.FLOPsPerToken(T) / 1e9, Threads: threads, Steps: n, Params: ps.Count(),
		BestTokensPerSec: float64(B*T) / best.Seconds()}, nil
}
