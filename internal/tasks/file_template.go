package tasks

// file_template.go: a template task file. Variables are drawn by
// generators (a range of integers, a choice among values, a row of a
// table, an expression over other variables; any of the first three
// repeated `count` times makes a list), in an order that respects what
// each reads; the prompt, the answer or the choices, the split key and the
// variant are templates over them.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"emlab/internal/data"
)

type genKind int

const (
	gRange genKind = iota
	gChoice
	gRows
	gExpr
)

// generator draws one variable.
type generator struct {
	name  string
	kind  genKind
	raw   varSchema
	lo    expr // range bounds
	hi    expr
	vals  []value   // choice values
	cum   []float64 // cumulative choice weights (nil: uniform)
	rows  []map[string]value
	field map[string]varInfo // rows: each field's type
	x     expr               // expr

	list             bool // count given: a list of draws
	countLo, countHi int
	sep              string
	distinct         bool

	info  varInfo
	deps  []string // generators read by bounds or expr
	state int      // 0 untyped, 1 being typed, 2 typed
}

// templateTask is the template side of a fileTask.
type templateTask struct {
	gens     map[string]*generator
	order    []*generator // draw order
	prompt   *template
	answer   *template
	target   *template
	choices  []*template
	correctT *template
	correctN int

	readers []*docReader // read documents back (Heldout)

	s *schema // for errors while building
}

// reGroup is one captured variable of the held-out regexp.
type reGroup struct {
	index int
	path  []string
	t     vtype
}

// tmplScope types names for expressions: variables, rows' fields and,
// in split.key and variant, the item's prompt and answer.
type tmplScope struct {
	tt    *templateTask
	texts bool
}

func (sc tmplScope) lookup(path []string) (varInfo, bool, error) {
	if sc.texts && len(path) == 1 && (path[0] == "prompt" || path[0] == "answer") {
		return varInfo{t: tStr, chars: charset{all: true}}, true, nil
	}
	g, ok := sc.tt.gens[path[0]]
	if !ok {
		return varInfo{}, false, nil
	}
	if err := sc.tt.resolve(g); err != nil {
		return varInfo{}, false, err
	}
	switch {
	case g.kind == gRows && len(path) == 2:
		f, ok := g.field[path[1]]
		return f, ok, nil
	case len(path) == 1:
		return g.info, true, nil
	}
	return varInfo{}, false, nil
}

func (sc tmplScope) names() []string {
	var out []string
	for n, g := range sc.tt.gens {
		if g.kind == gRows {
			for f := range g.field {
				out = append(out, n+"."+f)
			}
			continue
		}
		out = append(out, n)
	}
	if sc.texts {
		out = append(out, "prompt", "answer")
	}
	sort.Strings(out)
	return out
}

// resolve types g, typing first the generators its bounds or expression
// read.
func (tt *templateTask) resolve(g *generator) error {
	switch g.state {
	case 2:
		return nil
	case 1:
		return fmt.Errorf("variable %s depends on itself (through its range or expr)", g.name)
	}
	g.state = 1
	if err := tt.typeGen(g); err != nil {
		return err
	}
	g.state = 2
	return nil
}

