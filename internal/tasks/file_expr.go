package tasks

// file_expr.go: the small language of task files' templates. A template is
// text with {expression} placeholders ({{ and }} are literal braces); an
// expression is integer arithmetic, comparisons and a few string functions
// over the task's variables. It is checked once, when the file is loaded
// (names, fields, function arities, types), so that drawing an item can
// fail only on values (a division by zero), and its possible characters
// are known without drawing (the character tokenizer's alphabet).
//
// What it deliberately does not do: loops, assignment, floating point, or
// anything a TOML table of generators already says.

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"emlab/internal/suggest"
)

// vtype is the static type of an expression.
type vtype int

const (
	tInt vtype = iota
	tStr
	tList // a list of scalars (a generator with count)
	tRow  // a record drawn from rows; only its fields are values
)

func (t vtype) String() string {
	return [...]string{"integer", "string", "list", "row"}[t]
}

// value is a variable's or an expression's value.
type value struct {
	t    vtype
	i    int64
	s    string
	list []value
	sep  string           // how a list renders
	row  map[string]value // tRow
}

func intVal(i int64) value  { return value{t: tInt, i: i} }
func strVal(s string) value { return value{t: tStr, s: s} }

// text renders a scalar or a list as it appears in a document.
func (v value) text() string {
	switch v.t {
	case tInt:
		return strconv.FormatInt(v.i, 10)
	case tStr:
		return v.s
	case tList:
		parts := make([]string, len(v.list))
		for i, e := range v.list {
			parts[i] = e.text()
		}
		return strings.Join(parts, v.sep)
	}
	return ""
}

// scope is what an expression may name: each variable's static type, its
// characters, and for rows the fields.
type scope interface {
	// lookup returns a name's static type; ok is false for an unknown
	// name, err reports a name that cannot be typed (a cycle).
	lookup(path []string) (info varInfo, ok bool, err error)
	names() []string
}

// varInfo is the static knowledge of one name (a variable or a row's field).
type varInfo struct {
	t     vtype
	elem  vtype    // tList: the elements' type
	chars charset  // every character its text can hold
	deps  []string // the variables it is computed from (for ordering)
}

// env gives the values of the names during evaluation.
type env interface {
	get(path []string) (value, error)
}

// charset is a set of characters; all means any character.
type charset struct {
	all bool
	m   map[rune]bool
}

func charsOf(s string) charset {
	c := charset{m: map[rune]bool{}}
	for _, r := range s {
		c.m[r] = true
	}
	return c
}

var digitChars = charsOf("-0123456789")

func (c charset) union(o charset) charset {
	if c.all || o.all {
		return charset{all: true}
	}
	out := charset{m: make(map[rune]bool, len(c.m)+len(o.m))}
	for r := range c.m {
		out.m[r] = true
	}
	for r := range o.m {
		out.m[r] = true
	}
	return out
}

func (c charset) mapRunes(f func(rune) rune) charset {
	if c.all {
		return c
	}
	out := charset{m: map[rune]bool{}}
	for r := range c.m {
		out.m[f(r)] = true
	}
	return out
}

