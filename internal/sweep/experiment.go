// Package sweep turns an experiment file (TOML) into a plan of training
// runs with stable ids and their cost (parameters, tokens, FLOPs), and runs
// the plan on this machine (a pool packing runs onto the cores) or on a
// Slurm cluster (one sbatch array).
//
// # Runs are processes
//
// Each run is `emlab train --config <run>/train-config.json --out <run>
// --resume` followed by the experiment's post-steps (`emlab eval --run <run>
// --all`, later `emlab probe`). A post-step whose subcommand is not in the
// binary is recorded as skipped, not failed, and is run by a later sweep
// once the binary has it. Running each run as its own process keeps the
// kernels' thread pools apart and lets a run be killed without touching the
// others.
//
// # State lives in the run directories
//
// A run directory holds, beside what `emlab train` writes, sweep.json (what
// the plan asked for), train-config.json, status.json (done, failed with its
// message, interrupted), the logs of each step, and a lock file held while a
// process works on the run. Nothing else is needed to know where a sweep
// stands, so any number of `sweep run`/`sweep status` processes, on any
// machine sharing the filesystem, agree.
//
// What it deliberately does not do: index results (package store does, the
// CLI glues the two) or print (progress goes to a callback).
package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"emlab/internal/suggest"
)

// Experiment is the parsed experiment file. Every key is documented in
// docs/sweeps.md; unknown keys are errors.
type Experiment struct {
	Name        string `toml:"name"`        // required; default output directory runs/<name>
	Description string `toml:"description"` // free text, shown by sweep plan
	// Preset is the starting config (emlab train --preset); empty means the
	// defaults.
	Preset string `toml:"preset"`
	// Tasks is shorthand for data.source = "tasks", data.tasks = Tasks.
	Tasks string `toml:"tasks"`
	// Base holds config overrides for every run, nested ([base.model]) or
	// dotted ("model.d_model" = 64), with the keys of config.json.
	Base map[string]any `toml:"base"`
	// Budget derives each run's step count from its size.
	Budget Budget `toml:"budget"`
	// Axes are crossed: the plan is their Cartesian product.
	Axes      []Axis    `toml:"axis"`
	Eval      PostStep  `toml:"eval"`
	Probe     PostStep  `toml:"probe"`
	Resources Resources `toml:"resources"`
	Slurm     Slurm     `toml:"slurm"`
}

// Budget sets train.steps from a token count. At most one field is set.
type Budget struct {
	// TokensPerParam: steps = ceil(TokensPerParam · params / tokens_per_step),
	// params counting every parameter (Hoffmann et al. 2022 count all
	// parameters; on emlab's small GPTs about 10 tokens/param were needed,
	// examples/ladder.toml).
	TokensPerParam float64 `toml:"tokens_per_param"`
	// Tokens: steps = ceil(Tokens / tokens_per_step).
	Tokens float64 `toml:"tokens"`
}

// Axis is one dimension of the sweep. Exactly one of Values (with Key),
// Points or Ladder is given.
type Axis struct {
	// Name labels the axis in run ids and in sweep.json.
	Name string `toml:"name"`
	// Key is a config key (model.d_model) or a virtual key: seed, steps,
	// tokens, tokens_per_param, tasks.
	Key    string `toml:"key"`
	Values []any  `toml:"values"`
	// Labels optionally name the values in run ids (default: the values).
	Labels []string `toml:"labels"`
	// Points are zipped settings: each is a table of keys set together,
	// with an optional "label".
	Points []map[string]any `toml:"points"`
	// Ladder names a built-in ladder of model sizes (see Ladders).
	Ladder string `toml:"ladder"`
}

// PostStep configures a subcommand run on each run directory after
// training.
type PostStep struct {
	Enabled bool `toml:"enabled"`
	// Tasks (eval) or Probes (probe) restrict what is run; empty means the
	// subcommand's default.
	Tasks  string   `toml:"tasks"`
	Probes string   `toml:"probes"`
	Args   []string `toml:"args"` // extra flags, appended as given
}

