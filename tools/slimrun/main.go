// Command slimrun copies a run directory's config, tokenizer and chosen
// checkpoints into a new directory, re-saving the checkpoints without the
// optimizer state (a third of the size), for small committed test
// fixtures made by emlab's own trainer:
//
//	go run ./tools/slimrun -from /tmp/r/attn2-s1 -to internal/probe/testdata/attn2 -steps 1000,2000
//
// The weights are copied bit for bit; the result is a valid run directory
// for emlab probe and emlab eval (not for --resume).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"emlab/internal/checkpoint"
	"emlab/internal/rundir"
	"emlab/internal/train"
)

func main() {
	from := flag.String("from", "", "run directory to copy")
	to := flag.String("to", "", "new run directory")
	steps := flag.String("steps", "", "comma-separated checkpoint steps to keep")
	flag.Parse()
	if err := run(*from, *to, *steps); err != nil {
		fmt.Fprintln(os.Stderr, "slimrun:", err)
		os.Exit(1)
	}
}

func run(from, to, steps string) error {
	if from == "" || to == "" || steps == "" {
		return fmt.Errorf("-from, -to and -steps are required")
	}
	rd, err := train.OpenRun(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(to, rundir.CheckpointsDir), 0o755); err != nil {
		return err
	}
	for _, f := range []string{rundir.ConfigFile, rundir.TokenizerFile} {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, f), b, 0o644); err != nil {
			return err
		}
	}
	for _, s := range strings.Split(steps, ",") {
		step, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-steps: %w", err)
		}
		m, err := rd.Model(step)
		if err != nil {
			return err
		}
		meta, err := checkpoint.ReadMeta(filepath.Join(from, rundir.CheckpointsDir, checkpoint.Name(step)))
		if err != nil {
			return err
		}
		if _, err := checkpoint.Save(filepath.Join(to, rundir.CheckpointsDir), meta, m.Params(), nil); err != nil {
			return err
		}
	}
	return nil
}
