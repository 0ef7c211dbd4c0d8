package data

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Param is one key=value parameter of a task call, kept as text: the task
// that owns it parses and validates the value.
type Param struct {
	Key, Value string
}

// Call is a name with optional parameters: `add` or
// `add(digits=3,format=reversed)`; or a task file, `file:PATH` (Name
// FileCall, Path the path as written, no parameters).
type Call struct {
	Name   string
	Params []Param // in the order written; keys are unique
	Path   string  // the task file of a file:PATH call
}

// FileCall is the Name of a `file:PATH` call.
const FileCall = "file"

// String writes the call back in the syntax ParseCall reads; values that
// would not survive a round trip are double-quoted.
func (c Call) String() string {
	if c.Name == FileCall && c.Path != "" {
		return FileCall + ":" + quoteValue(c.Path)
	}
	if len(c.Params) == 0 {
		return c.Name
	}
	var b strings.Builder
	b.WriteString(c.Name)
	b.WriteByte('(')
	for i, p := range c.Params {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.Key)
		b.WriteByte('=')
		b.WriteString(quoteValue(p.Value))
	}
	b.WriteByte(')')
	return b.String()
}

// quoteValue is v as ParseCall reads it back: bare, or double-quoted when
// it holds a special character.
func quoteValue(v string) string {
	if needsQuote(v) {
		return strconv.Quote(v)
	}
	return v
}

func needsQuote(v string) bool {
	if v == "" {
		return true
	}
	for _, r := range v {
		if isSpecial(r) {
			return true
		}
	}
	return false
}

func isSpecial(r rune) bool {
	switch r {
	case ',', '(', ')', '=', ':', '"', ' ', '\t', '\n', '\r':
		return true
	}
	return r < 0x20 || r == 0x7f || r == utf8.RuneError
}

// MixEntry is one component of a mixture spec: a task call and its weight.
type MixEntry struct {
	Call
	Weight float64 // > 0 and finite; 1 when not written
}

// String writes the entry as name(params):weight.
func (e MixEntry) String() string {
	return e.Call.String() + ":" + strconv.FormatFloat(e.Weight, 'g', -1, 64)
}

// ParseCall parses `name` or `name(key=value,...)`. Names and keys are
// lower-case identifiers ([a-z][a-z0-9_]*); a value is a run of characters
// other than , ( ) = : " and white space, or a Go double-quoted string.
// `file:PATH` names a task file; PATH is a value (quote a path holding
// one of those characters: `file:"my tasks/x.toml"`).
func ParseCall(s string) (Call, error) {
	p := parser{s: s}
	c, err := p.call()
	if err != nil {
		return Call{}, fmt.Errorf("parse %q: %w", s, err)
	}
	p.space()
	if !p.eof() {
		return Call{}, fmt.Errorf("parse %q: unexpected %q at offset %d", s, p.s[p.i:], p.i)
	}
	return c, nil
}

// ParseMixSpec parses a mixture spec such as
// `add:2,icl:1,stories(len=200):0.5`: comma-separated task calls, each
// with an optional :weight (default 1). A task may appear only once with the
// same parameters.
func ParseMixSpec(s string) ([]MixEntry, error) {
	p := parser{s: s}
	var out []MixEntry
	seen := map[string]bool{}
	for {
		c, err := p.call()
		if err != nil {
			return nil, fmt.Errorf("parse mixture %q: %w", s, err)
		}
		e := MixEntry{Call: c, Weight: 1}
		p.space()
		if !p.eof() && p.peek() == ':' {
			p.i++
			p.space()
			start := p.i
			for !p.eof() && p.peek() != ',' && p.peek() != ' ' {
				p.i++
			}
			w, err := strconv.ParseFloat(p.s[start:p.i], 64)
			if err != nil || w <= 0 || math.IsInf(w, 0) || math.IsNaN(w) {
				return nil, fmt.Errorf("parse mixture %q: weight of %s must be a positive number, got %q", s, c.String(), p.s[start:p.i])
			}
			e.Weight = w
		}
		if seen[c.String()] {
			return nil, fmt.Errorf("parse mixture %q: %s appears twice", s, c.String())
		}
		seen[c.String()] = true
		out = append(out, e)
		p.space()
		if p.eof() {
			return out, nil
		}
		if p.peek() != ',' {
			return nil, fmt.Errorf("parse mixture %q: expected ',' at offset %d, got %q", s, p.i, p.s[p.i:])
		}
		p.i++
	}
}