// Resources are what one run needs.
type Resources struct {
	// Threads per run (train.threads). The local pool runs
	// floor(cores / Threads) runs at once unless --jobs says otherwise.
	// Default 1: on small models one single-threaded run per core is
	// fastest (docs/benchmarks.md).
	Threads int `toml:"threads"`
}

// Slurm holds the sbatch settings of the Slurm executor.
type Slurm struct {
	Partition   string   `toml:"partition"`
	Time        string   `toml:"time"`         // per array task, e.g. "01:00:00"
	Mem         string   `toml:"mem"`          // per array task, e.g. "2G"
	Pack        int      `toml:"pack"`         // runs per array task (short runs); default 1
	MaxParallel int      `toml:"max_parallel"` // array throttle (%N); 0 = no limit
	Account     string   `toml:"account"`
	Extra       []string `toml:"extra"` // more #SBATCH options, e.g. "--qos=short"
}

// Load reads and parses an experiment file.
func Load(path string) (*Experiment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	e, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("experiment %s: %w", path, err)
	}
	return e, nil
}

// topKeys are the experiment file's known top-level and section keys, for
// suggestions on unknown ones.
var topKeys = []string{"name", "description", "preset", "tasks", "base", "budget", "budget.tokens_per_param",
	"budget.tokens", "axis", "axis.name", "axis.key", "axis.values", "axis.labels", "axis.points", "axis.ladder",
	"eval", "eval.enabled", "eval.tasks", "eval.args", "probe", "probe.enabled", "probe.probes", "probe.args",
	"resources", "resources.threads", "slurm", "slurm.partition", "slurm.time", "slurm.mem", "slurm.pack",
	"slurm.max_parallel", "slurm.account", "slurm.extra"}

