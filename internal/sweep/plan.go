package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"emlab/internal/config"
	"emlab/internal/nn"
	"emlab/internal/train"
)

// Run is one planned training run.
type Run struct {
	ID string `json:"id"`
	// Axes maps each axis name to the label of this run's value.
	Axes map[string]string `json:"axes"`
	// Settings are the overrides this run's axis values made, as key=value
	// text (virtual keys resolved).
	Settings []string      `json:"settings"`
	Config   config.Config `json:"config"` // resolved; train.threads from resources

	Params             int     `json:"params"`
	NonEmbeddingParams int     `json:"non_embedding_params"`
	Steps              int     `json:"steps"`
	TokensPerStep      int     `json:"tokens_per_step"`
	Tokens             int64   `json:"tokens"`
	FLOPsPerToken      float64 `json:"flops_per_token"`
	FLOPs              float64 `json:"flops"` // FLOPsPerToken · Tokens (training only)
}

// Plan is an experiment expanded into runs.
type Plan struct {
	Experiment *Experiment `json:"-"`
	Name       string      `json:"name"`
	Runs       []Run       `json:"runs"`
	Params     int64       `json:"total_params"`
	Tokens     int64       `json:"total_tokens"`
	FLOPs      float64     `json:"total_flops"`
	PostSteps  []string    `json:"post_steps"` // subcommands run after training, in order
}

// Lookup returns the run with the given id.
func (p *Plan) Lookup(id string) (Run, bool) {
	for _, r := range p.Runs {
		if r.ID == id {
			return r, true
		}
	}
	return Run{}, false
}

// point is one value of one axis: a label and the settings it makes.
type point struct {
	label string
	set   map[string]any
}

