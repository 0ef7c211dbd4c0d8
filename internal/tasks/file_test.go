package tasks

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"emlab/internal/data"
	"emlab/internal/rundir"
)

// exampleFiles are the task files of examples/tasks: a template, a
// multiple-choice template and an item list.
var exampleFiles = []string{"sub.toml", "compare.toml", "plurals.toml"}

func examplePath(name string) string { return filepath.Join("..", "..", "examples", "tasks", name) }

func loadExample(t *testing.T, name string) FileTask {
	t.Helper()
	task, err := LoadFile(examplePath(name))
	if err != nil {
		t.Fatalf("LoadFile(%s): %v", name, err)
	}
	return task.(FileTask)
}

// TestTaskFileProperties holds the example task files to the built-in
// tasks' properties: documents within MaxLen and the alphabet, the split
// disjoint in both directions (Heldout re-derives it from the text),
// items per variant, the same seed the same data.
func TestTaskFileProperties(t *testing.T) {
	for _, name := range exampleFiles {
		t.Run(name, func(t *testing.T) {
			task := loadExample(t, name)
			docs := genDocs(task, 1, nDocs)
			train := map[string]bool{}
			for _, d := range docs {
				if d == "" || runeLen(d) > task.MaxLen() {
					t.Fatalf("document %q has length %d, want 1…MaxLen=%d", d, runeLen(d), task.MaxLen())
				}
				if r, ok := inAlphabet(d, task.Alphabet()); !ok {
					t.Fatalf("document %q has %q outside the alphabet %q", d, r, task.Alphabet())
				}
				if task.Heldout(d) {
					t.Fatalf("Generate produced a held-out document %q", d)
				}
				train[d] = true
			}
			items := task.Eval(0, 50)
			byVariant := map[string]int{}
			for _, it := range items {
				text := it.Prompt + it.Answer
				byVariant[it.Variant]++
				if !task.Heldout(text) {
					t.Fatalf("evaluation item %q (%s) is not held out", text, it.Variant)
				}
				if train[text] {
					t.Fatalf("evaluation item %q is also a training document", text)
				}
				if runeLen(text) > task.MaxLen() {
					t.Fatalf("item %q is longer than MaxLen %d", text, task.MaxLen())
				}
				if len(it.Choices) > 0 && it.Answer != it.Choices[it.Correct] {
					t.Fatalf("item %q: answer %q is not choices[%d] = %q", it.Prompt, it.Answer, it.Correct, it.Choices[it.Correct])
				}
				if got := task.Extract(&it, it.Answer); got != it.Target {
					t.Fatalf("item %q: Extract(answer %q) = %q, target %q", it.Prompt, it.Answer, got, it.Target)
				}
			}
			for _, v := range task.Variants() {
				if byVariant[v.Name] == 0 {
					t.Errorf("variant %s has no evaluation items", v.Name)
				}
				t.Logf("%s: %d items, chance %.3g, metrics %v, trained %v", v.Name, byVariant[v.Name], v.Chance, v.Metrics, v.Trained)
			}
			for _, it := range task.(TrainSampler).TrainItems(0, 20) {
				if task.Heldout(it.Prompt+it.Answer) || !strings.HasSuffix(it.Variant, "/train") {
					t.Fatalf("training item %q (%s) is held out or misnamed", it.Prompt+it.Answer, it.Variant)
				}
			}
			again := task.Eval(0, 50)
			if len(again) != len(items) {
				t.Fatalf("Eval not deterministic: %d vs %d items", len(items), len(again))
			}
			for i := range items {
				if items[i].Prompt != again[i].Prompt || items[i].Answer != again[i].Answer {
					t.Fatalf("Eval item %d differs under the same seed", i)
				}
			}
			if b := genDocs(task, 1, 100); !slices.Equal(b, docs[:100]) {
				t.Fatalf("Generate differs under the same seed")
			}
		})
	}
}