type parser struct {
	s string
	i int
}

func (p *parser) eof() bool  { return p.i >= len(p.s) }
func (p *parser) peek() byte { return p.s[p.i] }
func (p *parser) space() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

func (p *parser) ident(what string) (string, error) {
	p.space()
	start := p.i
	for !p.eof() {
		c := p.peek()
		if c >= 'a' && c <= 'z' || c == '_' || (p.i > start && c >= '0' && c <= '9') {
			p.i++
			continue
		}
		break
	}
	if p.i == start {
		if p.eof() {
			return "", fmt.Errorf("expected a %s at end of input", what)
		}
		return "", fmt.Errorf("expected a %s (lower-case letters, digits, _) at offset %d, got %q", what, p.i, p.s[p.i:])
	}
	return p.s[start:p.i], nil
}

func (p *parser) call() (Call, error) {
	name, err := p.ident("task name")
	if err != nil {
		return Call{}, err
	}
	c := Call{Name: name}
	if name == FileCall && !p.eof() && p.peek() == ':' {
		p.i++
		path, err := p.value()
		if err != nil {
			return Call{}, fmt.Errorf("file: path: %w", err)
		}
		if path == "" {
			return Call{}, fmt.Errorf("file: empty path")
		}
		c.Path = path
		return c, nil
	}
	p.space()
	if p.eof() || p.peek() != '(' {
		return c, nil
	}
	p.i++
	p.space()
	if !p.eof() && p.peek() == ')' {
		p.i++
		return c, nil
	}
	seen := map[string]bool{}
	for {
		key, err := p.ident("parameter name")
		if err != nil {
			return Call{}, fmt.Errorf("%s: %w", name, err)
		}
		p.space()
		if p.eof() || p.peek() != '=' {
			return Call{}, fmt.Errorf("%s: expected '=' after %s", name, key)
		}
		p.i++
		val, err := p.value()
		if err != nil {
			return Call{}, fmt.Errorf("%s: %s: %w", name, key, err)
		}
		if seen[key] {
			return Call{}, fmt.Errorf("%s: parameter %s given twice", name, key)
		}
		seen[key] = true
		c.Params = append(c.Params, Param{Key: key, Value: val})
		p.space()
		if p.eof() {
			return Call{}, fmt.Errorf("%s: missing ')'", name)
		}
		switch p.peek() {
		case ',':
			p.i++
		case ')':
			p.i++
			return c, nil
		default:
			return Call{}, fmt.Errorf("%s: expected ',' or ')' at offset %d, got %q", name, p.i, p.s[p.i:])
		}
	}
}

func (p *parser) value() (string, error) {
	p.space()
	if !p.eof() && p.peek() == '"' {
		// Find the closing quote, honouring backslash escapes.
		j := p.i + 1
		for j < len(p.s) && p.s[j] != '"' {
			if p.s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(p.s) {
			return "", fmt.Errorf("unterminated quoted value at offset %d", p.i)
		}
		v, err := strconv.Unquote(p.s[p.i : j+1])
		if err != nil {
			return "", fmt.Errorf("bad quoted value %s: %w", p.s[p.i:j+1], err)
		}
		if !utf8.ValidString(v) {
			return "", fmt.Errorf("quoted value is not valid UTF-8")
		}
		p.i = j + 1
		return v, nil
	}
	start := p.i
	for !p.eof() {
		r, size := utf8.DecodeRuneInString(p.s[p.i:])
		if isSpecial(r) {
			break
		}
		p.i += size
	}
	if p.i == start {
		return "", fmt.Errorf("empty value at offset %d", p.i)
	}
	return p.s[start:p.i], nil
}