// NewPlan expands e into runs: the Cartesian product of the axes (in file
// order, the last axis varying fastest), each resolved, validated and
// costed. Every problem is reported, each naming its run, before anything
// runs.
func NewPlan(e *Experiment) (*Plan, error) {
	base := config.Default()
	if e.Preset != "" {
		var err error
		if base, err = config.Preset(e.Preset); err != nil {
			return nil, fmt.Errorf("preset: %w", err)
		}
	}
	var errs []error
	baseSet := map[string]any{}
	if err := flattenInto("", e.Base, baseSet); err != nil {
		errs = append(errs, fmt.Errorf("base: %w", err))
	}
	if e.Tasks != "" {
		baseSet["tasks"] = e.Tasks
	}
	axes := make([][]point, len(e.Axes))
	for i, a := range e.Axes {
		pts, err := axisPoints(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		axes[i] = pts
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := checkGrid(e, axes); err != nil {
		return nil, err
	}
	// Check the base alone first so a bad base key is reported once, not
	// once per run.
	if _, err := resolve(base, baseSet, e); err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}

	p := &Plan{Experiment: e, Name: e.Name}
	if e.Eval.Enabled {
		p.PostSteps = append(p.PostSteps, "eval")
	}
	if e.Probe.Enabled {
		p.PostSteps = append(p.PostSteps, "probe")
	}
	ids := map[string]int{}
	idx := make([]int, len(axes))
	for {
		settings := map[string]any{}
		for k, v := range baseSet {
			settings[k] = v
		}
		labels := map[string]string{}
		var parts []string
		var own []string
		for i, pts := range axes {
			pt := pts[idx[i]]
			labels[e.Axes[i].Name] = pt.label
			parts = append(parts, pt.label)
			for _, k := range sortedKeys(pt.set) {
				settings[k] = pt.set[k]
				own = append(own, k+"="+valueText(pt.set[k]))
			}
		}
		r, err := resolve(base, settings, e)
		name := strings.Join(parts, "-")
		if name == "" {
			name = "run"
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("run %s: %w", name, err))
		} else {
			r.Axes, r.Settings = labels, own
			full := configDigest(r.Config)
			r.ID = name + "-" + full[:6]
			// Same runs are found by the whole digest: six hex digits
			// collide by chance within a few thousand runs.
			if j, dup := ids[full]; dup {
				errs = append(errs, fmt.Errorf("runs %s and %s are the same run (their axis values give one config)", p.Runs[j].ID, r.ID))
			}
			ids[full] = len(p.Runs)
			p.Runs = append(p.Runs, r)
			p.Params += int64(r.Params)
			p.Tokens += r.Tokens
			p.FLOPs += r.FLOPs
		}
		// Advance the odometer, last axis fastest.
		k := len(axes) - 1
		for k >= 0 {
			idx[k]++
			if idx[k] < len(axes[k]) {
				break
			}
			idx[k] = 0
			k--
		}
		if k < 0 {
			break
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// MaxRuns bounds the runs of one plan. Planning is cheap (tens of
// microseconds a run), but a sweep of more runs than this is a mistake in
// the axes far more often than an intent, and each run is a directory and
// a process.
const MaxRuns = 100_000

// checkGrid refuses, before planning anything, axes whose product exceeds
// MaxRuns.
func checkGrid(e *Experiment, axes [][]point) error {
	total := 1.0
	var sizes []string
	for i, pts := range axes {
		total *= float64(len(pts))
		sizes = append(sizes, fmt.Sprintf("%s %d", e.Axes[i].Name, len(pts)))
	}
	if total > MaxRuns {
		return fmt.Errorf("the axes give %.0f runs (%s), more than the %d one plan may hold: split the experiment or thin an axis",
			total, strings.Join(sizes, " × "), MaxRuns)
	}
	return nil
}

// axisPoints lists an axis's values with their labels and settings.
func axisPoints(a Axis) ([]point, error) {
	var pts []point
	switch {
	case a.Key != "":
		for i, v := range a.Values {
			label := a.Name + valueLabel(v)
			if len(a.Labels) > 0 {
				label = a.Labels[i]
			}
			pts = append(pts, point{label: label, set: map[string]any{a.Key: v}})
		}
	default:
		raw := a.Points
		if a.Ladder != "" {
			raw = ladders[a.Ladder].Rungs
		}
		for i, m := range raw {
			set := map[string]any{}
			if err := flattenInto("", m, set); err != nil {
				return nil, fmt.Errorf("axis %q point %d: %w", a.Name, i+1, err)
			}
			label, _ := set["label"].(string)
			delete(set, "label")
			if label == "" {
				label = fmt.Sprintf("%s%d", a.Name, i+1)
			}
			pts = append(pts, point{label: label, set: set})
		}
	}
	seen := map[string]bool{}
	for i, pt := range pts {
		pt.label = sanitizeLabel(pt.label)
		pts[i] = pt
		if seen[pt.label] {
			return nil, fmt.Errorf("axis %q: two values have the label %q (give labels)", a.Name, pt.label)
		}
		seen[pt.label] = true
	}
	return pts, nil
}

// resolve applies settings over base and computes the run's cost.
func resolve(base config.Config, settings map[string]any, e *Experiment) (Run, error) {
	cfg := base
	var errs []error
	var tpp, tokens float64 = e.Budget.TokensPerParam, e.Budget.Tokens
	stepsSet := false
	plain := map[string]any{}
	for _, k := range sortedKeys(settings) {
		v := settings[k]
		switch k {
		case "seed":
			plain["train.seed"] = v
		case "steps":
			plain["train.steps"] = v
		case "tasks":
			plain["data.source"], plain["data.tasks"] = "tasks", v
		case "tokens", "tokens_per_param":
			x, ok := number(v)
			if !ok || x <= 0 {
				errs = append(errs, fmt.Errorf("%s: want a positive number, got %v", k, v))
				continue
			}
			if k == "tokens" {
				tokens, tpp = x, 0
			} else {
				tpp, tokens = x, 0
			}
		default:
			plain[k] = v
		}
	}
	for _, k := range sortedKeys(plain) {
		if k == "train.steps" {
			stepsSet = true
		}
		// Typed: "32" in quotes is not the number 32, as in config files.
		if err := cfg.SetAny(k, plain[k]); err != nil {
			errs = append(errs, err)
		}
	}
	if stepsSet && (tpp > 0 || tokens > 0) {
		errs = append(errs, errors.New("steps: set both directly and by a token budget (tokens or tokens_per_param)"))
	}
	if len(errs) > 0 {
		return Run{}, errors.Join(errs...)
	}
	cfg.Train.Threads = e.Resources.Threads
	if err := cfg.Validate(); err != nil {
		return Run{}, err
	}
	// A task mixture or a corpus fixes the vocabulary (and so the
	// parameter count): resolve it as training will. A data source that
	// cannot be built is the run's error, reported now.
	vocab, err := train.Vocab(cfg)
	if err != nil {
		return Run{}, err
	}
	if err := train.ResolveVocab(&cfg, vocab); err != nil {
		return Run{}, err
	}
	// Count the parameters from the config alone: building the model would
	// allocate it (a plan of absurd sizes must not run out of memory) and
	// takes far longer on a large grid. nn's tests check the counts
	// against built models.
	r := Run{Params: int(nn.ParamCount(cfg.Model)), TokensPerStep: cfg.Train.BatchSize * cfg.T(),
		FLOPsPerToken: nn.FLOPsPerToken(cfg.Model, cfg.T())}
	r.NonEmbeddingParams = r.Params - int(nn.EmbeddingParams(cfg.Model))
	switch {
	case tpp > 0:
		cfg.Train.Steps = int(math.Ceil(tpp * float64(r.Params) / float64(r.TokensPerStep)))
	case tokens > 0:
		cfg.Train.Steps = int(math.Ceil(tokens / float64(r.TokensPerStep)))
	}
	if cfg.Train.Steps < 1 {
		return Run{}, fmt.Errorf("train.steps: the budget gives %d steps", cfg.Train.Steps)
	}
	r.Config = cfg
	r.Steps = cfg.Train.Steps
	r.Tokens = int64(r.Steps) * int64(r.TokensPerStep)
	r.FLOPs = r.FLOPsPerToken * float64(r.Tokens)
	return r, nil
}

// configDigest is a stable hash (hex SHA-256) of what determines a run's
// results: the resolved config without train.threads (threads never change
// results). Its first six digits end the run id, so the id changes when
// anything about the run changes and an edited experiment never resumes a
// directory trained under other settings.
func configDigest(c config.Config) string {
	c.Train.Threads = 0
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// flattenInto flattens nested tables into dotted keys. A key reached twice
// (once dotted, once nested) is an error, so what a run gets never depends
// on map order; every such key is reported, sorted.
func flattenInto(prefix string, m map[string]any, out map[string]any) error {
	var errs []string
	flattenAll(prefix, m, out, &errs)
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

func flattenAll(prefix string, m map[string]any, out map[string]any, errs *[]string) {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		switch x := v.(type) {
		case map[string]any:
			flattenAll(key, x, out, errs)
		case []any, []map[string]any:
			*errs = append(*errs, fmt.Sprintf("%s: a list is not a value (an axis varies a key)", key))
		default:
			if _, dup := out[key]; dup {
				*errs = append(*errs, fmt.Sprintf("%s: set twice (once as a dotted key, once in its table): keep one", key))
				continue
			}
			out[key] = v
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// valueText is a TOML value in the text form config.SetValue parses.
func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// valueLabel is a value's short form in a run id.
func valueLabel(v any) string {
	if x, ok := v.(float64); ok {
		return strconv.FormatFloat(x, 'g', 4, 64)
	}
	return valueText(v)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// sanitizeLabel keeps letters, digits, '.', '_' and '+'; other runs of
// characters become '_' so an id is a safe directory name.
func sanitizeLabel(s string) string {
	var b strings.Builder
	under := false
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '+' {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" {
		out = "x"
	}
	return out
}
