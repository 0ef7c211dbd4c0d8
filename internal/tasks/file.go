package tasks

// file.go: task files, the declarative way to add a task without writing
// Go. A TOML file describes either a template (a prompt and an answer with
// {expression} placeholders over variables drawn by generators) or a list of
// items in JSONL; it gives the split key, the held-out fraction, the chance
// level, the metrics and the variants. `file:PATH` names it wherever a task
// name is accepted, and a loaded file task is a Task like the built-in ones
// (file_task.go). The format is documented in docs/tasks.md.
//
// A TaskFile holds the content of every file a task reads (the TOML, the
// JSONL of its items or rows) and their hash: a mixture that names task
// files carries them, and a run's config.json embeds them (package
// config), so that a finished run is evaluated on the task it was trained
// on even after the file on disk changes.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"emlab/internal/suggest"
)

// TaskFile is a task file's content: the TOML and the files it names
// (by the name written in the TOML, relative to it), with the SHA-256 of
// them all. Its JSON form is what a run's config.json embeds.
type TaskFile struct {
	SHA256 string            `json:"sha256"`
	TOML   string            `json:"toml"`
	Files  map[string]string `json:"files,omitempty"`
}

// Files are task files by the path a mixture names them with (as written
// after file:).
type Files map[string]TaskFile

// hashFiles is the SHA-256 of a TOML and its files, each length-prefixed
// and in name order, as hex.
func hashFiles(tomlText string, files map[string]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "toml %d\n%s", len(tomlText), tomlText)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "\nfile %q %d\n%s", n, len(files[n]), files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ReadTaskFile reads a task file and the files it names from disk.
func ReadTaskFile(path string) (TaskFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return TaskFile{}, fmt.Errorf("task file: %w", err)
	}
	tf := TaskFile{TOML: string(b), Files: map[string]string{}}
	s, _, err := decodeSchema(path, tf.TOML)
	if err != nil {
		return TaskFile{}, err
	}
	for _, ref := range s.references() {
		name := ref.name
		if filepath.IsAbs(name) || name != filepath.Clean(name) || strings.HasPrefix(name, "..") {
			return TaskFile{}, fmt.Errorf("%s:%d: %s = %q: name a file in the task file's directory or below it, as a clean relative path",
				path, s.line(ref.key...), strings.Join(ref.key, "."), name)
		}
		if _, done := tf.Files[name]; done {
			continue
		}
		data, err := os.ReadFile(filepath.Join(filepath.Dir(path), name))
		if err != nil {
			return TaskFile{}, fmt.Errorf("%s:%d: %s: %w", path, s.line(ref.key...), strings.Join(ref.key, "."), err)
		}
		tf.Files[name] = string(data)
	}
	if len(tf.Files) == 0 {
		tf.Files = nil
	}
	tf.SHA256 = hashFiles(tf.TOML, tf.Files)
	return tf, nil
}

// Check verifies that the content matches its hash (an embedded copy
// edited by hand, or damaged).
func (tf TaskFile) Check() error {
	if got := hashFiles(tf.TOML, tf.Files); got != tf.SHA256 {
		return fmt.Errorf("content has SHA-256 %s, not the recorded %s", got, tf.SHA256)
	}
	return nil
}

// LoadFile reads and builds the task file at path (`emlab tasks validate`,
// `file:PATH`).
func LoadFile(path string) (Task, error) {
	tf, err := ReadTaskFile(path)
	if err != nil {
		return nil, err
	}
	return buildFileTask(path, tf)
}

var tomlTypeErr = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// schema is the TOML of a task file. Every key is documented in
// docs/tasks.md; unknown keys are errors with suggestions.
type schema struct {
	Name    string `toml:"name"`
	Version int    `toml:"version"`
	Summary string `toml:"summary"`

	// A template task: prompt and answer (or choices and correct) are
	// templates over the variables.
	Prompt  string               `toml:"prompt"`
	Answer  string               `toml:"answer"`
	Target  string               `toml:"target"`
	Choices []string             `toml:"choices"`
	Correct any                  `toml:"correct"` // an index, or a template giving one
	Vars    map[string]varSchema `toml:"vars"`

	// An item-list task: a JSONL file of items.
	Items string `toml:"items"`

	Split    splitSchema     `toml:"split"`
	Chance   *float64        `toml:"chance"`
	Metrics  []string        `toml:"metrics"`
	Variant  string          `toml:"variant"`
	Variants []variantSchema `toml:"variants"`
	Extract  extractSchema   `toml:"extract"`

	// Set by decodeSchema and the builders.
	path  string
	src   string
	files map[string]string // the files it names, by name
}

