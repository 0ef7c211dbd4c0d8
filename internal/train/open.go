package train

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"emlab/internal/checkpoint"
	"emlab/internal/config"
	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/rundir"
)

// RunDir is a run directory opened for the model side (eval, probe): its
// config, tokenizer and checkpoints. Reading never modifies the directory.
type RunDir struct {
	Dir    string
	Info   rundir.Info
	Config config.Config
	Tok    data.Tokenizer // nil for the synthetic stream
}

// OpenRun reads DIR/config.json and DIR/tokenizer.json (when present).
func OpenRun(dir string) (*RunDir, error) {
	b, err := rundir.ReadConfigJSON(dir)
	if err != nil {
		return nil, err
	}
	r := &RunDir{Dir: dir}
	path := rundir.Path(dir, rundir.ConfigFile)
	if err := json.Unmarshal(b, &r.Config); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := json.Unmarshal(b, &r.Info); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := r.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tb, err := rundir.ReadTokenizer(dir)
	if err != nil {
		return nil, err
	}
	if tb != nil {
		if r.Tok, err = data.UnmarshalTokenizer(tb); err != nil {
			return nil, fmt.Errorf("%s: %w", rundir.Path(dir, rundir.TokenizerFile), err)
		}
	}
	return r, nil
}

// Heldout is the run's held-out stream, built from its configuration and
// tokenizer (see HeldoutSource).
func (r *RunDir) Heldout() (data.Source, error) { return HeldoutSource(r.Config, r.Tok) }

// Steps lists the checkpointed steps, ascending.
func (r *RunDir) Steps() ([]int, error) {
	return checkpoint.Steps(filepath.Join(r.Dir, rundir.CheckpointsDir))
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
	_, err := checkpoint.Load(filepath.Join(r.Dir, rundir.CheckpointsDir, checkpoint.Name(step)), m.Params(), nil)
	return err
}
