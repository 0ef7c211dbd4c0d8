package tasks

// file_task.go: a task file built into a Task. Both kinds share the split
// (a key per item, held out by hash with the task's name and version as
// salt, as the built-in tasks), the variants, the chance level, the metrics
// and the extraction of a generated answer; a template draws its items
// from generators, an item list reads them from JSONL.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"emlab/internal/data"
	"emlab/internal/rundir"
)

const (
	// fileSampleDraws draws of a template, from a generator seeded by the
	// task's name and version, measure at load what a template cannot
	// say statically: the longest item (MaxLen; a rarer, longer draw is
	// redrawn) and the share of draws that are held out or fail.
	fileSampleDraws = 4096
	// fileTries bounds Generate's redraws. Load refuses a template whose
	// sample has under minTrainShare of training draws, so 10000
	// redraws in a row have probability below 0.99^10000 ≈ 2e-44.
	fileTries     = 10000
	minTrainShare = 0.01
	// maxEnumerate bounds the combinations of values enumerated to list a
	// template's variants.
	maxEnumerate = 10000
)

// reserved names a variable may not take: they are the item's texts in
// split.key and variant.
var reserved = []string{"prompt", "answer", "target", "correct"}

// fileTask is a task read from a task file.
type fileTask struct {
	path    string // as named after file:
	src     TaskFile
	name    string
	summary string
	version int

	split      splitter
	keyT       *template
	variantT   *template
	variants   []Variant
	untrained  map[string]bool // full variant names every item of which is held out
	extract    extractSchema
	generate   bool // the answer carries more than the target (extract.after or target)
	alphabet   string
	maxLen     int
	hasChoices bool

	items *itemList     // an item list
	tmpl  *templateTask // or a template

	// Sample is what the load-time sample measured (templates) or the
	// exact counts (item lists), for `emlab tasks validate`.
	sample FileStats
}

// FileStats describes a task file's items as loaded: for an item list,
// exact counts; for a template, counts over the load-time sample of
// fileSampleDraws draws.
type FileStats struct {
	Draws     int // items (item list) or draws (template)
	Heldout   int // of them held out (by key or an untrained variant)
	Untrained int // of the held out, those of untrained variants
	Failed    int // draws an expression failed on, or that gave an empty prompt or answer, redrawn
	Rejected  int // draws with a variant [[variants]] does not declare, redrawn
	// FirstFailure is the first failed draw's error.
	FirstFailure string
}

// FileTask is implemented by tasks read from task files.
type FileTask interface {
	Task
	// Source is the task file's content and hash.
	Source() TaskFile
	// Path is the path the task was named with.
	Path() string
	// Stats describes the items (see FileStats).
	Stats() FileStats
	// HeldoutFraction is the split's requested held-out fraction.
	HeldoutFraction() float64
	// IsItemList is true for an item list, false for a template.
	IsItemList() bool
	// Summary is the file's one-line description.
	Summary() string
}

func (t *fileTask) Name() string             { return t.name }
func (t *fileTask) Version() int             { return t.version }
func (t *fileTask) Spec() string             { return data.Call{Name: data.FileCall, Path: t.path}.String() }
func (t *fileTask) Alphabet() string         { return t.alphabet }
func (t *fileTask) MaxLen() int              { return t.maxLen }
func (t *fileTask) Variants() []Variant      { return slices.Clone(t.variants) }
func (t *fileTask) Source() TaskFile         { return t.src }
func (t *fileTask) Path() string             { return t.path }
func (t *fileTask) Stats() FileStats         { return t.sample }
func (t *fileTask) HeldoutFraction() float64 { return t.split.frac }
func (t *fileTask) Summary() string          { return t.summary }
func (t *fileTask) IsItemList() bool         { return t.items != nil }
func (t *fileTask) variantName(suffix string) string {
	if t.variantT == nil {
		return t.name
	}
	return t.name + "/" + suffix
}

// Extract applies the file's extract rule: the text after the last
// `after`; with trim, white space removed around it both before and after
// cutting it at the first `stop`.
func (t *fileTask) Extract(_ *Item, generated string) string {
	return t.extract.apply(generated)
}