func (tt *templateTask) typeGen(g *generator) error {
	s, v := tt.s, g.raw
	key := func(k string) []string { return []string{"vars", g.name, k} }
	kinds := 0
	for _, set := range []bool{v.Range != nil, v.Choice != nil, v.Rows != nil, v.Expr != ""} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return s.errAt([]string{"vars", g.name}, "give exactly one generator: range = [lo, hi], choice = [...], rows = [...] or \"file.jsonl\", or expr = \"...\"")
	}
	sc := tmplScope{tt: tt}
	var elem vtype
	var chars charset
	addDeps := func(x expr) {
		x.refs(func(p []string) {
			if !slices.Contains(g.deps, p[0]) {
				g.deps = append(g.deps, p[0])
			}
		})
	}
	switch {
	case v.Range != nil:
		g.kind = gRange
		if len(v.Range) != 2 {
			return s.errAt(key("range"), "want [lo, hi], two integers or expressions, got %d values", len(v.Range))
		}
		bounds := make([]expr, 2)
		for i, b := range v.Range {
			switch x := b.(type) {
			case int64:
				bounds[i] = litExpr{intVal(x)}
			case string:
				e, err := parseExpr(x, sc)
				if err != nil {
					return s.errAt(key("range"), "%q: %v", x, err)
				}
				if e.typ() != tInt {
					return s.errAt(key("range"), "%q is a %s, not an integer", x, e.typ())
				}
				bounds[i] = e
				addDeps(e)
			default:
				return s.errAt(key("range"), "bound %v is a %T: want an integer or an expression string", b, b)
			}
		}
		g.lo, g.hi = bounds[0], bounds[1]
		if lo, ok := g.lo.(litExpr); ok {
			if hi, ok := g.hi.(litExpr); ok && lo.v.i > hi.v.i {
				return s.errAt(key("range"), "lo %d > hi %d", lo.v.i, hi.v.i)
			}
		}
		elem, chars = tInt, digitChars
	case v.Choice != nil:
		g.kind = gChoice
		if len(v.Choice) == 0 {
			return s.errAt(key("choice"), "empty")
		}
		allInt := true
		chars = charset{m: map[rune]bool{}}
		for _, c := range v.Choice {
			switch x := c.(type) {
			case int64:
				g.vals = append(g.vals, intVal(x))
			case string:
				allInt = false
				g.vals = append(g.vals, strVal(x))
			default:
				return s.errAt(key("choice"), "value %v is a %T: want integers or strings", c, c)
			}
			chars = chars.union(charsOf(g.vals[len(g.vals)-1].text()))
		}
		elem = tInt
		if !allInt {
			elem = tStr
			for i := range g.vals {
				g.vals[i] = strVal(g.vals[i].text())
			}
		}
		if v.Weights != nil {
			if len(v.Weights) != len(v.Choice) {
				return s.errAt(key("weights"), "%d weights for %d choices", len(v.Weights), len(v.Choice))
			}
			var total float64
			for _, w := range v.Weights {
				if !(w >= 0) || math.IsInf(w, 0) {
					return s.errAt(key("weights"), "weight %v: want a finite number ≥ 0", w)
				}
				total += w
				g.cum = append(g.cum, total)
			}
			if !(total > 0) {
				return s.errAt(key("weights"), "all weights are 0")
			}
		}
	case v.Rows != nil:
		g.kind = gRows
		if err := tt.readRows(g); err != nil {
			return err
		}
		elem = tRow
	default:
		g.kind = gExpr
		e, err := parseExpr(v.Expr, sc)
		if err != nil {
			return s.errAt(key("expr"), "%q: %v", v.Expr, err)
		}
		if e.typ() == tRow {
			return s.errAt(key("expr"), "%q is a whole row: name one of its fields", v.Expr)
		}
		g.x = e
		addDeps(e)
		g.info = varInfo{t: e.typ(), elem: e.elem(), chars: e.chars(), deps: g.deps}
	}
	if v.Weights != nil && g.kind != gChoice {
		return s.errAt(key("weights"), "weights go with choice")
	}
	g.distinct = v.Distinct
	if v.Count != nil {
		if g.kind == gRows || g.kind == gExpr {
			return s.errAt(key("count"), "count repeats a range or a choice, not %s", map[genKind]string{gRows: "rows", gExpr: "an expr"}[g.kind])
		}
		switch c := v.Count.(type) {
		case int64:
			g.countLo, g.countHi = int(c), int(c)
		case []any:
			if len(c) != 2 {
				return s.errAt(key("count"), "want n or [lo, hi], integers")
			}
			lo, ok1 := c[0].(int64)
			hi, ok2 := c[1].(int64)
			if !ok1 || !ok2 {
				return s.errAt(key("count"), "want n or [lo, hi], integers")
			}
			g.countLo, g.countHi = int(lo), int(hi)
		default:
			return s.errAt(key("count"), "want n or [lo, hi], integers")
		}
		if g.countLo < 0 || g.countHi < g.countLo || g.countHi > 1000 {
			return s.errAt(key("count"), "want 0 ≤ lo ≤ hi ≤ 1000, got [%d, %d]", g.countLo, g.countHi)
		}
		if g.distinct && g.kind == gChoice && g.countHi > len(g.vals) {
			return s.errAt(key("count"), "%d distinct draws from %d choices", g.countHi, len(g.vals))
		}
		g.list, g.sep = true, v.Sep
		g.info = varInfo{t: tList, elem: elem, chars: chars.union(charsOf(v.Sep)), deps: g.deps}
	} else {
		if v.Sep != "" || v.Distinct {
			return s.errAt(key("sep"), "sep and distinct go with count")
		}
		if g.kind != gExpr {
			g.info = varInfo{t: elem, elem: tStr, chars: chars, deps: g.deps}
		}
	}
	return nil
}

