package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"emlab/internal/config"
	"emlab/internal/rundir"
	"emlab/internal/tasks"
	"emlab/internal/train"
)

func init() {
	register("train", "train one model into a run directory ("+rundir.ConfigFile+", "+rundir.MetricsFile+", "+rundir.CheckpointsDir+"/, "+rundir.DoneFile+")", runTrainCmd)
}

// trainOptions are the flags of emlab train.
type trainOptions struct {
	preset, configFile, tasks string
	sets                      []string
	steps                     int
	seed                      int64
	out                       string
	resume, quiet             bool
	noMemCheck                bool
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runTrainCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	var o trainOptions
	var sets multiFlag
	fs.StringVar(&o.preset, "preset", "", "start from a preset: "+strings.Join(config.PresetNames(), ", "))
	fs.StringVar(&o.configFile, "config", "", "start from the defaults overridden by this JSON config file")
	fs.StringVar(&o.tasks, "tasks", "", "train on a task mixture, e.g. add:2,icl:1 (sets data.source=tasks)")
	fs.Var(&sets, "set", "override one config key as `key=value`, e.g. --set model.d_model=96 (repeatable)")
	fs.IntVar(&o.steps, "steps", 0, "optimizer steps (overrides train.steps)")
	fs.Int64Var(&o.seed, "seed", -1, "run seed (overrides train.seed)")
	fs.StringVar(&o.out, "out", "", "run directory (required)")
	fs.BoolVar(&o.resume, "resume", false, "continue the run in --out from its newest valid checkpoint")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress output")
	fs.BoolVar(&o.noMemCheck, "no-memory-check", false, "skip the up-front check that the model, optimizer and batch fit in memory")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int64{"steps": 1, "seed": 0}); err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	o.sets = sets
	cfg, err := resolveConfig(o)
	if err != nil {
		return err
	}
	if o.out == "" {
		return errors.New("--out DIR is required")
	}
	var rep train.Reporter
	if !o.quiet {
		rep = newProgress(stderr, "train", cfg.Train.LogEvery)
	}
	res, err := train.Run(ctx, train.Options{Config: cfg, Out: o.out, Resume: o.resume,
		Command: append([]string{"emlab", "train"}, args...), Reporter: rep, MemoryLimit: memoryLimit(o.noMemCheck)})
	if err != nil {
		return err
	}
	switch {
	case res.WasDone:
		fmt.Fprintf(stdout, "%s already finished (%d steps): nothing to train\n", o.out, res.Steps)
	case res.Trained == 0:
		fmt.Fprintf(stdout, "nothing left to train: %s was at its last step %d (loss %.4f, eval loss %.4f logged then); marked done\n",
			o.out, res.Steps, res.FinalLoss, res.EvalLoss)
	default:
		fmt.Fprintf(stdout, "trained %d steps (to step %d): loss %.4f, eval loss %.4f → %s\n", res.Trained, res.Steps, res.FinalLoss, res.EvalLoss, o.out)
	}
	return nil
}

// resolveConfig applies preset or file, then flags, then --set, and
// validates: every config error surfaces before any work.
func resolveConfig(o trainOptions) (config.Config, error) {
	if o.preset != "" && o.configFile != "" {
		return config.Config{}, errors.New("give --preset or --config, not both")
	}
	cfg := config.Default()
	if o.preset != "" {
		var err error
		if cfg, err = config.Preset(o.preset); err != nil {
			return cfg, err
		}
	}
	if o.configFile != "" {
		if _, err := os.Stat(o.configFile); err != nil {
			return cfg, fmt.Errorf("--config: %w", err)
		}
		if err := cfg.LoadFile(o.configFile); err != nil {
			return cfg, err
		}
	}
	if o.tasks != "" {
		m, err := tasks.ParseMixture(o.tasks)
		if err != nil {
			return cfg, fmt.Errorf("--tasks: %w", err)
		}
		cfg.Data.Source, cfg.Data.Tasks = "tasks", m
	}
	if o.steps > 0 {
		cfg.Train.Steps = o.steps
	}
	if o.seed >= 0 {
		cfg.Train.Seed = uint64(o.seed)
	}
	for _, kv := range o.sets {
		if err := cfg.Set(kv); err != nil {
			return cfg, fmt.Errorf("--set: %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid config:\n%w", err)
	}
	return cfg, nil
}