func (x extractSchema) apply(s string) string {
	if x.After != "" {
		if i := strings.LastIndex(s, x.After); i >= 0 {
			s = s[i+len(x.After):]
		}
	}
	if x.Trim {
		s = strings.TrimSpace(s)
	}
	for _, stop := range x.Stop {
		if i := strings.Index(s, stop); i >= 0 {
			s = s[:i]
		}
	}
	if x.Trim {
		s = strings.TrimSpace(s)
	}
	return s
}

// buildFileTask builds the task file tf, named path in errors and in the
// task's spec.
func buildFileTask(path string, tf TaskFile) (*fileTask, error) {
	s, _, err := decodeSchema(path, tf.TOML)
	if err != nil {
		return nil, err
	}
	t := &fileTask{path: path, src: tf, name: s.Name, summary: s.Summary, version: s.Version, extract: s.Extract}
	var errs []error
	fail := func(err error) { errs = append(errs, err) }
	switch {
	case s.Name == "":
		fail(s.errAt([]string{"name"}, "required: the task's name (lower-case letters, digits, _), which names its variants in %s", rundir.EvalsFile))
	case !isTaskName(s.Name):
		fail(s.errAt([]string{"name"}, "%q: want lower-case letters, digits and _, starting with a letter", s.Name))
	default:
		if _, builtin := registry[s.Name]; builtin {
			fail(s.errAt([]string{"name"}, "%q is a built-in task: give the file's task another name", s.Name))
		}
	}
	if s.Version < 1 {
		fail(s.errAt([]string{"version"}, "required: a positive integer, raised whenever the items or the split change (it salts the split)"))
	}
	frac := 0.1
	if s.Split.Heldout != nil {
		frac = *s.Split.Heldout
		if !(frac > 0 && frac <= 0.9) {
			fail(s.errAt([]string{"split", "heldout"}, "must be in (0, 0.9], got %v", frac))
		}
	}
	t.split = newSplitter(s.Name, s.Version, frac)
	if s.Chance != nil && !(*s.Chance >= 0 && *s.Chance <= 1) {
		fail(s.errAt([]string{"chance"}, "must be in [0, 1], got %v", *s.Chance))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if s.Items != "" {
		err = t.buildItems(s, tf)
	} else {
		err = t.buildTemplate(s, tf)
	}
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(t.alphabet, "\n") {
		return nil, fmt.Errorf("%s: documents may contain a newline, the separator that ends a document: write the task on one line", path)
	}
	return t, nil
}

func isTaskName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// defaultMetrics are a variant's metrics when the file names none.
func defaultMetrics(choices bool) []string {
	if choices {
		return []string{rundir.MCGrade, rundir.LogProb, rundir.Brier}
	}
	return []string{rundir.ExactMatch, rundir.TokenAccuracy, rundir.LogProb}
}

// checkMetrics validates metric names against rundir's vocabulary and
// what the task's items allow.
func (s *schema) checkMetrics(key []string, ms []string, choices bool) error {
	var known []string
	for _, k := range rundir.Kinds() {
		known = append(known, k.Name)
	}
	for _, m := range ms {
		if _, ok := rundir.KindOf(m); !ok {
			msg := fmt.Sprintf("unknown metric %q", m)
			if c := closestNames(m, known); c != "" {
				msg += " (did you mean " + c + "?)"
			}
			return s.errAt(key, "%s; metrics: %s", msg, strings.Join(known, ", "))
		}
		switch {
		case m == rundir.BayesKL:
			return s.errAt(key, "%s needs a reference distribution, which task files do not give", m)
		case !choices && (m == rundir.MCGrade || m == rundir.Brier || m == rundir.Bits):
			return s.errAt(key, "%s scores choices: the items have none (give choices and correct)", m)
		case choices && m == rundir.EditDistance:
			return s.errAt(key, "%s scores a generated answer: items with choices are scored by their choices", m)
		}
	}
	return nil
}

// setVariants fills t.variants from the suffixes found (in order), the
// declared [[variants]] and the defaults; chanceOf gives the default
// chance of a variant (NaN: none).
func (t *fileTask) setVariants(s *schema, suffixes []string, chanceOf func(suffix string) float64) error {
	declared := map[string]variantSchema{}
	for i, v := range s.Variants {
		key := []string{"variants", "name"}
		if t.variantT == nil {
			return s.errAt([]string{"variants"}, "[[variants]] set a variant's chance, metrics or trained, but the file has no variant template naming them")
		}
		if _, dup := declared[v.Name]; dup {
			return s.errAt(key, "variant %q declared twice", v.Name)
		}
		if v.Name == "" {
			return s.errAt(key, "[[variants]] %d has no name (the suffix the variant template gives, e.g. \"d=3\")", i+1)
		}
		declared[v.Name] = v
	}
	if len(s.Variants) > 0 {
		// Declared variants are the list, in the file's order; the
		// found ones must all be declared.
		var names []string
		for _, v := range s.Variants {
			names = append(names, v.Name)
		}
		for _, suf := range suffixes {
			if _, ok := declared[suf]; !ok && t.items != nil {
				return s.errAt([]string{"variant"}, "items have the variant %q, which [[variants]] does not declare (declared: %s)", suf, strings.Join(names, ", "))
			}
		}
		suffixes = names
	}
	metrics := s.Metrics
	if len(metrics) == 0 {
		metrics = defaultMetrics(t.hasChoices)
	}
	if err := s.checkMetrics([]string{"metrics"}, metrics, t.hasChoices); err != nil {
		return err
	}
	t.untrained = map[string]bool{}
	trained := 0
	for _, suf := range suffixes {
		v := Variant{Name: t.variantName(suf), Metrics: slices.Clone(metrics), Trained: true, Generate: t.generate}
		d, isDecl := declared[suf]
		if isDecl && len(d.Metrics) > 0 {
			if err := s.checkMetrics([]string{"variants", "metrics"}, d.Metrics, t.hasChoices); err != nil {
				return err
			}
			v.Metrics = slices.Clone(d.Metrics)
		}
		if isDecl && d.Trained != nil && !*d.Trained {
			v.Trained = false
			t.untrained[v.Name] = true
		} else {
			trained++
		}
		switch {
		case isDecl && d.Chance != nil:
			if !(*d.Chance >= 0 && *d.Chance <= 1) {
				return s.errAt([]string{"variants", "chance"}, "variant %q: must be in [0, 1], got %v", suf, *d.Chance)
			}
			v.Chance = *d.Chance
		case s.Chance != nil:
			v.Chance = *s.Chance
		default:
			c := chanceOf(suf)
			if math.IsNaN(c) {
				return s.errAt([]string{"chance"}, "required for variant %s: the expected exact match of a model that knows the format and nothing else (e.g. 1/number of possible answers); a task with choices defaults to 1/choices", v.Name)
			}
			v.Chance = c
		}
		t.variants = append(t.variants, v)
	}
	if len(t.variants) == 0 {
		return fmt.Errorf("%s: the task has no variants (no items?)", s.path)
	}
	if trained == 0 {
		return s.errAt([]string{"variants", "trained"}, "every variant is untrained: nothing is left to train on")
	}
	return nil
}

// ---------------------------------------------------------------- item lists

// itemList is an item-list task's items, split once at load.
type itemList struct {
	all      []fileItem
	train    []int            // training items (the documents Generate draws)
	heldout  map[string][]int // held-out items by variant
	trainBy  map[string][]int // training items by variant
	heldText map[string]bool  // document text → held out
}

type fileItem struct {
	Item
	line    int
	heldout bool
}

// itemJSON is one line of an item list.
type itemJSON struct {
	Prompt  *string                    `json:"prompt"`
	Answer  *string                    `json:"answer"`
	Target  *string                    `json:"target"`
	Choices []string                   `json:"choices"`
	Correct *int                       `json:"correct"`
	Vars    map[string]json.RawMessage `json:"vars"`
}

var itemFields = []string{"prompt", "answer", "target", "choices", "correct", "vars"}

// itemScope is what split.key and variant may name in an item list: the
// item's texts and its vars.
type itemScope struct {
	vars map[string]varInfo
}

func (sc itemScope) lookup(path []string) (varInfo, bool, error) {
	if len(path) != 1 {
		return varInfo{}, false, nil
	}
	switch path[0] {
	case "prompt", "answer", "target":
		return varInfo{t: tStr, chars: charset{all: true}}, true, nil
	case "correct":
		return varInfo{t: tInt, chars: digitChars}, true, nil
	}
	v, ok := sc.vars[path[0]]
	return v, ok, nil
}

func (sc itemScope) names() []string {
	out := slices.Clone(reserved)
	for n := range sc.vars {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// itemEnv evaluates split.key and variant on one item.
type itemEnv struct {
	it   *Item
	vars map[string]value
}

func (e itemEnv) get(path []string) (value, error) {
	switch path[0] {
	case "prompt":
		return strVal(e.it.Prompt), nil
	case "answer":
		return strVal(e.it.Answer), nil
	case "target":
		return strVal(e.it.Target), nil
	case "correct":
		return intVal(int64(e.it.Correct)), nil
	}
	v, ok := e.vars[path[0]]
	if !ok {
		return value{}, fmt.Errorf("the item has no var %q", path[0])
	}
	return v, nil
}

func (t *fileTask) buildItems(s *schema, tf TaskFile) error {
	for _, k := range []string{"prompt", "answer", "choices", "correct", "vars"} {
		if s.isSet(k) {
			return s.errAt([]string{k}, "an item-list task (items = %q) takes its items from the JSONL; %s belongs to a template task", s.Items, k)
		}
	}
	content, ok := tf.Files[s.Items]
	if !ok {
		return s.errAt([]string{"items"}, "%q is not in the task file's content", s.Items)
	}
	where := func(line int) string { return fmt.Sprintf("%s (items %s:%d)", s.path, s.Items, line) }
	lines, numbers := jsonlLines(content)
	if len(lines) == 0 {
		return s.errAt([]string{"items"}, "%s has no items", s.Items)
	}
	il := &itemList{heldout: map[string][]int{}, trainBy: map[string][]int{}, heldText: map[string]bool{}}
	itemVars := make([]map[string]value, len(lines))
	varTypes := map[string]varInfo{}
	var errs []error
	for i, raw := range lines {
		it, vars, err := parseItemLine(raw, t.name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where(numbers[i]), err))
			if len(errs) >= 10 {
				break
			}
			continue
		}
		for n, v := range vars {
			info, seen := varTypes[n]
			vi := varInfo{t: v.t, elem: tInt, chars: charsOf(v.text())}
			if seen && info.t != v.t {
				errs = append(errs, fmt.Errorf("%s: var %q is a %s here and a %s on an earlier line", where(numbers[i]), n, v.t, info.t))
				continue
			}
			if seen {
				vi.chars = vi.chars.union(info.chars)
			}
			varTypes[n] = vi
		}
		itemVars[i] = vars
		il.all = append(il.all, fileItem{Item: it, line: numbers[i]})
		if len(it.Choices) > 0 {
			t.hasChoices = true
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, fi := range il.all {
		if (len(fi.Choices) > 0) != t.hasChoices {
			return fmt.Errorf("%s: mixes items with choices and items with an answer: make two task files", where(fi.line))
		}
	}
	sc := itemScope{vars: varTypes}
	var err error
	if s.Split.Key != "" {
		if t.keyT, err = parseTemplate(s.Split.Key, sc); err != nil {
			return s.errAt([]string{"split", "key"}, "%v", err)
		}
	}
	if s.Variant != "" {
		if t.variantT, err = parseTemplate(s.Variant, sc); err != nil {
			return s.errAt([]string{"variant"}, "%v", err)
		}
	}
	if s.Target != "" {
		return s.errAt([]string{"target"}, "an item's target is its JSONL target field")
	}
	for _, fi := range il.all {
		if fi.Target != "" && fi.Target != fi.Answer {
			t.generate = true // a scratchpad before the target
		}
	}
	if s.Extract.After != "" {
		t.generate = true
	}
	var suffixes []string
	seenSuffix := map[string]bool{}
	alpha := charset{m: map[rune]bool{}}
	for i := range il.all {
		fi := &il.all[i]
		env := itemEnv{it: &fi.Item, vars: itemVars[i]}
		fi.Key = fi.Prompt
		if t.keyT != nil {
			if fi.Key, err = t.keyT.render(env); err != nil {
				return fmt.Errorf("%s: split.key: %w", where(fi.line), err)
			}
		}
		suffix := ""
		if t.variantT != nil {
			if suffix, err = t.variantT.render(env); err != nil {
				return fmt.Errorf("%s: variant: %w", where(fi.line), err)
			}
			if !seenSuffix[suffix] {
				seenSuffix[suffix] = true
				suffixes = append(suffixes, suffix)
			}
		}
		fi.Variant = t.variantName(suffix)
		if fi.Target == "" {
			fi.Target = t.extract.apply(fi.Answer)
		}
		for _, x := range append([]string{fi.Prompt, fi.Answer}, fi.Choices...) {
			alpha = alpha.union(charsOf(x))
			if strings.ContainsAny(x, "\n") {
				return fmt.Errorf("%s: contains a newline, the separator that ends a document", where(fi.line))
			}
		}
		n := runeLen(fi.Prompt) + runeLen(fi.Answer)
		for _, c := range fi.Choices {
			n = max(n, runeLen(fi.Prompt)+runeLen(c))
		}
		t.maxLen = max(t.maxLen, n)
	}
	if t.variantT == nil {
		suffixes = []string{""}
	}
	t.alphabet = alpha.String()
	t.items = il
	// Default chance: 1/choices (the mean over the variant's items) for
	// choices; 1/distinct targets of the variant for answers.
	chanceOf := func(suffix string) float64 {
		name := t.variantName(suffix)
		var sum float64
		n := 0
		targets := map[string]bool{}
		for _, fi := range il.all {
			if fi.Variant != name {
				continue
			}
			n++
			targets[fi.Target] = true
			if len(fi.Choices) > 0 {
				sum += 1 / float64(len(fi.Choices))
			}
		}
		if n == 0 {
			return math.NaN()
		}
		if t.hasChoices {
			return sum / float64(n)
		}
		return 1 / float64(len(targets))
	}
	if err := t.setVariants(s, suffixes, chanceOf); err != nil {
		return err
	}
	for i := range il.all {
		fi := &il.all[i]
		fi.heldout = t.untrained[fi.Variant] || t.split.heldout(fi.Key)
		text := fi.Prompt + fi.Answer
		if fi.heldout {
			il.heldout[fi.Variant] = append(il.heldout[fi.Variant], i)
			il.heldText[text] = true
			t.sample.Heldout++
			if t.untrained[fi.Variant] {
				t.sample.Untrained++
			}
		} else {
			il.train = append(il.train, i)
			il.trainBy[fi.Variant] = append(il.trainBy[fi.Variant], i)
			if _, ok := il.heldText[text]; !ok {
				il.heldText[text] = false
			}
		}
	}
	t.sample.Draws = len(il.all)
	if len(il.train) == 0 {
		return fmt.Errorf("%s: every item is held out (split.heldout %v over %d items): nothing is left to train on", s.path, t.split.frac, len(il.all))
	}
	return nil
}

// isSet reports whether a top-level key is in the file.
func (s *schema) isSet(key string) bool {
	switch key {
	case "prompt":
		return s.Prompt != ""
	case "answer":
		return s.Answer != ""
	case "choices":
		return len(s.Choices) > 0
	case "correct":
		return s.Correct != nil
	case "vars":
		return len(s.Vars) > 0
	}
	return false
}

// parseItemLine reads one JSONL item: prompt, answer or choices+correct,
// optional target and vars (integers, strings, or lists of integers).
func parseItemLine(raw []byte, task string) (Item, map[string]value, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return Item{}, nil, fmt.Errorf("not a JSON object: %w", err)
	}
	for k := range keys {
		if !slices.Contains(itemFields, k) {
			msg := fmt.Sprintf("unknown field %q", k)
			if c := closestNames(k, itemFields); c != "" {
				msg += " (did you mean " + c + "?)"
			}
			return Item{}, nil, fmt.Errorf("%s; fields: %s", msg, strings.Join(itemFields, ", "))
		}
	}
	var j itemJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return Item{}, nil, err
	}
	it := Item{Task: task, Subtask: -1}
	switch {
	case j.Prompt == nil || *j.Prompt == "":
		return Item{}, nil, errors.New(`missing "prompt" (the text the model reads first)`)
	case j.Answer != nil && len(j.Choices) > 0:
		return Item{}, nil, errors.New(`give "answer" or "choices" with "correct", not both`)
	case len(j.Choices) > 0:
		if j.Correct == nil {
			return Item{}, nil, errors.New(`"choices" without "correct" (the index of the right one, from 0)`)
		}
		if *j.Correct < 0 || *j.Correct >= len(j.Choices) {
			return Item{}, nil, fmt.Errorf(`"correct" %d is not an index of the %d choices`, *j.Correct, len(j.Choices))
		}
		if len(j.Choices) < 2 {
			return Item{}, nil, errors.New(`"choices" needs at least two`)
		}
		for i, c := range j.Choices {
			if c == "" {
				return Item{}, nil, fmt.Errorf("choice %d is empty", i)
			}
			if slices.Index(j.Choices, c) != i {
				return Item{}, nil, fmt.Errorf("choice %q is given twice", c)
			}
		}
		if j.Target != nil {
			return Item{}, nil, errors.New(`"target" belongs to items with an answer; a choice item's right answer is choices[correct]`)
		}
		it.Choices, it.Correct = j.Choices, *j.Correct
		it.Answer = j.Choices[*j.Correct]
		it.Target = it.Answer
	case j.Answer == nil || *j.Answer == "":
		return Item{}, nil, errors.New(`missing "answer" (or "choices" and "correct")`)
	default:
		it.Answer = *j.Answer
		if j.Correct != nil {
			return Item{}, nil, errors.New(`"correct" without "choices"`)
		}
		if j.Target != nil {
			it.Target = *j.Target
		}
	}
	it.Prompt = *j.Prompt
	vars := map[string]value{}
	for n, raw := range j.Vars {
		if !isTaskName(n) || slices.Contains(reserved, n) {
			return Item{}, nil, fmt.Errorf("var %q: want a lower-case name other than %s", n, strings.Join(reserved, ", "))
		}
		var x any
		if err := json.Unmarshal(raw, &x); err != nil {
			return Item{}, nil, fmt.Errorf("var %q: %w", n, err)
		}
		switch v := x.(type) {
		case string:
			vars[n] = strVal(v)
			if it.Text == nil {
				it.Text = map[string]string{}
			}
			it.Text[n] = v
		case float64:
			if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
				return Item{}, nil, fmt.Errorf("var %q: %v is not an integer", n, v)
			}
			vars[n] = intVal(int64(v))
			if it.Vars == nil {
				it.Vars = map[string][]int{}
			}
			it.Vars[n] = []int{int(v)}
		case []any:
			l := value{t: tList, sep: ","}
			var ints []int
			for _, e := range v {
				f, ok := e.(float64)
				if !ok || f != math.Trunc(f) {
					return Item{}, nil, fmt.Errorf("var %q: a list must hold integers", n)
				}
				l.list = append(l.list, intVal(int64(f)))
				ints = append(ints, int(f))
			}
			vars[n] = l
			if it.Vars == nil {
				it.Vars = map[string][]int{}
			}
			it.Vars[n] = ints
		default:
			return Item{}, nil, fmt.Errorf("var %q: want an integer, a string or a list of integers", n)
		}
	}
	return it, vars, nil
}