// TestTaskFileSplitRule checks the documented rule directly: an item is
// held out when Unit(Hash64("NAME/vVERSION|KEY")) < heldout, or its
// variant is untrained.
func TestTaskFileSplitRule(t *testing.T) {
	for _, name := range exampleFiles {
		task := loadExample(t, name)
		untrained := map[string]bool{}
		for _, v := range task.Variants() {
			untrained[v.Name] = !v.Trained
		}
		salt := task.Name() + "/v" + strconv.Itoa(task.Version())
		check := func(it Item, want bool) {
			got := untrained[strings.TrimSuffix(it.Variant, "/train")] || data.Unit(data.Hash64(salt+"|"+it.Key)) < task.HeldoutFraction()
			if got != want {
				t.Errorf("%s: item %q key %q: rule says held out %v, the task %v", name, it.Prompt, it.Key, got, want)
			}
		}
		for _, it := range task.Eval(0, 30) {
			check(it, true)
		}
		for _, it := range task.(TrainSampler).TrainItems(0, 30) {
			check(it, false)
		}
	}
}

// TestTaskFileUntrainedVariant: every item of an untrained variant is held
// out, so training never shows it.
func TestTaskFileUntrainedVariant(t *testing.T) {
	task := loadExample(t, "sub.toml")
	for _, d := range genDocs(task, 3, 2000) {
		if a, _, _ := strings.Cut(strings.TrimPrefix(d, "S:"), "-"); len(a) == 3 {
			t.Fatalf("training document %q has a 3-digit problem (variant d=3 is untrained)", d)
		}
	}
	n := 0
	for _, it := range task.Eval(0, 40) {
		if it.Variant == "sub/d=3" {
			n++
		}
	}
	if n != 40 {
		t.Errorf("%d items of sub/d=3, want 40", n)
	}
}

// TestTaskFileStats: an item list's held-out share is counted exactly;
// a template's is measured on the load-time sample.
func TestTaskFileStats(t *testing.T) {
	pl := loadExample(t, "plurals.toml")
	st := pl.Stats()
	held := 0
	for _, it := range pl.Eval(0, 1000) {
		_ = it
		held++
	}
	if st.Draws != 174 || st.Heldout != held {
		t.Errorf("plurals stats %+v, Eval found %d held out of 174", st, held)
	}
	if cmp := loadExample(t, "compare.toml").Stats(); cmp.Draws != fileSampleDraws || cmp.Failed != 0 || cmp.Heldout == 0 {
		t.Errorf("compare stats %+v", cmp)
	}
	// a = b divides by zero: 1 in 10 draws fails and is redrawn.
	dir := t.TempDir()
	path := filepath.Join(dir, "div.toml")
	writeFile(t, path, "name = \"div\"\nversion = 1\nchance = 0.1\nprompt = \"{a},{b}=\"\nanswer = \"{100/(a-b)}\"\n[vars]\na = { range = [0, 9] }\nb = { range = [0, 9] }\n")
	task, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st = task.(FileTask).Stats()
	if share := float64(st.Failed) / float64(st.Draws); share < 0.08 || share > 0.12 || !strings.Contains(st.FirstFailure, "division by zero") {
		t.Errorf("div stats %+v: %.3f failed, want ≈ 0.1", st, share)
	}
	for _, d := range genDocs(task, 1, 500) {
		if a, b, _ := strings.Cut(strings.TrimSuffix(strings.SplitN(d, "=", 2)[0], ""), ","); a == b {
			t.Fatalf("document %q divides by zero", d)
		}
	}
}