// String lists the characters, sorted.
func (c charset) String() string {
	rs := make([]rune, 0, len(c.m))
	for r := range c.m {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return string(rs)
}

// expr is a checked expression.
type expr interface {
	eval(e env) (value, error)
	typ() vtype
	elem() vtype // the element type of a list
	chars() charset
	refs(add func(path []string))
}

type litExpr struct{ v value }

func (x litExpr) eval(env) (value, error)   { return x.v, nil }
func (x litExpr) typ() vtype                { return x.v.t }
func (x litExpr) elem() vtype               { return tStr }
func (x litExpr) chars() charset            { return charsOf(x.v.text()) }
func (x litExpr) refs(func(path []string))  {}
func (x refExpr) eval(e env) (value, error) { return e.get(x.path) }
func (x refExpr) typ() vtype                { return x.info.t }
func (x refExpr) elem() vtype               { return x.info.elem }
func (x refExpr) chars() charset            { return x.info.chars }
func (x refExpr) refs(add func([]string))   { add(x.path) }

type refExpr struct {
	path []string
	info varInfo
}

type negExpr struct{ x expr }

func (n negExpr) eval(e env) (value, error) {
	v, err := n.x.eval(e)
	if err != nil {
		return value{}, err
	}
	return intVal(-v.i), nil
}
func (n negExpr) typ() vtype              { return tInt }
func (n negExpr) elem() vtype             { return tStr }
func (n negExpr) chars() charset          { return digitChars }
func (n negExpr) refs(add func([]string)) { n.x.refs(add) }

type binExpr struct {
	op   string
	a, b expr
}

func (x binExpr) typ() vtype              { return tInt }
func (x binExpr) elem() vtype             { return tStr }
func (x binExpr) chars() charset          { return digitChars }
func (x binExpr) refs(add func([]string)) { x.a.refs(add); x.b.refs(add) }

func (x binExpr) eval(e env) (value, error) {
	a, err := x.a.eval(e)
	if err != nil {
		return value{}, err
	}
	b, err := x.b.eval(e)
	if err != nil {
		return value{}, err
	}
	if a.t == tStr { // == and != on strings (checked at load)
		eq := a.s == b.s
		if x.op == "!=" {
			eq = !eq
		}
		return intVal(b2i(eq)), nil
	}
	p, q := a.i, b.i
	switch x.op {
	case "+":
		return checked(p+q, (p > 0 && q > 0 && p+q < 0) || (p < 0 && q < 0 && p+q >= 0))
	case "-":
		return checked(p-q, (p >= 0 && q < 0 && p-q < 0) || (p < 0 && q > 0 && p-q >= 0))
	case "*":
		r := p * q
		return checked(r, p != 0 && (r/p != q || (p == -1 && q == math.MinInt64)))
	case "/", "%":
		if q == 0 {
			return value{}, fmt.Errorf("%s by zero", map[string]string{"/": "division", "%": "modulo"}[x.op])
		}
		// Floor division and a modulo with the divisor's sign, as
		// Python's: (−7) % 10 = 3, so a modular answer is never negative.
		d, m := p/q, p%q
		if m != 0 && (m < 0) != (q < 0) {
			d--
			m += q
		}
		if x.op == "/" {
			return intVal(d), nil
		}
		return intVal(m), nil
	case "<":
		return intVal(b2i(p < q)), nil
	case "<=":
		return intVal(b2i(p <= q)), nil
	case ">":
		return intVal(b2i(p > q)), nil
	case ">=":
		return intVal(b2i(p >= q)), nil
	case "==":
		return intVal(b2i(p == q)), nil
	case "!=":
		return intVal(b2i(p != q)), nil
	}
	return value{}, fmt.Errorf("unknown operator %s", x.op)
}

func checked(v int64, overflow bool) (value, error) {
	if overflow {
		return value{}, errors.New("integer overflow")
	}
	return intVal(v), nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// fn is a built-in function: its argument types (nil entries accept a
// string or an integer), result and characters.
type fn struct {
	args  []vtype
	any   []bool // args[i] may be a string or an integer
	doc   string
	typ   func(args []expr) (vtype, vtype)
	chars func(args []expr) charset
	call  func(args []value) (value, error)
}

// maxText bounds a generated string (pad's width, a repetition), so a
// typo cannot ask for a gigabyte.
const maxText = 4096

var funcs = map[string]fn{
	"len": {args: []vtype{tStr}, any: []bool{true}, doc: "len(s): characters of a string, or elements of a list",
		typ: ints, chars: digits, call: func(a []value) (value, error) {
			if a[0].t == tList {
				return intVal(int64(len(a[0].list))), nil
			}
			return intVal(int64(utf8.RuneCountInString(a[0].text()))), nil
		}},
	"rev": {args: []vtype{tStr}, any: []bool{true}, doc: "rev(s): the string (or list) reversed",
		typ:   func(a []expr) (vtype, vtype) { return a[0].typ(), a[0].elem() },
		chars: func(a []expr) charset { return a[0].chars() },
		call: func(a []value) (value, error) {
			if a[0].t == tList {
				l := slices.Clone(a[0].list)
				slices.Reverse(l)
				return value{t: tList, list: l, sep: a[0].sep}, nil
			}
			r := []rune(a[0].text())
			slices.Reverse(r)
			return strVal(string(r)), nil
		}},
	"upper": {args: []vtype{tStr}, doc: "upper(s)", typ: strs,
		chars: func(a []expr) charset { return a[0].chars().mapRunes(unicode.ToUpper) },
		call:  func(a []value) (value, error) { return strVal(mapRunes(a[0].s, unicode.ToUpper)), nil }},
	"lower": {args: []vtype{tStr}, doc: "lower(s)", typ: strs,
		chars: func(a []expr) charset { return a[0].chars().mapRunes(unicode.ToLower) },
		call:  func(a []value) (value, error) { return strVal(mapRunes(a[0].s, unicode.ToLower)), nil }},
	"str": {args: []vtype{tStr}, any: []bool{true}, doc: "str(x): the text of a value", typ: strs,
		chars: func(a []expr) charset { return a[0].chars() },
		call:  func(a []value) (value, error) { return strVal(a[0].text()), nil }},
	"int": {args: []vtype{tStr}, any: []bool{true}, doc: "int(s): a decimal string's integer", typ: ints, chars: digits,
		call: func(a []value) (value, error) {
			if a[0].t == tInt {
				return a[0], nil
			}
			v, err := strconv.ParseInt(a[0].text(), 10, 64)
			if err != nil {
				return value{}, fmt.Errorf("int(%q): not an integer", a[0].text())
			}
			return intVal(v), nil
		}},
	"pad": {args: []vtype{tStr, tInt}, any: []bool{true, false}, doc: "pad(x, n): x left-padded with 0 to n characters", typ: strs,
		chars: func(a []expr) charset { return a[0].chars().union(charsOf("0")) },
		call: func(a []value) (value, error) {
			s, n := a[0].text(), a[1].i
			if n > maxText {
				return value{}, fmt.Errorf("pad width %d above %d", n, maxText)
			}
			if k := int(n) - utf8.RuneCountInString(s); k > 0 {
				s = strings.Repeat("0", k) + s
			}
			return strVal(s), nil
		}},
	"abs": {args: []vtype{tInt}, doc: "abs(x)", typ: ints, chars: digits, call: func(a []value) (value, error) {
		if a[0].i == math.MinInt64 {
			return value{}, errors.New("integer overflow")
		}
		return intVal(max(a[0].i, -a[0].i)), nil
	}},
	"min": {args: []vtype{tInt, tInt}, doc: "min(a, b)", typ: ints, chars: digits,
		call: func(a []value) (value, error) { return intVal(min(a[0].i, a[1].i)), nil }},
	"max": {args: []vtype{tInt, tInt}, doc: "max(a, b)", typ: ints, chars: digits,
		call: func(a []value) (value, error) { return intVal(max(a[0].i, a[1].i)), nil }},
	"pow": {args: []vtype{tInt, tInt}, doc: "pow(a, b): a to the power b ≥ 0", typ: ints, chars: digits,
		call: func(a []value) (value, error) {
			if a[1].i < 0 {
				return value{}, fmt.Errorf("pow(%d, %d): negative exponent", a[0].i, a[1].i)
			}
			r := int64(1)
			for range a[1].i {
				n := r * a[0].i
				if a[0].i != 0 && n/a[0].i != r {
					return value{}, errors.New("integer overflow")
				}
				if r = n; r == 0 || r == 1 && a[0].i == 1 {
					break
				}
			}
			return intVal(r), nil
		}},
	"digits": {args: []vtype{tInt}, doc: "digits(x): decimal digits of |x|", typ: ints, chars: digits,
		call: func(a []value) (value, error) {
			s := strconv.FormatInt(a[0].i, 10)
			return intVal(int64(len(strings.TrimPrefix(s, "-")))), nil
		}},
	"if": {args: []vtype{tInt, tStr, tStr}, any: []bool{false, true, true}, doc: "if(c, a, b): a when c ≠ 0, else b",
		typ:   func(a []expr) (vtype, vtype) { return a[1].typ(), a[1].elem() },
		chars: func(a []expr) charset { return a[1].chars().union(a[2].chars()) },
		call: func(a []value) (value, error) {
			if a[0].i != 0 {
				return a[1], nil
			}
			return a[2], nil
		}},
	"at": {args: []vtype{tList, tInt}, doc: "at(xs, i): element i of a list (from 0; negative counts from the end)",
		typ:   func(a []expr) (vtype, vtype) { return a[0].elem(), tStr },
		chars: func(a []expr) charset { return a[0].chars() },
		call: func(a []value) (value, error) {
			i, n := a[1].i, int64(len(a[0].list))
			if i < 0 {
				i += n
			}
			if i < 0 || i >= n {
				return value{}, fmt.Errorf("at(list of %d, %d): out of range", n, a[1].i)
			}
			return a[0].list[i], nil
		}},
	"join": {args: []vtype{tList, tStr}, doc: "join(xs, sep): the elements joined by sep", typ: strs,
		chars: func(a []expr) charset { return a[0].chars().union(a[1].chars()) },
		call: func(a []value) (value, error) {
			l := a[0]
			l.sep = a[1].s
			return strVal(l.text()), nil
		}},
}

func ints([]expr) (vtype, vtype) { return tInt, tStr }
func strs([]expr) (vtype, vtype) { return tStr, tStr }
func digits([]expr) charset      { return digitChars }
func mapRunes(s string, f func(rune) rune) string {
	return strings.Map(f, s)
}

// closestNames is suggest.Closest's answer joined, or "".
func closestNames(name string, names []string) string {
	return strings.Join(suggest.Closest(name, names, 3), ", ")
}

func funcNames() []string {
	names := make([]string, 0, len(funcs))
	for n := range funcs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

type callExpr struct {
	name string
	f    fn
	args []expr
}

func (c callExpr) eval(e env) (value, error) {
	vs := make([]value, len(c.args))
	for i, a := range c.args {
		v, err := a.eval(e)
		if err != nil {
			return value{}, err
		}
		vs[i] = v
	}
	return c.f.call(vs)
}
func (c callExpr) typ() vtype { t, _ := c.f.typ(c.args); return t }
func (c callExpr) elem() vtype {
	_, e := c.f.typ(c.args)
	return e
}
func (c callExpr) chars() charset { return c.f.chars(c.args) }
func (c callExpr) refs(add func([]string)) {
	for _, a := range c.args {
		a.refs(add)
	}
}

// template is a checked template: literal text and expressions, in order.
type template struct {
	src   string
	parts []tmplPart
}

type tmplPart struct {
	lit string // the text of a literal, or an expression's source
	x   expr   // nil for a literal
}

// render evaluates the template.
func (t *template) render(e env) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.x == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.x.eval(e)
		if err != nil {
			return "", fmt.Errorf("{%s}: %w", p.lit, err)
		}
		b.WriteString(v.text())
	}
	return b.String(), nil
}

// chars is every character the template can produce.
func (t *template) chars() charset {
	c := charset{m: map[rune]bool{}}
	for _, p := range t.parts {
		if p.x == nil {
			c = c.union(charsOf(p.lit))
		} else {
			c = c.union(p.x.chars())
		}
	}
	return c
}

// refs lists the names the template reads, each once, in order.
func (t *template) refs() [][]string {
	var out [][]string
	seen := map[string]bool{}
	for _, p := range t.parts {
		if p.x == nil {
			continue
		}
		p.x.refs(func(path []string) {
			k := strings.Join(path, ".")
			if !seen[k] {
				seen[k] = true
				out = append(out, path)
			}
		})
	}
	return out
}

// isEmpty reports whether the template was not given.
func (t *template) isEmpty() bool { return t == nil || len(t.parts) == 0 }

// parseTemplate splits src into literal text and {expressions} and checks
// each expression against sc.
func parseTemplate(src string, sc scope) (*template, error) {
	t := &template{src: src}
	var lit strings.Builder
	for i := 0; i < len(src); {
		switch {
		case strings.HasPrefix(src[i:], "{{"):
			lit.WriteByte('{')
			i += 2
		case strings.HasPrefix(src[i:], "}}"):
			lit.WriteByte('}')
			i += 2
		case src[i] == '}':
			return nil, fmt.Errorf("template %q: unmatched '}' at offset %d (write }} for a literal brace)", src, i)
		case src[i] == '{':
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("template %q: '{' at offset %d is never closed (write {{ for a literal brace)", src, i)
			}
			body := src[i+1 : i+end]
			x, err := parseExpr(body, sc)
			if err != nil {
				return nil, fmt.Errorf("template %q: {%s}: %w", src, body, err)
			}
			if x.typ() == tRow {
				return nil, fmt.Errorf("template %q: {%s} is a whole row: name one of its fields", src, body)
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, tmplPart{lit: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, tmplPart{x: x, lit: body})
			i += end + 1
		default:
			_, size := utf8.DecodeRuneInString(src[i:])
			lit.WriteString(src[i : i+size])
			i += size
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, tmplPart{lit: lit.String()})
	}
	return t, nil
}

// exprParser is a recursive-descent parser over one expression's text.
type exprParser struct {
	s  string
	i  int
	sc scope
}

// parseExpr parses and checks one expression:
//
//	expr    := compare
//	compare := sum [("<"|"<="|">"|">="|"=="|"!=") sum]
//	sum     := term {("+"|"-") term}
//	term    := unary {("*"|"/"|"%") unary}
//	unary   := "-" unary | atom
//	atom    := integer | 'string' | "string" | name {"." field} | func "(" [expr {"," expr}] ")" | "(" expr ")"
func parseExpr(s string, sc scope) (expr, error) {
	p := &exprParser{s: s, sc: sc}
	x, err := p.compare()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.s[p.i:], p.i)
	}
	return x, nil
}

