package tasks

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"emlab/internal/data"
	"emlab/internal/suggest"
)

// params resolves a task's parameters against its declarations. Accessors
// record the first error in err, so a constructor reads all parameters and
// checks p.err once.
type params struct {
	f    factory
	vals map[string]string
	err  error
}

func newParams(f factory, given []data.Param) *params {
	p := &params{f: f, vals: map[string]string{}}
	for _, s := range f.params {
		p.vals[s.Name] = s.Default
	}
	for _, g := range given {
		p.vals[g.Key] = g.Value
	}
	return p
}

func (p *params) known() []string {
	var names []string
	for _, s := range p.f.params {
		names = append(names, s.Name)
	}
	return names
}

// checkKeys rejects parameters the task does not declare.
func (p *params) checkKeys() error {
	decl := map[string]bool{}
	for _, s := range p.f.params {
		decl[s.Name] = true
	}
	for k := range p.vals {
		if !decl[k] {
			msg := fmt.Sprintf("task %s: unknown parameter %q", p.f.name, k)
			if close := suggest.Closest(k, p.known(), 3); len(close) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(close, ", "))
			}
			return fmt.Errorf("%s; parameters: %s", msg, strings.Join(p.known(), ", "))
		}
	}
	return nil
}

func (p *params) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("task %s: "+format, append([]any{p.f.name}, args...)...)
	}
}

// Int reads an integer in [lo, hi].
func (p *params) Int(name string, lo, hi int) int {
	s := p.vals[name]
	v, err := strconv.Atoi(s)
	if err != nil {
		p.fail("%s=%q is not an integer", name, s)
		return lo
	}
	if v < lo || v > hi {
		p.fail("%s=%d outside [%d, %d]", name, v, lo, hi)
		return lo
	}
	return v
}

// Float reads a finite number in [lo, hi].
func (p *params) Float(name string, lo, hi float64) float64 {
	s := p.vals[name]
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.fail("%s=%q is not a number", name, s)
		return lo
	}
	if v < lo || v > hi {
		p.fail("%s=%v outside [%v, %v]", name, v, lo, hi)
		return lo
	}
	return v
}

// Enum reads one of the given options.
func (p *params) Enum(name string, options ...string) string {
	s := p.vals[name]
	for _, o := range options {
		if s == o {
			return s
		}
	}
	p.fail("%s=%q is not one of %s", name, s, strings.Join(options, ", "))
	return options[0]
}

// Uint64 reads a seed-like non-negative integer.
func (p *params) Uint64(name string) uint64 {
	s := p.vals[name]
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		p.fail("%s=%q is not a non-negative integer", name, s)
	}
	return v
}

// spec writes the canonical call with every declared parameter, in
// declaration order, with the values as given (after validation they parse).
func (p *params) spec() string {
	c := data.Call{Name: p.f.name}
	for _, s := range p.f.params {
		c.Params = append(c.Params, data.Param{Key: s.Name, Value: p.vals[s.Name]})
	}
	return c.String()
}

// specOmitting is spec without the named parameters: a parameter added to
// an existing task whose default must leave the task's canonical spec, and
// so its evaluation items (drawn from a generator labelled by the spec),
// exactly as they were.
func (p *params) specOmitting(names ...string) string {
	c := data.Call{Name: p.f.name}
	for _, s := range p.f.params {
		if !slices.Contains(names, s.Name) {
			c.Params = append(c.Params, data.Param{Key: s.Name, Value: p.vals[s.Name]})
		}
	}
	return c.String()
}

// heldoutFrac is the usual declaration of the held-out fraction.
func heldoutParam(def string) ParamSpec {
	return ParamSpec{Name: "heldout", Default: def, Doc: "fraction of items held out for evaluation, in (0, 0.9]"}
}