// readRows reads a rows generator: inline tables, or a JSONL file of
// objects. Every row has the same fields; values are integers or strings.
func (tt *templateTask) readRows(g *generator) error {
	s := tt.s
	key := []string{"vars", g.name, "rows"}
	var raws []map[string]any
	where := func(i int) string { return fmt.Sprintf("row %d", i+1) }
	switch x := g.raw.Rows.(type) {
	case []map[string]any:
		raws = x
	case []any:
		for i, r := range x {
			m, ok := r.(map[string]any)
			if !ok {
				return s.errAt(key, "%s is a %T: want a table of fields", where(i), r)
			}
			raws = append(raws, m)
		}
	case string:
		content := s.files[x]
		lines, numbers := jsonlLines(content)
		for i, l := range lines {
			var m map[string]any
			if err := json.Unmarshal(l, &m); err != nil {
				return fmt.Errorf("%s (rows %s:%d): %w", s.path, x, numbers[i], err)
			}
			raws = append(raws, m)
		}
		where = func(i int) string { return fmt.Sprintf("%s:%d", x, numbers[i]) }
	default:
		return s.errAt(key, "want a list of tables or a JSONL file name, got a %T", x)
	}
	if len(raws) == 0 {
		return s.errAt(key, "no rows")
	}
	g.field = map[string]varInfo{}
	var names []string
	for f := range raws[0] {
		names = append(names, f)
	}
	sort.Strings(names)
	allInt := map[string]bool{}
	for _, f := range names {
		if !isTaskName(f) {
			return s.errAt(key, "field %q: want a lower-case name", f)
		}
		allInt[f] = true
	}
	for i, raw := range raws {
		if len(raw) != len(names) {
			return s.errAt(key, "%s has fields %v, the first row %v", where(i), sortedFields(raw), names)
		}
		row := map[string]value{}
		for _, f := range names {
			v, ok := raw[f]
			if !ok {
				return s.errAt(key, "%s has no field %q", where(i), f)
			}
			switch x := v.(type) {
			case int64:
				row[f] = intVal(x)
			case float64:
				if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
					return s.errAt(key, "%s: %s = %v is not an integer", where(i), f, x)
				}
				row[f] = intVal(int64(x))
			case string:
				row[f] = strVal(x)
				allInt[f] = false
			default:
				return s.errAt(key, "%s: %s is a %T: want an integer or a string", where(i), f, v)
			}
		}
		g.rows = append(g.rows, row)
	}
	for _, f := range names {
		info := varInfo{t: tInt, elem: tStr, chars: charset{m: map[rune]bool{}}}
		if !allInt[f] {
			info.t = tStr
		}
		for _, row := range g.rows {
			if info.t == tStr {
				row[f] = strVal(row[f].text())
			}
			info.chars = info.chars.union(charsOf(row[f].text()))
		}
		g.field[f] = info
	}
	g.info = varInfo{t: tRow}
	return nil
}