type varSchema struct {
	Range    []any     `toml:"range"`
	Choice   []any     `toml:"choice"`
	Weights  []float64 `toml:"weights"`
	Rows     any       `toml:"rows"`
	Expr     string    `toml:"expr"`
	Count    any       `toml:"count"`
	Sep      string    `toml:"sep"`
	Distinct bool      `toml:"distinct"`
}

type splitSchema struct {
	Key     string   `toml:"key"`
	Heldout *float64 `toml:"heldout"`
}

type variantSchema struct {
	Name    string   `toml:"name"`
	Trained *bool    `toml:"trained"`
	Chance  *float64 `toml:"chance"`
	Metrics []string `toml:"metrics"`
}

type extractSchema struct {
	After string   `toml:"after"`
	Stop  []string `toml:"stop"`
	Trim  bool     `toml:"trim"`
}

// schemaKeys are the known keys, for suggestions; "vars.*" stands for
// any variable's name.
var schemaKeys = []string{"name", "version", "summary", "prompt", "answer", "target", "choices", "correct", "vars",
	"items", "split", "split.key", "split.heldout", "chance", "metrics", "variant", "variants", "variants.name",
	"variants.trained", "variants.chance", "variants.metrics", "extract", "extract.after", "extract.stop", "extract.trim"}

var varKeys = []string{"range", "choice", "weights", "rows", "expr", "count", "sep", "distinct"}

// fileRef is a file a task file names.
type fileRef struct {
	key  []string
	name string
}

// references lists the files the schema names: the items, and rows
// given as a file.
func (s *schema) references() []fileRef {
	var out []fileRef
	if s.Items != "" {
		out = append(out, fileRef{[]string{"items"}, s.Items})
	}
	for _, name := range s.varNames() {
		if f, ok := s.Vars[name].Rows.(string); ok {
			out = append(out, fileRef{[]string{"vars", name, "rows"}, f})
		}
	}
	return out
}