// ------------------------------------------------------------------ Task

// Generate draws one training document.
func (t *fileTask) Generate(r *rand.Rand) string {
	if t.items != nil {
		fi := &t.items.all[t.items.train[r.IntN(len(t.items.train))]]
		return fi.Prompt + fi.Answer
	}
	for range fileTries {
		d, ok := t.tmpl.draw(t, r, false)
		if ok && !d.heldout {
			return d.item.Prompt + d.item.Answer
		}
	}
	// Load measured at least minTrainShare of training draws (see
	// fileTries): reaching this is a broken invariant, not bad input.
	panic(fmt.Sprintf("task file %s: no training document in %d draws", t.path, fileTries))
}

// Heldout reports whether doc is the text of a held-out item.
func (t *fileTask) Heldout(doc string) bool {
	if t.items != nil {
		return t.items.heldText[doc]
	}
	return t.tmpl.heldoutText(t, doc)
}

// Eval returns up to n held-out items per variant, in a fixed order
// drawn from seed.
func (t *fileTask) Eval(seed uint64, n int) []Item {
	return t.collectItems(seed, n, true)
}

// TrainItems returns up to n training items per trained variant (variant
// name + "/train"): the items training draws from, to measure the gap
// between memorised and held-out items.
func (t *fileTask) TrainItems(seed uint64, n int) []Item {
	return t.collectItems(seed, n, false)
}

