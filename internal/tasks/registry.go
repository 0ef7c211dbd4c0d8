package tasks

import (
	"fmt"
	"sort"
	"strings"

	"emlab/internal/data"
	"emlab/internal/suggest"
)

// ParamSpec declares one parameter of a task.
type ParamSpec struct {
	Name    string
	Default string
	Doc     string // one line: meaning and allowed values
}

// factory builds a task from parameters.
type factory struct {
	name    string
	summary string
	params  []ParamSpec
	build   func(p *params) (Task, error)
}

var registry = map[string]factory{}

func register(f factory) {
	if _, dup := registry[f.name]; dup {
		panic("tasks: duplicate task " + f.name)
	}
	registry[f.name] = f
}

// Names returns the registered task names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Info describes a registered task with its default parameters.
type Info struct {
	Name     string
	Version  int
	Summary  string
	Params   []ParamSpec
	Variants []Variant // of the task with default parameters
	Spec     string    // canonical spec with defaults
}

// List describes every registered task, sorted by name.
func List() []Info {
	var out []Info
	for _, n := range Names() {
		f := registry[n]
		t, err := f.build(newParams(f, nil))
		if err != nil {
			// Defaults must always validate; the registry test checks it.
			panic(fmt.Sprintf("tasks: defaults of %s do not validate: %v", n, err))
		}
		out = append(out, Info{Name: n, Version: t.Version(), Summary: f.summary, Params: f.params, Variants: t.Variants(), Spec: t.Spec()})
	}
	return out
}

// Lookup builds the task named by spec: a name ("add") or a call with
// parameters ("add(digits=3,format=reversed)"). An unknown name or parameter
// is an error that suggests close names.
func Lookup(spec string) (Task, error) {
	c, err := data.ParseCall(strings.TrimSpace(spec))
	if err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	return FromCall(c)
}

// FromCall builds a task from a parsed call; a file:PATH call reads the
// task file at PATH.
func FromCall(c data.Call) (Task, error) { return fromCall(c, nil) }

// fromCall builds a task; a file:PATH call takes the file's content from
// files when it holds PATH (a run's embedded copy), else from disk.
func fromCall(c data.Call, files Files) (Task, error) {
	if c.Name == data.FileCall && c.Path != "" {
		if tf, ok := files[c.Path]; ok {
			if err := tf.Check(); err != nil {
				return nil, fmt.Errorf("task file %s (the copy the run recorded): %w", c.Path, err)
			}
			t, err := buildFileTask(c.Path, tf)
			if err != nil {
				return nil, fmt.Errorf("task file %s (the copy the run recorded): %w", c.Path, err)
			}
			return t, nil
		}
		return LoadFile(c.Path)
	}
	f, ok := registry[c.Name]
	if !ok {
		msg := fmt.Sprintf("unknown task %q", c.Name)
		if c.Name == data.FileCall {
			return nil, fmt.Errorf("%s: a task file is named file:PATH", msg)
		}
		if close := suggest.Closest(c.Name, Names(), 3); len(close) > 0 {
			msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(close, ", "))
		}
		return nil, fmt.Errorf("%s; known tasks: %s", msg, strings.Join(Names(), ", "))
	}
	p := newParams(f, c.Params)
	if err := p.checkKeys(); err != nil {
		return nil, err
	}
	t, err := f.build(p)
	if err != nil {
		return nil, err
	}
	if p.err != nil {
		return nil, p.err
	}
	return t, nil
}
