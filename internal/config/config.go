// Package config is a training run's one typed configuration: the model,
// the optimizer, the data and the loop. Defaults are commented in the
// structs; presets are small diffs over them; files and --set key=value hold
// overrides, type-checked, with unknown keys answered by suggestions.
// Validate runs before any work.
package config

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/optim"
	"emlab/internal/suggest"
	"emlab/internal/tasks"
)

// Config is everything that determines a run. Its JSON form, with the
// resolved values, is saved as the run's config.json and in every checkpoint.
type Config struct {
	Model nn.Config    `json:"model"`
	Optim optim.Config `json:"optim"`
	Data  Data         `json:"data"`
	Train Train        `json:"train"`
}

// Data selects the training stream.
type Data struct {
	// Source is "synthetic" (the built-in Markov stream), "tasks" (the
	// task mixture given by Tasks) or "text" (a natural-language corpus).
	Source string `json:"source"`
	// Tasks is the mixture of source "tasks", parsed when set (--tasks,
	// --set data.tasks=…, a file) so a misspelt task fails before any
	// work; its JSON form is the spec as written, e.g. "add:2,icl:1".
	// The task files it names (file:PATH) are embedded beside it, under
	// "task_files" (see MarshalJSON), so the configuration alone rebuilds
	// the run's tasks even after the files change.
	Tasks  tasks.Mixture `json:"tasks"`
	Branch int           `json:"branch"` // synthetic: successors per token
	Slot   int           `json:"slot"`   // tasks: documents start at multiples of Slot tokens

	Corpus      string  `json:"corpus"`       // text: file (plain, .jsonl, .rdb) or SWORD module directory
	CorpusField string  `json:"corpus_field"` // text: JSONL field with the text
	Tokenizer   string  `json:"tokenizer"`    // text: char | bpe
	BPEVocab    int     `json:"bpe_vocab"`    // text: BPE vocabulary size (≥ 257)
	Heldout     float64 `json:"heldout"`      // text: fraction of documents held out for eval_loss
}

// TaskFilesKey is the key of data's embedded task files in the JSON form.
const TaskFilesKey = "task_files"

// dataJSON is Data's JSON form without its methods.
type dataJSON Data

// MarshalJSON writes Data's fields and, when the mixture names task
// files, their content and hash under "task_files" (path as written →
// tasks.TaskFile).
func (d Data) MarshalJSON() ([]byte, error) {
	files := d.Tasks.Files()
	if len(files) == 0 {
		return json.Marshal(dataJSON(d))
	}
	return json.Marshal(struct {
		dataJSON
		TaskFiles tasks.Files `json:"task_files"`
	}{dataJSON(d), files})
}

// UnmarshalJSON reads Data, building the mixture's task files from the
// embedded content (a run's copy), never from the files on disk, which
// may have changed since.
func (d *Data) UnmarshalJSON(b []byte) error {
	var j struct {
		dataJSON
		Tasks     string      `json:"tasks"`
		TaskFiles tasks.Files `json:"task_files"`
	}
	j.dataJSON = dataJSON(*d)
	j.Tasks = d.Tasks.String()
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	m, err := tasks.ParseMixtureWith(j.Tasks, j.TaskFiles)
	if err != nil {
		return fmt.Errorf("data.tasks: %w", err)
	}
	*d = Data(j.dataJSON)
	d.Tasks = m
	return nil
}

// Train holds the loop's settings.
type Train struct {
	Seed        uint64 `json:"seed"`
	Steps       int    `json:"steps"`        // optimizer steps
	BatchSize   int    `json:"batch_size"`   // B sequences per step
	SeqLen      int    `json:"seq_len"`      // T tokens per sequence; 0 means model.n_ctx
	Threads     int    `json:"threads"`      // kernel goroutines; 0 means one per core
	LogEvery    int    `json:"log_every"`    // metrics.jsonl line every N steps (and at checkpoints)
	EvalBatches int    `json:"eval_batches"` // held-out batches per eval-loss measurement
	// Checkpoints follow Pythia: step 0 and every power of two up to
	// CheckpointLogMax, then every CheckpointEvery steps, and the last step.
	CheckpointLogMax int  `json:"checkpoint_log_max"`
	CheckpointEvery  int  `json:"checkpoint_every"`
	KeepCheckpoints  bool `json:"keep_checkpoints"` // keep all (true) or only the newest two (false)
}