func (t *fileTask) collectItems(seed uint64, n int, heldout bool) []Item {
	label := "tasks/eval/" + t.name + "/v" + strconv.Itoa(t.version)
	if !heldout {
		label = "tasks/train-items/" + t.name + "/v" + strconv.Itoa(t.version)
	}
	var out []Item
	if t.items != nil {
		for _, v := range t.variants {
			idx := t.items.heldout[v.Name]
			if !heldout {
				idx = t.items.trainBy[v.Name]
			}
			idx = slices.Clone(idx)
			r := data.RNG(seed, label+"/"+v.Name)
			r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			seen := map[string]bool{}
			for _, i := range idx {
				it := cloneItem(t.items.all[i].Item)
				id := itemID(&it)
				if seen[id] {
					continue
				}
				seen[id] = true
				if !heldout {
					it.Variant += "/train"
				}
				if out = append(out, it); len(seen) == n {
					break
				}
			}
		}
		return out
	}
	// A template: one stream of draws fills every variant's quota, so a
	// variant's items are the first n of its kind in the stream whatever
	// the other variants ask for.
	r := data.RNG(seed, label)
	byVariant := map[string][]Item{}
	seen := map[string]bool{}
	need := 0
	for _, v := range t.variants {
		if heldout || v.Trained {
			need++
		}
	}
	full := 0
	tries := 20000 + 200*n*len(t.variants)
	for try := 0; try < tries && full < need; try++ {
		d, ok := t.tmpl.draw(t, r, true)
		if !ok || d.heldout != heldout {
			continue
		}
		v := d.item.Variant
		if len(byVariant[v]) >= n {
			continue
		}
		id := v + "\x00" + itemID(&d.item)
		if seen[id] {
			continue
		}
		seen[id] = true
		byVariant[v] = append(byVariant[v], d.item)
		if len(byVariant[v]) == n {
			full++
		}
	}
	for _, v := range t.variants {
		for _, it := range byVariant[v.Name] {
			if !heldout {
				it.Variant += "/train"
			}
			out = append(out, it)
		}
	}
	return out
}

func itemID(it *Item) string {
	return it.Prompt + "\x00" + it.Answer + "\x00" + strings.Join(it.Choices, "\x00")
}

func cloneItem(it Item) Item {
	it.Choices = slices.Clone(it.Choices)
	if it.Vars != nil {
		v := make(map[string][]int, len(it.Vars))
		for k, x := range it.Vars {
			v[k] = slices.Clone(x)
		}
		it.Vars = v
	}
	if it.Text != nil {
		m := make(map[string]string, len(it.Text))
		for k, x := range it.Text {
			m[k] = x
		}
		it.Text = m
	}
	return it
}

var (
	_ FileTask     = (*fileTask)(nil)
	_ TrainSampler = (*fileTask)(nil)
)