func (p *exprParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *exprParser) peekOp(ops ...string) string {
	p.space()
	for _, op := range ops { // longest first in the callers' lists
		if strings.HasPrefix(p.s[p.i:], op) {
			return op
		}
	}
	return ""
}

func needInt(op string, x expr) error {
	if x.typ() != tInt {
		return fmt.Errorf("%s needs integers, got a %s", op, x.typ())
	}
	return nil
}

func (p *exprParser) compare() (expr, error) {
	a, err := p.sum()
	if err != nil {
		return nil, err
	}
	op := p.peekOp("<=", ">=", "==", "!=", "<", ">")
	if op == "" {
		return a, nil
	}
	p.i += len(op)
	b, err := p.sum()
	if err != nil {
		return nil, err
	}
	if (op == "==" || op == "!=") && a.typ() == tStr && b.typ() == tStr {
		return binExpr{op, a, b}, nil
	}
	if err := needInt(op, a); err != nil {
		return nil, err
	}
	if err := needInt(op, b); err != nil {
		return nil, err
	}
	return binExpr{op, a, b}, nil
}

func (p *exprParser) sum() (expr, error) {
	a, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		op := p.peekOp("+", "-")
		if op == "" {
			return a, nil
		}
		p.i++
		b, err := p.term()
		if err != nil {
			return nil, err
		}
		if err := needInt(op, a); err != nil {
			return nil, fmt.Errorf("%w (write two placeholders to join text: {a}{b})", err)
		}
		if err := needInt(op, b); err != nil {
			return nil, fmt.Errorf("%w (write two placeholders to join text: {a}{b})", err)
		}
		a = binExpr{op, a, b}
	}
}

