package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"emlab/internal/checkpoint"
	"emlab/internal/config"
	"emlab/internal/data"
	"emlab/internal/nn"
)

// RunDir is a run directory opened for reading: its config, tokenizer and
// checkpoints. Reading never modifies the directory.
type RunDir struct {
	Dir    string
	Info   RunInfo
	Config config.Config
	Tok    data.Tokenizer // nil for the synthetic stream
}

// OpenRun reads DIR/config.json and DIR/tokenizer.json (when present).
func OpenRun(dir string) (*RunDir, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not a run directory (no %s)", dir, ConfigFile)
		}
		return nil, err
	}
	r := &RunDir{Dir: dir}
	if err := json.Unmarshal(b, &r.Info); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	r.Config = r.Info.Config
	if err := r.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	tb, err := os.ReadFile(filepath.Join(dir, TokenizerFile))
	switch {
	case err == nil:
		if r.Tok, err = data.UnmarshalTokenizer(tb); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, TokenizerFile), err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	return r, nil
}

// Steps lists the checkpointed steps, ascending.
func (r *RunDir) Steps() ([]int, error) {
	return checkpoint.Steps(filepath.Join(r.Dir, CheckpointsDir))
}

// Model builds the run's model with the weights of the checkpoint at step.
func (r *RunDir) Model(step int) (nn.Model, error) {
	m, err := nn.New(r.Config.Model, data.RNG(r.Config.Train.Seed, "init"))
	if err != nil {
		return nil, err
	}
	if err := r.Load(m, step); err != nil {
		return nil, err
	}
	return m, nil
}

// Load replaces m's weights with the checkpoint at step (m must have the
// run's architecture).
func (r *RunDir) Load(m nn.Model, step int) error {
	_, err := checkpoint.Load(filepath.Join(r.Dir, CheckpointsDir, checkpoint.Name(step)), m.Params(), nil)
	return err
}