func (s *schema) varNames() []string {
	names := make([]string, 0, len(s.Vars))
	for n := range s.Vars {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// decodeSchema parses a task file's TOML; path names it in errors. Syntax
// errors, values of the wrong type and unknown keys are errors naming
// the line.
func decodeSchema(path, src string) (*schema, toml.MetaData, error) {
	s := &schema{path: path, src: src}
	md, err := toml.Decode(src, s)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if pe.LastKey != "" && !strings.Contains(msg, pe.LastKey) {
				msg = pe.LastKey + ": " + msg
			}
			return nil, md, fmt.Errorf("%s:%d: %s", path, pe.Position.Line, msg)
		}
		// Type mismatches come as "toml: line N (last key "k"): message".
		if m := tomlTypeErr.FindStringSubmatch(err.Error()); m != nil {
			msg := m[3]
			if k := strings.Split(m[2], "."); len(k) == 2 && k[0] == "vars" && strings.Contains(msg, "expected table") {
				msg = fmt.Sprintf("a variable is a table of one generator, e.g. %s = { range = [0, 9] }", k[1])
			}
			return nil, md, fmt.Errorf("%s:%s: %s: %s", path, m[1], m[2], msg)
		}
		return nil, md, fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	for _, k := range md.Undecoded() {
		if len(k) >= 3 && k[0] == "vars" && k[2] == "rows" {
			continue // the inside of inline rows, checked when built
		}
		errs = append(errs, s.unknownKey(k))
	}
	if len(errs) > 0 {
		return nil, md, errors.Join(errs...)
	}
	return s, md, nil
}

// unknownKey is the error for a key the schema does not have, with the
// line and the closest known keys.
func (s *schema) unknownKey(k toml.Key) error {
	key := k.String()
	var cands []string
	switch {
	case len(k) == 3 && k[0] == "vars":
		cands = closestKeys(k[2], varKeys)
		for i := range cands {
			cands[i] = "vars." + k[1] + "." + cands[i]
		}
	case len(k) == 2 && k[0] == "vars":
		// vars.x = 3: a variable must be a table of one generator.
		return fmt.Errorf("%s:%d: %s: a variable is a table of one generator, e.g. %s = { range = [0, 9] }", s.path, s.line(k...), key, k[1])
	default:
		cands = closestKeys(key, schemaKeys)
		if len(cands) == 0 {
			last := k[len(k)-1]
			for _, c := range closestKeys(last, lastParts(schemaKeys)) {
				cands = append(cands, withLast(schemaKeys, c)...)
			}
		}
	}
	msg := fmt.Sprintf("%s:%d: unknown key %q", s.path, s.line(k...), key)
	if len(cands) > 0 {
		msg += " (did you mean " + strings.Join(cands, ", ") + "?)"
	}
	return errors.New(msg)
}

// closestKeys is suggest.Closest, or else the keys with the same letters
// (a transposition, rnage for range, is two edits).
func closestKeys(name string, keys []string) []string {
	if c := suggest.Closest(name, keys, 3); len(c) > 0 {
		return c
	}
	sorted := func(s string) string {
		b := []byte(s)
		slices.Sort(b)
		return string(b)
	}
	var out []string
	for _, k := range keys {
		if sorted(k) == sorted(name) {
			out = append(out, k)
		}
	}
	return out
}

func lastParts(keys []string) []string {
	var out []string
	for _, k := range keys {
		p := k[strings.LastIndex(k, ".")+1:]
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func withLast(keys []string, last string) []string {
	var out []string
	for _, k := range keys {
		if k[strings.LastIndex(k, ".")+1:] == last {
			out = append(out, k)
		}
	}
	return out
}

// line finds the line of a key in the TOML: the line that sets it, or
// the line that sets or opens its closest enclosing table; 0 when not
// found. Indices into arrays of tables are not part of a key, so the
// first match wins — good enough to point at the place.
func (s *schema) line(key ...string) int {
	best, bestLen := 0, 0
	var table []string
	sc := bufio.NewScanner(strings.NewReader(s.src))
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		var path []string
		if strings.HasPrefix(l, "[") {
			h := strings.Trim(strings.TrimSpace(strings.SplitN(l, "#", 2)[0]), "[]")
			table = splitKey(h)
			path = table
		} else {
			k, _, ok := strings.Cut(l, "=")
			if !ok {
				continue
			}
			path = append(slices.Clone(table), splitKey(k)...)
		}
		if m := commonPrefix(path, key); m > bestLen && m == len(path) {
			best, bestLen = n, m
		}
	}
	return best
}

// splitKey splits a dotted TOML key, removing quotes and spaces.
func splitKey(k string) []string {
	var out []string
	for _, p := range strings.Split(k, ".") {
		p = strings.TrimSpace(p)
		if uq, err := strconv.Unquote(p); err == nil {
			p = uq
		} else {
			p = strings.Trim(p, `'`)
		}
		out = append(out, p)
	}
	return out
}

func commonPrefix(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// errAt formats an error at a key of the schema: "PATH:LINE: key: msg".
func (s *schema) errAt(key []string, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", s.path, s.line(key...), strings.Join(key, "."), fmt.Sprintf(format, args...))
}

// jsonlLines splits JSONL content into its non-blank lines with their
// numbers.
func jsonlLines(content string) (lines [][]byte, numbers []int) {
	b := []byte(content)
	for n := 1; len(b) > 0; n++ {
		raw, rest, _ := bytes.Cut(b, []byte{'\n'})
		b = rest
		if raw = bytes.TrimSpace(raw); len(raw) > 0 {
			lines, numbers = append(lines, raw), append(numbers, n)
		}
	}
	return lines, numbers
}
