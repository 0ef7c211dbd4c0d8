package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"emlab/internal/config"
	"emlab/internal/train"
)

func init() {
	register("bench", "measure training throughput (tokens/s, GFLOP/s) on the presets", runBenchCmd)
}

type benchOptions struct {
	presets []string
	threads int
	steps   int
	minTime time.Duration
	json    bool
}

func runBenchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	preset := fs.String("preset", "", "one preset (default: tiny, small, medium)")
	var o benchOptions
	fs.IntVar(&o.threads, "threads", 0, "kernel threads (default: the preset's train.threads)")
	fs.IntVar(&o.steps, "steps", 5, "at least this many timed steps")
	fs.DurationVar(&o.minTime, "time", 3*time.Second, "and at least this long")
	fs.BoolVar(&o.json, "json", false, "one JSON object per line")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int64{"threads": 0, "steps": 1}); err != nil {
		return err
	}
	o.presets = []string{"tiny", "small", "medium"}
	if *preset != "" {
		if _, err := config.Preset(*preset); err != nil { // before the table's header
			return err
		}
		o.presets = []string{*preset}
	}
	return runBench(ctx, o, stdout)
}

// benchLine is one line of emlab bench --json.
type benchLine struct {
	Preset       string  `json:"preset"`
	TokensPerSec float64 `json:"tokens_per_s"`
	GFLOPs       float64 `json:"gflops"`
	Threads      int     `json:"threads"`
	Params       int     `json:"params"`
	Steps        int     `json:"steps"`
	// BestTokensPerSec is the fastest single step's rate (the steps that
	// other processes on a shared machine did not interrupt).
	BestTokensPerSec float64 `json:"best_step_tokens_per_s"`
}

func runBench(ctx context.Context, o benchOptions, w io.Writer) error {
	if !o.json {
		fmt.Fprintf(w, "%-8s %10s %12s %8s %8s\n", "preset", "params", "tokens/s", "GFLOP/s", "threads")
	}
	for _, name := range o.presets {
		if err := ctx.Err(); err != nil {
			return err
		}
		cfg, err := config.Preset(name)
		if err != nil {
			return err
		}
		if o.threads > 0 {
			cfg.Train.Threads = o.threads
		}
		r, err := train.Benchmark(cfg, o.steps, o.minTime)
		if err != nil {
			return fmt.Errorf("preset %s: %w", name, err)
		}
		if o.json {
			b, _ := json.Marshal(benchLine{name, r.TokensPerSec, r.GFLOPs, r.Threads, r.Params, r.Steps, r.BestTokensPerSec})
			fmt.Fprintln(w, string(b))
		} else {
			fmt.Fprintf(w, "%-8s %10d %12.0f %8.1f %8d\n", name, r.Params, r.TokensPerSec, r.GFLOPs, r.Threads)
		}
	}
	return nil
}