// Parse parses experiment TOML. Unknown keys are errors with suggestions;
// the config keys inside base and the axes are checked by NewPlan.
func Parse(b []byte) (*Experiment, error) {
	var e Experiment
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&e)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, k := range md.Undecoded() {
		key := k.String()
		// Keys under base and axis.points are free-form maps checked later.
		if strings.HasPrefix(key, "base.") || strings.HasPrefix(key, "axis.points") {
			continue
		}
		msg := fmt.Sprintf("unknown key %q", key)
		// Array-of-table indices are not part of the key.
		if c := suggest.Closest(key, topKeys, 3); len(c) > 0 {
			msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(c, ", "))
		}
		errs = append(errs, errors.New(msg))
	}
	if strings.TrimSpace(e.Name) == "" {
		errs = append(errs, errors.New("name: required (it names the default output directory)"))
	} else if !safeName(e.Name) {
		errs = append(errs, fmt.Errorf("name: %q may hold only letters, digits, '-', '_' and '.'", e.Name))
	}
	if e.Budget.TokensPerParam < 0 || e.Budget.Tokens < 0 {
		errs = append(errs, errors.New("budget: must not be negative"))
	}
	if e.Budget.TokensPerParam > 0 && e.Budget.Tokens > 0 {
		errs = append(errs, errors.New("budget: give tokens_per_param or tokens, not both"))
	}
	if e.Resources.Threads < 0 {
		errs = append(errs, fmt.Errorf("resources.threads: must be ≥ 0, got %d", e.Resources.Threads))
	}
	if e.Resources.Threads == 0 {
		e.Resources.Threads = 1
	}
	if e.Slurm.Pack < 0 || e.Slurm.MaxParallel < 0 {
		errs = append(errs, errors.New("slurm: pack and max_parallel must be ≥ 0"))
	}
	if e.Slurm.Pack == 0 {
		e.Slurm.Pack = 1
	}
	names := map[string]bool{}
	for i := range e.Axes {
		a := &e.Axes[i]
		where := fmt.Sprintf("axis %d", i+1)
		if a.Name == "" {
			a.Name = a.Key
		}
		if a.Name == "" && a.Ladder != "" {
			a.Name = "size"
		}
		if a.Name != "" {
			where = fmt.Sprintf("axis %q", a.Name)
		}
		if a.Name == "" {
			errs = append(errs, fmt.Errorf("%s: needs a name", where))
		} else if names[a.Name] {
			errs = append(errs, fmt.Errorf("%s: two axes have this name", where))
		}
		names[a.Name] = true
		kinds := 0
		if len(a.Values) > 0 || a.Key != "" {
			kinds++
		}
		if len(a.Points) > 0 {
			kinds++
		}
		if a.Ladder != "" {
			kinds++
		}
		switch {
		case kinds != 1:
			errs = append(errs, fmt.Errorf("%s: give exactly one of key+values, points or ladder", where))
		case a.Key != "" && len(a.Values) == 0:
			errs = append(errs, fmt.Errorf("%s: key %q has no values", where, a.Key))
		case len(a.Values) > 0 && a.Key == "":
			errs = append(errs, fmt.Errorf("%s: values without a key", where))
		case len(a.Labels) > 0 && len(a.Labels) != len(a.Values):
			errs = append(errs, fmt.Errorf("%s: %d labels for %d values", where, len(a.Labels), len(a.Values)))
		case a.Ladder != "":
			if _, ok := ladders[a.Ladder]; !ok {
				msg := fmt.Sprintf("%s: unknown ladder %q", where, a.Ladder)
				if c := suggest.Closest(a.Ladder, LadderNames(), 3); len(c) > 0 {
					msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(c, ", "))
				}
				errs = append(errs, fmt.Errorf("%s; ladders: %s", msg, strings.Join(LadderNames(), ", ")))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &e, nil
}

// safeName reports whether s can be a file name and part of a run id.
func safeName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Ladder is a named list of model sizes; each rung is a set of config
// overrides.
type Ladder struct {
	About string
	Rungs []map[string]any
}

// ladders are model-size ladders calibrated to train in a few minutes on
// two cores (rungs as d/L/heads).
var ladders = map[string]Ladder{
	"gpt-3min": {"3-minute class: 16.5k–108k params", []map[string]any{
		gptRung("d32L1", 32, 1, 2), gptRung("d32L2", 32, 2, 2), gptRung("d48L2", 48, 2, 2), gptRung("d64L2", 64, 2, 4)}},
	"gpt-10min": {"10-minute class: 16.5k–808k params", []map[string]any{
		gptRung("d32L1", 32, 1, 2), gptRung("d48L2", 48, 2, 2), gptRung("d64L3", 64, 3, 4), gptRung("d96L3", 96, 3, 4),
		gptRung("d128L4", 128, 4, 4)}},
	"gpt-micro": {"the smallest GPTs, for tests: d 16 and 32, one layer", []map[string]any{
		gptRung("d16L1", 16, 1, 2), gptRung("d32L1", 32, 1, 2)}},
	"mlp-width": {"quanta: MLP hidden widths 8–256", []map[string]any{
		mlpRung(8), mlpRung(16), mlpRung(32), mlpRung(64), mlpRung(128), mlpRung(256)}},
}

func gptRung(label string, d, l, h int) map[string]any {
	return map[string]any{"label": label, "model.d_model": int64(d), "model.n_layers": int64(l), "model.n_heads": int64(h)}
}

func mlpRung(w int) map[string]any {
	return map[string]any{"label": fmt.Sprintf("w%d", w), "model.d_mlp": int64(w)}
}

// LadderNames lists the built-in ladders, sorted.
func LadderNames() []string {
	names := make([]string, 0, len(ladders))
	for n := range ladders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LadderAbout describes a built-in ladder.
func LadderAbout(name string) string { return ladders[name].About }