func sortedFields(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// drawEnv holds one draw's values.
type drawEnv struct {
	vals          map[string]value
	prompt, answr string
	texts         bool
}

func (e *drawEnv) get(path []string) (value, error) {
	if e.texts && len(path) == 1 {
		switch path[0] {
		case "prompt":
			return strVal(e.prompt), nil
		case "answer":
			return strVal(e.answr), nil
		}
	}
	v, ok := e.vals[path[0]]
	if !ok {
		return value{}, fmt.Errorf("%s is not drawn yet", path[0])
	}
	if len(path) == 2 {
		return v.row[path[1]], nil
	}
	return v, nil
}

// drawValue draws g's value.
func (g *generator) drawValue(r *rand.Rand, e env) (value, error) {
	if !g.list {
		return g.drawOne(r, e)
	}
	n := g.countLo
	if g.countHi > g.countLo {
		n += r.IntN(g.countHi - g.countLo + 1)
	}
	l := value{t: tList, sep: g.sep}
	seen := map[string]bool{}
	for len(l.list) < n {
		var v value
		var err error
		for try := 0; ; try++ {
			if v, err = g.drawOne(r, e); err != nil {
				return value{}, err
			}
			if !g.distinct || !seen[v.text()] {
				break
			}
			if try > 100*n+1000 {
				return value{}, fmt.Errorf("%s: could not draw %d distinct values", g.name, n)
			}
		}
		seen[v.text()] = true
		l.list = append(l.list, v)
	}
	return l, nil
}

func (g *generator) drawOne(r *rand.Rand, e env) (value, error) {
	switch g.kind {
	case gRange:
		lo, err := g.lo.eval(e)
		if err != nil {
			return value{}, fmt.Errorf("%s range lo: %w", g.name, err)
		}
		hi, err := g.hi.eval(e)
		if err != nil {
			return value{}, fmt.Errorf("%s range hi: %w", g.name, err)
		}
		span := hi.i - lo.i
		if hi.i < lo.i || span < 0 || span >= 1<<62 {
			return value{}, fmt.Errorf("%s: empty or too large range [%d, %d]", g.name, lo.i, hi.i)
		}
		return intVal(lo.i + r.Int64N(span+1)), nil
	case gChoice:
		if g.cum == nil {
			return g.vals[r.IntN(len(g.vals))], nil
		}
		u := r.Float64() * g.cum[len(g.cum)-1]
		i := sort.SearchFloat64s(g.cum, u)
		for i < len(g.vals)-1 && g.cum[i] <= u {
			i++
		}
		return g.vals[i], nil
	case gRows:
		return value{t: tRow, row: g.rows[r.IntN(len(g.rows))]}, nil
	}
	v, err := g.x.eval(e)
	if err != nil {
		return value{}, fmt.Errorf("%s: %w", g.name, err)
	}
	return v, nil
}

// buildTemplate builds a template task from the schema.
func (t *fileTask) buildTemplate(s *schema, tf TaskFile) error {
	s.files = tf.Files
	if s.Prompt == "" {
		return s.errAt([]string{"prompt"}, "required: a template task's prompt (or give items = \"file.jsonl\" for a list of items)")
	}
	tt := &templateTask{gens: map[string]*generator{}, s: s}
	for _, name := range s.varNames() {
		if !isTaskName(name) || slices.Contains(reserved, name) {
			return s.errAt([]string{"vars", name}, "variable %q: want a lower-case name other than %s", name, strings.Join(reserved, ", "))
		}
		tt.gens[name] = &generator{name: name, raw: s.Vars[name]}
	}
	for _, name := range s.varNames() {
		if err := tt.resolve(tt.gens[name]); err != nil {
			return err
		}
	}
	// Draw order: each generator after those it reads; names break ties.
	done := map[string]bool{}
	var visit func(g *generator)
	visit = func(g *generator) {
		if done[g.name] {
			return
		}
		done[g.name] = true
		deps := slices.Clone(g.deps)
		sort.Strings(deps)
		for _, d := range deps {
			visit(tt.gens[d])
		}
		tt.order = append(tt.order, g)
	}
	for _, name := range s.varNames() {
		visit(tt.gens[name])
	}
	sc := tmplScope{tt: tt}
	var err error
	if tt.prompt, err = parseTemplate(s.Prompt, sc); err != nil {
		return s.errAt([]string{"prompt"}, "%v", err)
	}
	switch {
	case s.Answer != "" && len(s.Choices) > 0:
		return s.errAt([]string{"choices"}, "give answer, or choices with correct, not both")
	case len(s.Choices) > 0:
		t.hasChoices = true
		if len(s.Choices) < 2 {
			return s.errAt([]string{"choices"}, "needs at least two")
		}
		for _, c := range s.Choices {
			ct, err := parseTemplate(c, sc)
			if err != nil {
				return s.errAt([]string{"choices"}, "%v", err)
			}
			tt.choices = append(tt.choices, ct)
		}
		switch c := s.Correct.(type) {
		case nil:
			return s.errAt([]string{"correct"}, "required with choices: the index of the right one (from 0), or a template giving it")
		case int64:
			if c < 0 || int(c) >= len(s.Choices) {
				return s.errAt([]string{"correct"}, "%d is not an index of the %d choices", c, len(s.Choices))
			}
			tt.correctN = int(c)
		case string:
			if tt.correctT, err = parseTemplate(c, sc); err != nil {
				return s.errAt([]string{"correct"}, "%v", err)
			}
		default:
			return s.errAt([]string{"correct"}, "want an index or a template, got a %T", c)
		}
		if s.Target != "" {
			return s.errAt([]string{"target"}, "a choice item's right answer is choices[correct]")
		}
	case s.Answer != "":
		if tt.answer, err = parseTemplate(s.Answer, sc); err != nil {
			return s.errAt([]string{"answer"}, "%v", err)
		}
		if s.Correct != nil {
			return s.errAt([]string{"correct"}, "correct goes with choices")
		}
		if s.Target != "" {
			if tt.target, err = parseTemplate(s.Target, sc); err != nil {
				return s.errAt([]string{"target"}, "%v", err)
			}
		}
	default:
		return s.errAt([]string{"answer"}, "required: the answer template (or choices and correct)")
	}
	t.generate = s.Target != "" || s.Extract.After != ""
	textScope := tmplScope{tt: tt, texts: true}
	if s.Split.Key != "" {
		if t.keyT, err = parseTemplate(s.Split.Key, textScope); err != nil {
			return s.errAt([]string{"split", "key"}, "%v", err)
		}
	}
	if s.Variant != "" {
		if t.variantT, err = parseTemplate(s.Variant, textScope); err != nil {
			return s.errAt([]string{"variant"}, "%v", err)
		}
	}
	alpha := tt.prompt.chars()
	if tt.answer != nil {
		alpha = alpha.union(tt.answer.chars())
	}
	for _, c := range tt.choices {
		alpha = alpha.union(c.chars())
	}
	if alpha.all {
		return fmt.Errorf("%s: the documents' characters cannot be bounded", s.path)
	}
	t.alphabet = alpha.String()
	t.tmpl = tt

	suffixes := []string{""}
	if t.variantT != nil && len(s.Variants) == 0 {
		if suffixes, err = tt.enumerateVariants(t.variantT); err != nil {
			return s.errAt([]string{"variant"}, "%v", err)
		}
	}
	chanceOf := func(string) float64 {
		if t.hasChoices {
			return 1 / float64(len(tt.choices))
		}
		return math.NaN()
	}
	if err := t.setVariants(s, suffixes, chanceOf); err != nil {
		return err
	}
	if err := tt.buildHeldoutRE(t); err != nil {
		return err
	}
	return t.measureSample()
}

// measureSample draws the load-time sample: it sets MaxLen and the stats,
// and refuses a template whose draws all fail or are nearly all held out.
func (t *fileTask) measureSample() error {
	t.maxLen = math.MaxInt
	r := data.RNG(0, "tasks/file/"+t.name+"/v"+strconv.Itoa(t.version)+"/sample")
	st := FileStats{Draws: fileSampleDraws}
	longest, train := 0, 0
	for range fileSampleDraws {
		d, err := t.tmpl.drawItem(t, r, false)
		switch {
		case errors.Is(err, errUndeclared):
			st.Rejected++
		case err != nil:
			st.Failed++
			if st.FirstFailure == "" {
				st.FirstFailure = err.Error()
			}
		default:
			longest = max(longest, d.length)
			if d.heldout {
				st.Heldout++
				if t.untrained[d.item.Variant] {
					st.Untrained++
				}
			} else {
				train++
			}
		}
	}
	t.sample = st
	if st.Failed+st.Rejected == st.Draws {
		if st.FirstFailure == "" {
			st.FirstFailure = "every draw has a variant [[variants]] does not declare"
		}
		return fmt.Errorf("%s: no draw of %d gives an item: %s", t.path, st.Draws, st.FirstFailure)
	}
	if float64(train) < minTrainShare*float64(st.Draws) {
		return fmt.Errorf("%s: %d of %d draws are training documents (%.2g%%, under %g%%): nearly everything is held out; lower split.heldout or key the split on more varied values",
			t.path, train, st.Draws, 100*float64(train)/float64(st.Draws), 100*minTrainShare)
	}
	t.maxLen = longest
	return nil
}

// errUndeclared marks a draw whose variant [[variants]] does not declare.
var errUndeclared = errors.New("undeclared variant")

// drawnItem is one draw of a template.
type drawnItem struct {
	item    Item
	heldout bool
	length  int
}

// draw is drawItem without the reason a draw was discarded.
func (tt *templateTask) draw(t *fileTask, r *rand.Rand, withVars bool) (drawnItem, bool) {
	d, err := tt.drawItem(t, r, withVars)
	return d, err == nil
}

// drawItem draws one item: the variables, then the texts, the key and
// the variant. A failed expression, an empty prompt or answer, two equal
// choices, an undeclared variant or a draw longer than MaxLen is an error
// (the callers redraw). withVars records the variables in the item for
// probes (evaluation items; a training document needs only its text).
func (tt *templateTask) drawItem(t *fileTask, r *rand.Rand, withVars bool) (drawnItem, error) {
	e := &drawEnv{vals: make(map[string]value, len(tt.order))}
	for _, g := range tt.order {
		v, err := g.drawValue(r, e)
		if err != nil {
			return drawnItem{}, err
		}
		e.vals[g.name] = v
	}
	it := Item{Task: t.name, Subtask: -1}
	var err error
	if it.Prompt, err = tt.prompt.render(e); err != nil {
		return drawnItem{}, fmt.Errorf("prompt: %w", err)
	}
	if it.Prompt == "" {
		return drawnItem{}, errors.New("the prompt is empty")
	}
	if tt.answer != nil {
		if it.Answer, err = tt.answer.render(e); err != nil {
			return drawnItem{}, fmt.Errorf("answer: %w", err)
		}
		if tt.target != nil {
			if it.Target, err = tt.target.render(e); err != nil {
				return drawnItem{}, fmt.Errorf("target: %w", err)
			}
		} else {
			it.Target = t.extract.apply(it.Answer)
		}
	} else {
		for i, c := range tt.choices {
			text, err := c.render(e)
			if err != nil {
				return drawnItem{}, fmt.Errorf("choice %d: %w", i, err)
			}
			if text == "" || slices.Contains(it.Choices, text) {
				return drawnItem{}, fmt.Errorf("choice %d is empty or equals another (%q)", i, text)
			}
			it.Choices = append(it.Choices, text)
		}
		it.Correct = tt.correctN
		if tt.correctT != nil {
			c, err := tt.correctT.render(e)
			if err != nil {
				return drawnItem{}, fmt.Errorf("correct: %w", err)
			}
			n, err := strconv.Atoi(c)
			if err != nil || n < 0 || n >= len(it.Choices) {
				return drawnItem{}, fmt.Errorf("correct gives %q, not an index of the %d choices", c, len(it.Choices))
			}
			it.Correct = n
		}
		it.Answer = it.Choices[it.Correct]
		it.Target = it.Answer
	}
	if it.Answer == "" {
		return drawnItem{}, errors.New("the answer is empty")
	}
	length := runeLen(it.Prompt) + runeLen(it.Answer)
	for _, c := range it.Choices {
		length = max(length, runeLen(it.Prompt)+runeLen(c))
	}
	if length > t.maxLen {
		return drawnItem{}, fmt.Errorf("longer than MaxLen %d", t.maxLen)
	}
	e.prompt, e.answr, e.texts = it.Prompt, it.Answer, true
	it.Key = it.Prompt
	if t.keyT != nil {
		if it.Key, err = t.keyT.render(e); err != nil {
			return drawnItem{}, fmt.Errorf("split.key: %w", err)
		}
	}
	suffix := ""
	if t.variantT != nil {
		if suffix, err = t.variantT.render(e); err != nil {
			return drawnItem{}, fmt.Errorf("variant: %w", err)
		}
	}
	it.Variant = t.variantName(suffix)
	if !slices.ContainsFunc(t.variants, func(v Variant) bool { return v.Name == it.Variant }) {
		return drawnItem{}, errUndeclared
	}
	if withVars {
		for _, g := range tt.order {
			addItemVar(&it, g.name, e.vals[g.name])
		}
	}
	return drawnItem{item: it, heldout: t.untrained[it.Variant] || t.split.heldout(it.Key), length: length}, nil
}

// addItemVar records a variable for probes: integers (and lists of them)
// in Vars, strings in Text, a row's fields as name.field.
func addItemVar(it *Item, name string, v value) {
	switch v.t {
	case tInt:
		if it.Vars == nil {
			it.Vars = map[string][]int{}
		}
		it.Vars[name] = []int{int(v.i)}
	case tStr:
		if it.Text == nil {
			it.Text = map[string]string{}
		}
		it.Text[name] = v.s
	case tList:
		if len(v.list) > 0 && v.list[0].t == tInt {
			if it.Vars == nil {
				it.Vars = map[string][]int{}
			}
			xs := make([]int, len(v.list))
			for i, e := range v.list {
				xs[i] = int(e.i)
			}
			it.Vars[name] = xs
			return
		}
		if it.Text == nil {
			it.Text = map[string]string{}
		}
		it.Text[name] = v.text()
	case tRow:
		fields := make([]string, 0, len(v.row))
		for f := range v.row {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			addItemVar(it, name+"."+f, v.row[f])
		}
	}
}

// enumerateVariants lists the suffixes the variant template can give, in
// the order of the values it reads (each generator's range ascending or
// choices in order), by enumerating every combination of them.
func (tt *templateTask) enumerateVariants(vt *template) ([]string, error) {
	need := map[string]bool{}
	var add func(name string)
	add = func(name string) {
		if need[name] {
			return
		}
		need[name] = true
		for _, d := range tt.gens[name].deps {
			add(d)
		}
	}
	for _, p := range vt.refs() {
		if _, ok := tt.gens[p[0]]; ok {
			add(p[0])
		} else {
			return nil, fmt.Errorf("%s is the item's text: a variant must be computed from the variables", p[0])
		}
	}
	var gens []*generator
	for _, g := range tt.order {
		if need[g.name] {
			if g.list {
				return nil, fmt.Errorf("reads %s, a list: declare the variants with [[variants]]", g.name)
			}
			gens = append(gens, g)
		}
	}
	var out []string
	seen := map[string]bool{}
	count := 0
	e := &drawEnv{vals: map[string]value{}}
	var rec func(i int) error
	rec = func(i int) error {
		if count++; count > maxEnumerate {
			return fmt.Errorf("reads more than %d combinations of values: declare the variants with [[variants]]", maxEnumerate)
		}
		if i == len(gens) {
			s, err := vt.render(e)
			if err == nil && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
			return nil
		}
		g := gens[i]
		var vals []value
		switch g.kind {
		case gRange:
			lo, err1 := g.lo.eval(e)
			hi, err2 := g.hi.eval(e)
			if err1 != nil || err2 != nil {
				return nil
			}
			if hi.i-lo.i > maxEnumerate {
				return fmt.Errorf("reads %s, a range of %d values: declare the variants with [[variants]]", g.name, hi.i-lo.i+1)
			}
			for v := lo.i; v <= hi.i; v++ {
				vals = append(vals, intVal(v))
			}
		case gChoice:
			for k, v := range g.vals {
				if g.cum == nil || g.cum[k] > prevCum(g.cum, k) {
					vals = append(vals, v)
				}
			}
		case gRows:
			for _, row := range g.rows {
				vals = append(vals, value{t: tRow, row: row})
			}
		case gExpr:
			v, err := g.x.eval(e)
			if err != nil {
				return nil
			}
			vals = []value{v}
		}
		for _, v := range vals {
			e.vals[g.name] = v
			if err := rec(i + 1); err != nil {
				return err
			}
		}
		delete(e.vals, g.name)
		return nil
	}
	if err := rec(0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no combination of values gives a variant")
	}
	return out, nil
}

func prevCum(cum []float64, k int) float64 {
	if k == 0 {
		return 0
	}
	return cum[k-1]
}

// docReader reads a document back into the variables it shows: the
// prompt and one answer (or choice) template as a regexp, each plain
// {name} of a scalar variable or a row's field a group, any other
// placeholder matching any text.
type docReader struct {
	re          *regexp.Regexp
	groups      []reGroup
	promptGroup int
	answerGroup int
	answer      *template
}

// buildHeldoutRE builds the readers Heldout uses to re-derive the split
// key (and the variant, when some variant is untrained) from a document's
// text: one for the answer, or one per choice. The key and, with untrained
// variants, the variant must read only what every reader recovers (the
// shown variables, and expressions of them).
func (tt *templateTask) buildHeldoutRE(t *fileTask) error {
	answers := tt.choices
	if tt.answer != nil {
		answers = []*template{tt.answer}
	}
	for _, a := range answers {
		r, err := tt.newReader(a)
		if err != nil {
			return err
		}
		ok := tt.recoverable(r)
		check := func(key []string, tm *template) error {
			for _, p := range tm.refs() {
				if !ok[strings.Join(p, ".")] {
					return tt.s.errAt(key, "reads %s, which a document does not show as a plain {%s}: the split could not be re-derived from a document's text; show it in the prompt or answer, or key on what is shown",
						strings.Join(p, "."), strings.Join(p, "."))
				}
			}
			return nil
		}
		if t.keyT != nil {
			if err := check([]string{"split", "key"}, t.keyT); err != nil {
				return err
			}
		}
		if t.variantT != nil && len(t.untrained) > 0 {
			if err := check([]string{"variant"}, t.variantT); err != nil {
				return err
			}
		}
		tt.readers = append(tt.readers, r)
	}
	return nil
}

func (tt *templateTask) newReader(answer *template) (*docReader, error) {
	r := &docReader{answer: answer}
	var b strings.Builder
	n := 0
	write := func(tm *template) {
		for _, p := range tm.parts {
			if p.x == nil {
				b.WriteString(regexp.QuoteMeta(p.lit))
				continue
			}
			if ref, ok := p.x.(refExpr); ok && (ref.info.t == tInt || ref.info.t == tStr) {
				n++
				b.WriteString("(" + tt.pattern(ref) + ")")
				r.groups = append(r.groups, reGroup{index: n, path: ref.path, t: ref.info.t})
				continue
			}
			b.WriteString("(?s:.*?)")
		}
	}
	b.WriteString("^(")
	n++
	r.promptGroup = n
	write(tt.prompt)
	b.WriteString(")(")
	n++
	r.answerGroup = n
	write(answer)
	b.WriteString(")$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("%s: the templates give no regexp to read documents back (%v)", tt.s.path, err)
	}
	r.re = re
	return r, nil
}

// recoverable is what r recovers from a document: the captured names,
// the texts, and expression variables that read only recoverable names.
func (tt *templateTask) recoverable(r *docReader) map[string]bool {
	ok := map[string]bool{"prompt": true, "answer": true}
	for _, g := range r.groups {
		ok[strings.Join(g.path, ".")] = true
	}
	for changed := true; changed; {
		changed = false
		for _, g := range tt.order {
			if g.kind != gExpr || ok[g.name] {
				continue
			}
			all := true
			g.x.refs(func(p []string) { all = all && ok[strings.Join(p, ".")] })
			if all {
				ok[g.name], changed = true, true
			}
		}
	}
	return ok
}

// pattern is the regexp a captured variable's text matches: the exact
// values of a choice or a row's field, digits for an integer.
func (tt *templateTask) pattern(ref refExpr) string {
	if ref.info.t == tInt {
		return `-?[0-9]+`
	}
	g := tt.gens[ref.path[0]]
	var vals []string
	switch {
	case g.kind == gChoice:
		for _, v := range g.vals {
			vals = append(vals, v.text())
		}
	case g.kind == gRows && len(ref.path) == 2:
		for _, row := range g.rows {
			vals = append(vals, row[ref.path[1]].text())
		}
	default:
		return `(?s:.*?)`
	}
	slices.SortFunc(vals, func(a, b string) int { return len(b) - len(a) })
	vals = slices.Compact(vals)
	for i := range vals {
		vals[i] = regexp.QuoteMeta(vals[i])
	}
	return "(?:" + strings.Join(vals, "|") + ")"
}

// partialEnv evaluates names from a document read back: captured
// variables, and expression variables computed from them.
type partialEnv struct {
	tt       *templateTask
	captured map[string]value
	prompt   string
	answer   string
}

func (e *partialEnv) get(path []string) (value, error) {
	if len(path) == 1 {
		switch path[0] {
		case "prompt":
			return strVal(e.prompt), nil
		case "answer":
			return strVal(e.answer), nil
		}
	}
	k := strings.Join(path, ".")
	if v, ok := e.captured[k]; ok {
		return v, nil
	}
	if g, ok := e.tt.gens[path[0]]; ok && g.kind == gExpr && len(path) == 1 {
		v, err := g.x.eval(e)
		if err != nil {
			return value{}, err
		}
		e.captured[k] = v
		return v, nil
	}
	return value{}, fmt.Errorf("%s is not shown in the document", k)
}

// heldoutText reads doc back and decides its split as drawItem did; a
// document no reader parses consistently is not one of the task's.
func (tt *templateTask) heldoutText(t *fileTask, doc string) bool {
	for _, r := range tt.readers {
		if held, ok := tt.readBack(t, r, doc); ok {
			return held
		}
	}
	return false
}

func (tt *templateTask) readBack(t *fileTask, r *docReader, doc string) (heldout, ok bool) {
	m := r.re.FindStringSubmatchIndex(doc)
	if m == nil {
		return false, false
	}
	sub := func(i int) string { return doc[m[2*i]:m[2*i+1]] }
	e := &partialEnv{tt: tt, captured: map[string]value{}, prompt: sub(r.promptGroup), answer: sub(r.answerGroup)}
	for _, g := range r.groups {
		if m[2*g.index] < 0 {
			continue
		}
		text := sub(g.index)
		v := strVal(text)
		if g.t == tInt {
			x, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return false, false
			}
			v = intVal(x)
		}
		k := strings.Join(g.path, ".")
		if prev, seen := e.captured[k]; seen && prev.text() != v.text() {
			return false, false // one variable read two ways: not this parse
		}
		e.captured[k] = v
	}
	// A document the templates render differently was misread (an
	// ambiguous template); where they cannot be rendered from what is
	// shown, the parse is trusted.
	if p, err := tt.prompt.render(e); err == nil && p != e.prompt {
		return false, false
	}
	if a, err := r.answer.render(e); err == nil && a != e.answer {
		return false, false
	}
	key := e.prompt
	if t.keyT != nil {
		k, err := t.keyT.render(e)
		if err != nil {
			return false, false
		}
		key = k
	}
	if t.variantT != nil && len(t.untrained) > 0 {
		suffix, err := t.variantT.render(e)
		if err != nil {
			return false, false
		}
		if t.untrained[t.variantName(suffix)] {
			return true, true
		}
	}
	return t.split.heldout(key), true
}