// Default is the tiny preset: the smallest GPT that trains in seconds.
func Default() Config {
	m := nn.DefaultConfig(nn.ArchGPT)
	return Config{
		Model: m,
		Optim: optim.DefaultConfig(),
		Data: Data{Source: "synthetic", Branch: 4, Slot: 16,
			CorpusField: "text", Tokenizer: "bpe", BPEVocab: 512, Heldout: 0.05},
		Train: Train{Seed: 1, Steps: 1000, BatchSize: 32, Threads: 1, LogEvery: 10, EvalBatches: 4,
			CheckpointLogMax: 512, CheckpointEvery: 1000, KeepCheckpoints: true},
	}
}

// T is the sequence length used for training.
func (c Config) T() int {
	if c.Train.SeqLen > 0 {
		return c.Train.SeqLen
	}
	return c.Model.NCtx
}

// Equal reports whether c and o describe the same run: whether their JSON
// forms, which hold every setting, are the same.
func (c Config) Equal(o Config) bool {
	a, errA := json.Marshal(c)
	b, errB := json.Marshal(o)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// Difference is one key whose value differs between two configurations,
// with the two values' text forms.
type Difference struct {
	Key  string
	A, B string
}

// Diff lists, sorted by key, every key whose value differs between a and
// b. A value that parses its own text form (data.tasks) is compared, and
// shown, as that text.
func Diff(a, b Config) []Difference {
	var out []Difference
	var walk func(a, b reflect.Value, prefix string)
	walk = func(a, b reflect.Value, prefix string) {
		for i := 0; i < a.NumField(); i++ {
			key := prefix + jsonName(a.Type().Field(i))
			fa, fb := a.Field(i), b.Field(i)
			if fa.Kind() == reflect.Struct && !isTextValue(fa.Type()) {
				walk(fa, fb, key+".")
				continue
			}
			ta, tb := valueText(fa), valueText(fb)
			if ta != tb {
				out = append(out, Difference{key, ta, tb})
			}
		}
	}
	walk(reflect.ValueOf(a), reflect.ValueOf(b), "")
	// data.tasks's text names a task file by path; its content, which the
	// configuration embeds, may differ under the same path.
	fa, fb := a.Data.Tasks.Files(), b.Data.Tasks.Files()
	for _, p := range slices.Sorted(maps.Keys(fa)) {
		if hb, ok := fb[p]; !ok || hb.SHA256 != fa[p].SHA256 {
			out = append(out, Difference{"data." + TaskFilesKey + "." + p, fileText(fa, p), fileText(fb, p)})
		}
	}
	for _, p := range slices.Sorted(maps.Keys(fb)) {
		if _, ok := fa[p]; !ok {
			out = append(out, Difference{"data." + TaskFilesKey + "." + p, fileText(fa, p), fileText(fb, p)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// fileText shows a task file in a Difference: its content's hash, or
// that there is none.
func fileText(fs tasks.Files, path string) string {
	f, ok := fs[path]
	if !ok {
		return "(none)"
	}
	return "sha256 " + f.SHA256[:min(12, len(f.SHA256))]
}

// valueText is a field's value as text: its own text form when it has one,
// else as fmt prints it (which tells every float64 apart).
func valueText(v reflect.Value) string {
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		if err != nil {
			return fmt.Sprintf("(%v)", err)
		}
		return string(b)
	}
	return fmt.Sprint(v.Interface())
}

// Validate reports every problem, each naming its key.
func (c Config) Validate() error {
	errs := nonFinite(c)
	modelErr := c.Model.Validate()
	if modelErr != nil {
		errs = append(errs, modelErr)
	}
	if err := c.Optim.Validate(); err != nil {
		errs = append(errs, err)
	}
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.Data.Source {
	case "synthetic":
		if c.Data.Branch < 1 || c.Data.Branch > c.Model.DVocab {
			bad("data.branch", "must be in [1, model.d_vocab=%d], got %d", c.Model.DVocab, c.Data.Branch)
		}
	case "tasks":
		switch {
		case c.Data.Tasks.IsZero():
			bad("data.tasks", "empty mixture (give e.g. --tasks add:2,icl:1)")
		case c.Data.Slot < 1:
			bad("data.slot", "must be positive, got %d", c.Data.Slot)
		case modelErr == nil && c.Train.SeqLen >= 0 && c.Train.SeqLen <= c.Model.NCtx:
			// The stream training will build, built now: every document
			// must fit the window it is packed into.
			if _, err := c.Data.Tasks.Stream(data.MixtureConfig{Seed: c.Train.Seed, NCtx: c.T(), Slot: c.Data.Slot}); err != nil {
				bad("data.tasks", "%v", err)
			}
		}
	case "text":
		if strings.TrimSpace(c.Data.Corpus) == "" {
			bad("data.corpus", "no corpus path (see scripts/get-text.sh for public-domain prose)")
		}
		if c.Data.Tokenizer != "char" && c.Data.Tokenizer != "bpe" {
			bad("data.tokenizer", "unknown tokenizer %q (want char or bpe)", c.Data.Tokenizer)
		}
		if c.Data.Tokenizer == "bpe" && c.Data.BPEVocab < 257 {
			bad("data.bpe_vocab", "must be at least 257 (256 bytes and the separator), got %d", c.Data.BPEVocab)
		}
		if !(c.Data.Heldout > 0 && c.Data.Heldout < 1) {
			bad("data.heldout", "must be in (0, 1), got %g", c.Data.Heldout)
		}
	default:
		bad("data.source", "unknown source %q (want synthetic, tasks or text)", c.Data.Source)
	}
	t := c.Train
	if t.Steps < 1 {
		bad("train.steps", "must be positive, got %d", t.Steps)
	}
	if t.BatchSize < 1 {
		bad("train.batch_size", "must be positive, got %d", t.BatchSize)
	}
	if t.SeqLen < 0 || t.SeqLen > c.Model.NCtx {
		bad("train.seq_len", "must be in [0, model.n_ctx=%d], got %d", c.Model.NCtx, t.SeqLen)
	}
	if t.Threads < 0 {
		bad("train.threads", "must be ≥ 0, got %d", t.Threads)
	}
	if t.LogEvery < 1 {
		bad("train.log_every", "must be positive, got %d", t.LogEvery)
	}
	if t.EvalBatches < 0 {
		bad("train.eval_batches", "must be ≥ 0, got %d", t.EvalBatches)
	}
	if t.CheckpointEvery < 1 {
		bad("train.checkpoint_every", "must be positive, got %d", t.CheckpointEvery)
	}
	if t.CheckpointLogMax < 0 {
		bad("train.checkpoint_log_max", "must be ≥ 0, got %d", t.CheckpointLogMax)
	}
	if len(errs) == 0 {
		if a := nn.ActivationFloats(c.Model, t.BatchSize, c.T()); !(a <= nn.MaxElements) {
			bad("train.batch_size", "%d sequences of %d tokens (train.seq_len, or model.n_ctx) need %.3g activation values, more than any machine holds",
				t.BatchSize, c.T(), a)
		}
	}
	return errors.Join(errs...)
}

// IsCheckpoint reports whether the weights after `step` optimizer steps are
// checkpointed (step 0 is the initialization).
func (t Train) IsCheckpoint(step int) bool {
	if step == 0 || step == t.Steps {
		return true
	}
	if step <= t.CheckpointLogMax && step&(step-1) == 0 {
		return true
	}
	return step%t.CheckpointEvery == 0
}

// Set applies one "key=value" override (keys as in the JSON form, e.g.
// model.d_model=96 or optim.lr=1e-3), checking the value's type.
func (c *Config) Set(kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("--set %q: want key=value", kv)
	}
	return c.SetValue(strings.TrimSpace(key), strings.TrimSpace(val))
}

// SetValue sets the field named by the dotted JSON key from its text form.
func (c *Config) SetValue(key, val string) error {
	f, err := field(reflect.ValueOf(c).Elem(), key)
	if err != nil {
		return err
	}
	if u, ok := textValue(f); ok {
		if err := u.UnmarshalText([]byte(val)); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(val)
	case reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("%s: %q is not a boolean (true or false)", key, val)
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			// Accept integral floats such as 1e4.
			x, ferr := strconv.ParseFloat(val, 64)
			if ferr != nil || x != float64(int64(x)) {
				return fmt.Errorf("%s: %q is not an integer", key, val)
			}
			n = int64(x)
		}
		f.SetInt(n)
	case reflect.Uint64:
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a non-negative integer", key, val)
		}
		f.SetUint(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a number", key, val)
		}
		f.SetFloat(x)
	default:
		return fmt.Errorf("%s: is a section, not a value (set one of its keys)", key)
	}
	return nil
}

// textValue returns the field as a TextUnmarshaler when its type parses
// its own text form (data.tasks): such a field is one value, not a section.
func textValue(f reflect.Value) (encoding.TextUnmarshaler, bool) {
	if !f.CanAddr() {
		return nil, false
	}
	u, ok := f.Addr().Interface().(encoding.TextUnmarshaler)
	return u, ok
}

// isTextValue reports whether fields of type t parse their own text form.
func isTextValue(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// field finds the settable field for a dotted key, or an error that
// suggests the closest known keys.
func field(v reflect.Value, key string) (reflect.Value, error) {
	parts := strings.Split(key, ".")
	cur := v
	for i, p := range parts {
		if cur.Kind() != reflect.Struct {
			return reflect.Value{}, unknownKey(key)
		}
		found := false
		for j := 0; j < cur.NumField(); j++ {
			if jsonName(cur.Type().Field(j)) == p {
				cur = cur.Field(j)
				found = true
				break
			}
		}
		if !found {
			return reflect.Value{}, unknownKey(key)
		}
		if i == len(parts)-1 && cur.Kind() == reflect.Struct && !isTextValue(cur.Type()) {
			return reflect.Value{}, fmt.Errorf("%s: is a section, not a value (set one of its keys)", key)
		}
	}
	return cur, nil
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// Keys lists every settable dotted key, sorted.
func Keys() []string {
	var keys []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := prefix + jsonName(f)
			if f.Type.Kind() == reflect.Struct && !isTextValue(f.Type) {
				walk(f.Type, name+".")
			} else {
				keys = append(keys, name)
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	sort.Strings(keys)
	return keys
}

func unknownKey(key string) error {
	msg := fmt.Sprintf("unknown config key %q", key)
	// Suggest on the full key and on its last part alone (d_modle → model.d_model).
	cands := suggest.Closest(key, Keys(), 3)
	if len(cands) == 0 {
		last := key[strings.LastIndex(key, ".")+1:]
		var lasts []string
		byLast := map[string]string{}
		for _, k := range Keys() {
			l := k[strings.LastIndex(k, ".")+1:]
			lasts = append(lasts, l)
			byLast[l] = k
		}
		for _, l := range suggest.Closest(last, lasts, 3) {
			cands = append(cands, byLast[l])
		}
	}
	if len(cands) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(cands, ", "))
	}
	return errors.New(msg)
}

// ApplyJSON applies the overrides in one JSON object (nested sections or
// dotted keys) through SetAny, so files get the same type checks and
// suggestions as --set. Duplicate keys, a key given both dotted and nested,
// and anything after the object are errors.
func (c *Config) ApplyJSON(b []byte) error {
	m, err := decodeObject(b)
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	return c.ApplyMap(m)
}

// ApplyMap applies nested overrides (as decoded from JSON or TOML), in
// sorted key order, each through SetAny. Task files embedded under
// data.task_files (a run's config.json, a sweep's train-config.json) are
// the content data.tasks's file:PATH entries are built from.
func (c *Config) ApplyMap(m map[string]any) error {
	m, files, err := takeTaskFiles(m)
	if err != nil {
		return err
	}
	flat, err := Flatten(m)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		var err error
		if k == "data.tasks" && files != nil {
			err = c.setTasksWith(flat[k], files)
		} else {
			err = c.SetAny(k, flat[k])
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// takeTaskFiles removes data.task_files (nested or dotted) from m, which
// it copies, and decodes it under the rules of the rest of the file: given
// both dotted and nested, null, or with a field a task file does not have,
// it is an error naming the key.
func takeTaskFiles(m map[string]any) (map[string]any, tasks.Files, error) {
	const key = "data." + TaskFilesKey
	var raw any
	found := false
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	if v, ok := out[key]; ok {
		raw, found = v, true
		delete(out, key)
	}
	if d, ok := out["data"].(map[string]any); ok {
		if v, ok := d[TaskFilesKey]; ok {
			if found {
				return nil, nil, fmt.Errorf("%s: set twice (once as a dotted key, once in its section): keep one", key)
			}
			raw, found = v, true
			nd := make(map[string]any, len(d))
			for k, v := range d {
				if k != TaskFilesKey {
					nd[k] = v
				}
			}
			out["data"] = nd
		}
	}
	if !found {
		return out, nil, nil
	}
	if _, ok := raw.(map[string]any); !ok {
		return nil, nil, fmt.Errorf("%s: want an object of task files by path, got %s", key, describe(raw))
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", key, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var files tasks.Files
	if err := dec.Decode(&files); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", key, err)
	}
	return out, files, nil
}

// setTasksWith sets data.tasks from its value in a file, building the
// task files it names from files (the recorded copies) rather than disk.
// The value must be a string, as SetAny requires of data.tasks.
func (c *Config) setTasksWith(v any, files tasks.Files) error {
	spec, ok := v.(string)
	if !ok {
		return fmt.Errorf("data.tasks: want a string, got %s", describe(v))
	}
	mix, err := tasks.ParseMixtureWith(spec, files)
	if err != nil {
		return fmt.Errorf("data.tasks: %w", err)
	}
	c.Data.Tasks = mix
	return nil
}

// LoadFile applies the overrides in a JSON config file.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", "":
		if err := c.ApplyJSON(b); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
	default:
		return fmt.Errorf("config %s: unsupported extension %q (want .json)", path, filepath.Ext(path))
	}
	return nil
}