// TestTaskFileContent: the hash covers the TOML and the files it names;
// a mixture built from recorded content ignores the file on disk.
func TestTaskFileContent(t *testing.T) {
	dir := t.TempDir()
	toml := "name = \"echo\"\nversion = 1\nitems = \"items.jsonl\"\nchance = 0.5\n"
	items := `{"prompt": "E:a=", "answer": "a"}` + "\n" + `{"prompt": "E:b=", "answer": "b"}` + "\n" + `{"prompt": "E:c=", "answer": "c"}` + "\n" + `{"prompt": "E:d=", "answer": "d"}` + "\n"
	path := filepath.Join(dir, "echo.toml")
	writeFile(t, path, toml)
	writeFile(t, filepath.Join(dir, "items.jsonl"), items)
	spec := "file:" + path
	m, err := ParseMixture(spec)
	if err != nil {
		t.Fatal(err)
	}
	files := m.Files()
	tf := files[path]
	if tf.TOML != toml || tf.Files["items.jsonl"] != items || tf.Check() != nil || len(tf.SHA256) != 64 {
		t.Fatalf("recorded content %+v", tf)
	}
	// Change the items on disk: the hash changes, the recorded copy still
	// builds the old task.
	writeFile(t, filepath.Join(dir, "items.jsonl"), strings.ReplaceAll(items, `"a"`, `"z"`))
	now, err := ReadTaskFile(path)
	if err != nil || now.SHA256 == tf.SHA256 {
		t.Fatalf("hash did not change with the items: %v", err)
	}
	old, err := ParseMixtureWith(spec, files)
	if err != nil {
		t.Fatal(err)
	}
	if got := old.Tasks()[0].(FileTask).Source().SHA256; got != tf.SHA256 {
		t.Errorf("the recorded copy built a task with hash %s, want %s", got, tf.SHA256)
	}
	bad := tf
	bad.TOML += "# edited\n"
	if _, err := ParseMixtureWith(spec, Files{path: bad}); err == nil || !strings.Contains(err.Error(), "not the recorded") {
		t.Errorf("a recorded copy that does not match its hash: %v", err)
	}
	// Two files naming the same task.
	writeFile(t, filepath.Join(dir, "echo2.toml"), toml)
	if _, err := ParseMixture(spec + ",file:" + filepath.Join(dir, "echo2.toml")); err == nil || !strings.Contains(err.Error(), "both name their task") {
		t.Errorf("two files with one task name: %v", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTaskFileErrors: bad task files are errors that name the file, the
// line and the key, with suggestions for misspelt names.
func TestTaskFileErrors(t *testing.T) {
	const head = "name = \"t\"\nversion = 1\nchance = 0.1\n"
	const okVars = "[vars]\na = { range = [0, 9] }\nb = { range = [0, 9] }\n"
	cases := []struct {
		name, toml, jsonl string
		want              []string
	}{
		{"unknown top key", head + "prompt = \"{a}+{b}=\"\nanswr = \"{a+b}\"\n" + okVars, "", []string{":5:", `unknown key "answr"`, "did you mean answer"}},
		{"unknown generator key", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\n[vars]\na = { rnage = [0, 9] }\n", "", []string{":7:", "vars.a.rnage", "did you mean vars.a.range"}},
		{"wrong type", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\nmetrics = \"logprob\"\n" + okVars, "", []string{":6:", "metrics"}},
		{"toml syntax", head + "prompt = \"{a}=\n", "", []string{":4:"}},
		{"key in the wrong table", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\n[split]\nheldout = 0.2\nmetrics = [\"logprob\"]\n" + okVars, "", []string{":8:", "split.metrics", "did you mean metrics"}},
		{"no name", "version = 1\nprompt = \"x\"\nanswer = \"y\"\n", "", []string{"name: required"}},
		{"builtin name", "name = \"add\"\nversion = 1\nprompt = \"x\"\nanswer = \"y\"\n", "", []string{":1:", "built-in task"}},
		{"no version", "name = \"t\"\nprompt = \"x\"\nanswer = \"y\"\n", "", []string{"version: required"}},
		{"heldout range", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\n[split]\nheldout = 1.5\n" + okVars, "", []string{":7:", "split.heldout", "(0, 0.9]"}},
		{"unknown name", head + "prompt = \"{a}+{bb}=\"\nanswer = \"{a+b}\"\n" + okVars, "", []string{":4:", `unknown name "bb"`, "did you mean b"}},
		{"unknown function", head + "prompt = \"{a}=\"\nanswer = \"{revv(a)}\"\n" + okVars, "", []string{":5:", `unknown function "revv"`, "did you mean rev"}},
		{"type error", head + "prompt = \"{w}=\"\nanswer = \"{w+1}\"\n[vars]\nw = { choice = [\"x\", \"y\"] }\n", "", []string{":5:", "+ needs integers"}},
		{"cycle", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\n[vars]\na = { expr = \"b+1\" }\nb = { expr = \"a+1\" }\n", "", []string{"depends on itself"}},
		{"metric", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\nmetrics = [\"exact_mach\"]\n" + okVars, "", []string{":6:", `unknown metric "exact_mach"`, "did you mean exact_match"}},
		{"choice metric without choices", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\nmetrics = [\"mc_grade\"]\n" + okVars, "", []string{"mc_grade scores choices"}},
		{"bayes_kl", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\nmetrics = [\"bayes_kl\"]\n" + okVars, "", []string{"reference distribution"}},
		{"answer and choices", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\nchoices = [\"x\", \"y\"]\ncorrect = 0\n" + okVars, "", []string{"not both"}},
		{"correct out of range", head + "prompt = \"{a}=\"\nchoices = [\"x\", \"y\"]\ncorrect = 2\n" + okVars, "", []string{":6:", "not an index"}},
		{"key not shown", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\n[split]\nkey = \"{b}\"\n" + okVars, "", []string{"split.key", "reads b", "plain {b}"}},
		{"newline", head + "prompt = \"{a}\\n=\"\nanswer = \"{a}\"\n" + okVars, "", []string{"newline"}},
		{"no chance", "name = \"t\"\nversion = 1\nprompt = \"{a}=\"\nanswer = \"{a}\"\n" + okVars, "", []string{"chance", "required"}},
		{"all fail", head + "prompt = \"{a}=\"\nanswer = \"{a/(b-b)}\"\n" + okVars, "", []string{"no draw of 4096", "division by zero"}},
		{"all held out", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\nvariant = \"x\"\n[[variants]]\nname = \"x\"\ntrained = false\n" + okVars, "", []string{"every variant is untrained"}},
		{"distinct beyond choices", head + "prompt = \"{xs}=\"\nanswer = \"{len(xs)}\"\n[vars]\nxs = { choice = [1, 2], count = 3, distinct = true }\n", "", []string{"3 distinct draws from 2 choices"}},
		{"variable shape", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\n[vars]\na = 3\n", "", []string{":7:", "a table of one generator"}},
		{"two generators", head + "prompt = \"{a}=\"\nanswer = \"{a}\"\n[vars]\na = { range = [0, 9], choice = [1] }\n", "", []string{":7:", "exactly one generator"}},
		{"rows field", head + "prompt = \"{c.name}=\"\nanswer = \"{c.capitol}\"\n[vars]\nc = { rows = [{ name = \"x\", capital = \"y\" }, { name = \"z\", capital = \"w\" }] }\n", "", []string{`unknown name "c.capitol"`, "did you mean c.capital"}},
		{"whole row", head + "prompt = \"{c}=\"\nanswer = \"{c.name}\"\n[vars]\nc = { rows = [{ name = \"x\" }] }\n", "", []string{"whole row"}},
		{"items with a prompt", head + "items = \"i.jsonl\"\nprompt = \"x\"\n", `{"prompt": "a", "answer": "b"}`, []string{":5:", "takes its items from the JSONL"}},
		{"items field", head + "items = \"i.jsonl\"\n", `{"prompt": "a", "answer": "b"}` + "\n" + `{"prompt": "a", "anwser": "b"}`, []string{"i.jsonl:2", `unknown field "anwser"`, "did you mean answer"}},
		{"items prompt", head + "items = \"i.jsonl\"\n", `{"answer": "b"}`, []string{"i.jsonl:1", `missing "prompt"`}},
		{"items correct", head + "items = \"i.jsonl\"\n", `{"prompt": "a", "choices": ["x", "y"], "correct": 5}`, []string{"i.jsonl:1", "not an index"}},
		{"items mixed", head + "items = \"i.jsonl\"\n", `{"prompt": "a", "answer": "b"}` + "\n" + `{"prompt": "c", "choices": ["x", "y"], "correct": 0}`, []string{"mixes items with choices"}},
		{"items newline", head + "items = \"i.jsonl\"\n", `{"prompt": "a\nb", "answer": "b"}`, []string{"i.jsonl:1", "newline"}},
		{"items key var", head + "items = \"i.jsonl\"\n[split]\nkey = \"{word}\"\n", `{"prompt": "a", "answer": "b", "vars": {"word": "x"}}` + "\n" + `{"prompt": "c", "answer": "d"}`, []string{"i.jsonl:2", "split.key", `no var "word"`}},
		{"items var types", head + "items = \"i.jsonl\"\n", `{"prompt": "a", "answer": "b", "vars": {"n": 1}}` + "\n" + `{"prompt": "c", "answer": "d", "vars": {"n": "x"}}`, []string{"i.jsonl:2", "is a string here"}},
		{"items path", head + "items = \"../i.jsonl\"\n", "", []string{":4:", "clean relative path"}},
		{"items undeclared variant", head + "items = \"i.jsonl\"\nvariant = \"{v}\"\n[[variants]]\nname = \"x\"\n", `{"prompt": "a", "answer": "b", "vars": {"v": "y"}}`, []string{"variant \"y\"", "does not declare"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "t.toml")
			writeFile(t, path, c.toml)
			if c.jsonl != "" {
				writeFile(t, filepath.Join(dir, "i.jsonl"), c.jsonl)
			}
			_, err := LoadFile(path)
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "t.toml") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// TestTaskFileMetricsDefault: names come from rundir's vocabulary, and the
// defaults follow the item kind.
func TestTaskFileMetricsDefault(t *testing.T) {
	for _, name := range exampleFiles {
		for _, v := range loadExample(t, name).Variants() {
			for _, m := range v.Metrics {
				if _, ok := rundir.KindOf(m); !ok {
					t.Errorf("%s: metric %q is not in rundir's vocabulary", v.Name, m)
				}
			}
		}
	}
}

func TestExpressions(t *testing.T) {
	sc := mapScope{"a": {t: tInt, chars: digitChars}, "s": {t: tStr, chars: charsOf("abc")}, "xs": {t: tList, elem: tInt, chars: digitChars}}
	env := mapEnv{"a": intVal(-7), "s": strVal("abc"), "xs": {t: tList, sep: ",", list: []value{intVal(3), intVal(1), intVal(2)}}}
	cases := []struct{ src, want, err string }{
		{"{a}", "-7", ""},
		{"{a/2},{a%10},{7/-2},{7%-2}", "-4,3,-4,-1", ""},
		{"{1+2*3-4}", "3", ""},
		{"{(1+2)*3}", "9", ""},
		{"{-a}", "7", ""},
		{"{pow(2, 10)},{pow(-3, 3)},{pow(0, 0)}", "1024,-27,1", ""},
		{"{pad(5, 3)},{pad(s, 2)}", "005,abc", ""},
		{"{rev(s)}{upper(s)}{lower('XY')}", "cbaABCxy", ""},
		{"{len(s)},{len(xs)},{digits(a)},{digits(0)}", "3,3,1,1", ""},
		{"{if(a < 0, 'neg', 'pos')},{if(a > 0, 1, 2)}", "neg,2", ""},
		{"{a == -7}{a != -7}{s == 'abc'}{s != \"abc\"}{a <= -7}{a >= 0}", "101010", ""},
		{"{xs}|{rev(xs)}|{at(xs, 0)}{at(xs, -1)}|{join(xs, '')}", "3,1,2|2,1,3|32|312", ""},
		{"{min(a, 3)},{max(a, 3)},{abs(a)},{int('42')+1},{str(a)}", "-7,3,7,43,-7", ""},
		{"{{a}} {a}", "{a} -7", ""},
		{"{a/0}", "", "division by zero"},
		{"{a%0}", "", "modulo by zero"},
		{"{pow(2, 64)}", "", "overflow"},
		{"{at(xs, 5)}", "", "out of range"},
		{"{int(s)}", "", "not an integer"},
		{"{s+1}", "", "needs integers"},
		{"{len(a)+}", "", "ends early"},
		{"{a", "", "never closed"},
		{"a}", "", "unmatched"},
		{"{foo}", "", "unknown name"},
		{"{len}", "", "is a function"},
		{"{if(a, 1, 'x')}", "", "one type"},
		{"{upper(a)}", "", "must be a string"},
		{"{min(1)}", "", "takes 2 arguments"},
		{"{'abc}", "", "never closed"},
	}
	for _, c := range cases {
		tm, err := parseTemplate(c.src, sc)
		var got string
		if err == nil {
			got, err = tm.render(env)
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: got %q, %v; want error %q", c.src, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s = %q, %v; want %q", c.src, got, err, c.want)
		}
	}
}

// TestExpressionChars: a template's character set holds every character
// it renders (the alphabet of the character tokenizer).
func TestExpressionChars(t *testing.T) {
	sc := mapScope{"a": {t: tInt, chars: digitChars}, "s": {t: tStr, chars: charsOf("aßc")}}
	env := mapEnv{"a": intVal(-12), "s": strVal("aßc")}
	for _, src := range []string{"x{a}y", "{upper(s)}{rev(s)}", "{pad(a, 6)}", "{if(a, s, 'q')}", "{len(s)*a}"} {
		tm, err := parseTemplate(src, sc)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tm.render(env)
		if err != nil {
			t.Fatal(err)
		}
		cs := tm.chars()
		for _, r := range out {
			if !cs.all && !cs.m[r] {
				t.Errorf("%s renders %q with %q outside its characters %q", src, out, r, cs.String())
			}
		}
	}
}

type mapScope map[string]varInfo

func (m mapScope) lookup(path []string) (varInfo, bool, error) {
	v, ok := m[strings.Join(path, ".")]
	return v, ok, nil
}

func (m mapScope) names() []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type mapEnv map[string]value

func (m mapEnv) get(path []string) (value, error) { return m[strings.Join(path, ".")], nil }

// FuzzTemplate: parsing and rendering never panic, whatever the text.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"{a}+{b}=", "{pow(a, b)}", "{{", "{if(a>b, 'x', \"y\")}", "{at(xs, a)}", "{-(-a)%b/0}", "{len(s)}{rev(xs)}"} {
		f.Add(s)
	}
	sc := mapScope{"a": {t: tInt, chars: digitChars}, "b": {t: tInt, chars: digitChars}, "s": {t: tStr, chars: charsOf("ab")},
		"xs": {t: tList, elem: tInt, chars: digitChars}}
	env := mapEnv{"a": intVal(3), "b": intVal(0), "s": strVal("ab"), "xs": {t: tList, list: []value{intVal(1)}}}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseTemplate(s, sc)
		if err != nil {
			return
		}
		_, _ = tm.render(env)
		_ = tm.chars()
	})
}

// FuzzTaskFile: a task file's TOML never panics the loader.
func FuzzTaskFile(f *testing.F) {
	for _, name := range exampleFiles {
		b, err := os.ReadFile(examplePath(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, src string) {
		tf := TaskFile{TOML: src}
		tf.SHA256 = hashFiles(tf.TOML, nil)
		_, _ = buildFileTask("fuzz.toml", tf)
	})
}