func (p *exprParser) term() (expr, error) {
	a, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op := p.peekOp("*", "/", "%")
		if op == "" {
			return a, nil
		}
		p.i++
		b, err := p.unary()
		if err != nil {
			return nil, err
		}
		if err := needInt(op, a); err != nil {
			return nil, err
		}
		if err := needInt(op, b); err != nil {
			return nil, err
		}
		a = binExpr{op, a, b}
	}
}

func (p *exprParser) unary() (expr, error) {
	if p.peekOp("-") != "" {
		p.i++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if err := needInt("-", x); err != nil {
			return nil, err
		}
		if l, ok := x.(litExpr); ok {
			return litExpr{intVal(-l.v.i)}, nil
		}
		return negExpr{x}, nil
	}
	return p.atom()
}

func isIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isIdentByte(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

func (p *exprParser) ident() string {
	start := p.i
	for p.i < len(p.s) && isIdentByte(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *exprParser) atom() (expr, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, errors.New("expression ends early")
	}
	c := p.s[p.i]
	switch {
	case c >= '0' && c <= '9':
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		v, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("integer %s: %w", p.s[start:p.i], err)
		}
		return litExpr{intVal(v)}, nil
	case c == '\'' || c == '"':
		end := strings.IndexByte(p.s[p.i+1:], c)
		if end < 0 {
			return nil, fmt.Errorf("string at offset %d is never closed", p.i)
		}
		s := p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
		return litExpr{strVal(s)}, nil
	case c == '(':
		p.i++
		x, err := p.compare()
		if err != nil {
			return nil, err
		}
		if p.peekOp(")") == "" {
			return nil, fmt.Errorf("missing ')' at offset %d", p.i)
		}
		p.i++
		return x, nil
	case isIdentStart(c):
		name := p.ident()
		if p.peekOp("(") != "" {
			return p.call(name)
		}
		path := []string{name}
		for p.i < len(p.s) && p.s[p.i] == '.' {
			p.i++
			f := p.ident()
			if f == "" {
				return nil, fmt.Errorf("expected a field name after %s.", strings.Join(path, "."))
			}
			path = append(path, f)
		}
		info, ok, err := p.sc.lookup(path)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, unknownName(path, p.sc)
		}
		return refExpr{path: path, info: info}, nil
	}
	return nil, fmt.Errorf("unexpected %q at offset %d", p.s[p.i:], p.i)
}

