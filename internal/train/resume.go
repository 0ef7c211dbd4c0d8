package train

// resume.go: what --resume accepts. A run directory continues only as the
// run it was started as: the same configuration (train.threads aside), from
// a checkpoint that run wrote, to a step count whose learning-rate schedule
// agrees with the steps already taken — so a resumed run still ends where
// an uninterrupted one would.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"emlab/internal/config"
	"emlab/internal/optim"
)

// configDiff lists the config keys whose values differ between the run's
// recorded config (there) and the requested one (here), as "key: X there,
// Y here". train.threads never changes results and train.steps is checked
// against the schedule instead, so neither counts.
func configDiff(there, here config.Config) []string {
	there.Train.Threads, here.Train.Threads = 0, 0
	there.Train.Steps, here.Train.Steps = 0, 0
	var out []string
	for _, d := range config.Diff(there, here) {
		out = append(out, fmt.Sprintf("%s: %s there, %s here", d.Key, d.A, d.B))
	}
	return out
}

// checkpointDiff compares the config a checkpoint's metadata records with
// the run's: a checkpoint another run wrote (another seed, same shapes)
// loads cleanly but continues the wrong run.
func checkpointDiff(meta json.RawMessage, here config.Config) ([]string, error) {
	var there config.Config
	if err := json.Unmarshal(meta, &there); err != nil {
		return nil, fmt.Errorf("its metadata config: %w", err)
	}
	return configDiff(there, here), nil
}

// scheduleChange returns the first step below upTo whose learning rate in
// a run of newSteps differs from its rate in a run of oldSteps; ok is false
// when none does (changing the step count then leaves every step taken
// exactly as it was).
func scheduleChange(o optim.Config, oldSteps, newSteps, upTo int) (step int, ok bool) {
	if oldSteps == newSteps {
		return 0, false
	}
	for s := 0; s < upTo; s++ {
		if o.LRAt(s, oldSteps) != o.LRAt(s, newSteps) {
			return s, true
		}
	}
	return 0, false
}

// scheduleWhy explains a schedule change for error messages.
func scheduleWhy(o optim.Config, oldSteps, newSteps, step int) string {
	return fmt.Sprintf("the learning-rate schedule (%s, warmup and decay set by train.steps) gives step %d lr %g in a %d-step run and %g in a %d-step run",
		o.Schedule, step, o.LRAt(step, oldSteps), oldSteps, o.LRAt(step, newSteps), newSteps)
}

// removeTemps deletes the temporary files a checkpoint write killed
// mid-way leaves in dir (atomicfile's ".step-N.safetensors.tmp-*"); they
// are never read and each is as large as a checkpoint.
func removeTemps(dir string, rep Reporter) {
	tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	for _, p := range tmps {
		if err := os.Remove(p); err == nil {
			rep.Event(fmt.Sprintf("removed %s, left by an interrupted checkpoint write", p))
		}
	}
}