func unknownName(path []string, sc scope) error {
	name := strings.Join(path, ".")
	msg := fmt.Sprintf("unknown name %q", name)
	if _, ok := funcs[name]; ok {
		return fmt.Errorf("%s is a function: call it, %s(…)", name, name)
	}
	known := sc.names()
	if c := closestNames(name, known); c != "" {
		msg += " (did you mean " + c + "?)"
	}
	if len(known) > 0 {
		msg += "; names: " + strings.Join(known, ", ")
	}
	return errors.New(msg)
}

func (p *exprParser) call(name string) (expr, error) {
	f, ok := funcs[name]
	if !ok {
		msg := fmt.Sprintf("unknown function %q", name)
		if c := closestNames(name, funcNames()); c != "" {
			msg += " (did you mean " + c + "?)"
		}
		return nil, fmt.Errorf("%s; functions: %s", msg, strings.Join(funcNames(), ", "))
	}
	p.i++ // (
	var args []expr
	if p.peekOp(")") != "" {
		p.i++
	} else {
		for {
			x, err := p.compare()
			if err != nil {
				return nil, err
			}
			args = append(args, x)
			if p.peekOp(",") != "" {
				p.i++
				continue
			}
			if p.peekOp(")") == "" {
				return nil, fmt.Errorf("%s(: expected ',' or ')' at offset %d", name, p.i)
			}
			p.i++
			break
		}
	}
	if len(args) != len(f.args) {
		return nil, fmt.Errorf("%s takes %d arguments, got %d (%s)", name, len(f.args), len(args), f.doc)
	}
	for i, a := range args {
		want, anyScalar := f.args[i], len(f.any) > i && f.any[i]
		got := a.typ()
		switch {
		case got == tRow:
			return nil, fmt.Errorf("%s: argument %d is a whole row: name one of its fields", name, i+1)
		case anyScalar && got == tList && !slices.Contains([]string{"len", "rev", "if"}, name):
			// Only these take a list where they take a scalar.
			return nil, fmt.Errorf("%s: argument %d is a list (%s)", name, i+1, f.doc)
		case anyScalar:
		case got != want:
			return nil, fmt.Errorf("%s: argument %d must be a %s, got a %s (%s)", name, i+1, want, got, f.doc)
		}
	}
	if name == "if" && args[1].typ() != args[2].typ() {
		return nil, fmt.Errorf("if: both branches must have one type, got a %s and a %s", args[1].typ(), args[2].typ())
	}
	return callExpr{name: name, f: f, args: args}, nil
}
