package sweep_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"emlab/internal/config"
	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/sweep"
)

func mustPlan(t *testing.T, src string) *sweep.Plan {
	t.Helper()
	e, err := sweep.Parse([]byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	p, err := sweep.NewPlan(e)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

// Every shipped experiment file must plan: unknown keys, bad values and
// impossible combinations would be errors here, before anything runs.
func TestExamplesPlan(t *testing.T) {
	files, err := filepath.Glob("../../examples/sweeps/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example sweeps found (%v)", err)
	}
	want := map[string]bool{"ladder": true, "data": true, "compute": true, "grokking": true, "induction": true, "quanta": true, "tiny": true}
	for _, f := range files {
		e, err := sweep.Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		p, err := sweep.NewPlan(e)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		delete(want, e.Name)
		t.Logf("%s: %d runs, %.3g FLOPs", e.Name, len(p.Runs), p.FLOPs)
	}
	for n := range want {
		t.Errorf("examples/sweeps/%s.toml is missing", n)
	}
}

const tinyExp = `
name = "t"
[base]
"model.n_ctx" = 32
"model.d_vocab" = 32
"train.batch_size" = 8
"train.steps" = 20
[[axis]]
name = "size"
ladder = "gpt-micro"
[[axis]]
key = "seed"
values = [1, 2, 3]
`

func TestPlanRunsAndCosts(t *testing.T) {
	p := mustPlan(t, tinyExp)
	if len(p.Runs) != 6 {
		t.Fatalf("got %d runs, want 2 sizes × 3 seeds = 6", len(p.Runs))
	}
	// Ids are stable: planning again gives the same ids in the same order,
	// and they are unique.
	q := mustPlan(t, tinyExp)
	seen := map[string]bool{}
	var flops float64
	for i, r := range p.Runs {
		if r.ID != q.Runs[i].ID {
			t.Errorf("run %d: id %s then %s", i, r.ID, q.Runs[i].ID)
		}
		if seen[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		seen[r.ID] = true
		flops += r.FLOPs
		// Cost: parameters counted from the model training builds, tokens
		// = steps·B·T, FLOPs = FLOPsPerToken·tokens.
		m, err := nn.New(r.Config.Model, data.RNG(1, "init"))
		if err != nil {
			t.Fatal(err)
		}
		if r.Params != m.Params().Count() {
			t.Errorf("%s: params %d, model has %d", r.ID, r.Params, m.Params().Count())
		}
		if r.Tokens != int64(20*8*32) || r.FLOPs != m.FLOPsPerToken(32)*float64(r.Tokens) {
			t.Errorf("%s: tokens %d flops %g", r.ID, r.Tokens, r.FLOPs)
		}
	}
	if p.FLOPs != flops {
		t.Errorf("total FLOPs %g, sum of runs %g", p.FLOPs, flops)
	}
	// Last axis fastest; labels name the values.
	if !strings.HasPrefix(p.Runs[0].ID, "d16L1-seed1-") || !strings.HasPrefix(p.Runs[1].ID, "d16L1-seed2-") ||
		!strings.HasPrefix(p.Runs[3].ID, "d32L1-seed1-") {
		t.Errorf("unexpected order: %s %s %s", p.Runs[0].ID, p.Runs[1].ID, p.Runs[3].ID)
	}
	if p.Runs[0].Config.Model.DModel != 16 || p.Runs[3].Config.Model.DModel != 32 || p.Runs[2].Config.Train.Seed != 3 {
		t.Errorf("axis values not applied: %+v", p.Runs[0].Config.Model)
	}
	// Changing something that changes results changes the id; threads do not.
	other := mustPlan(t, strings.Replace(tinyExp, `"train.steps" = 20`, `"train.steps" = 21`, 1))
	if other.Runs[0].ID == p.Runs[0].ID {
		t.Errorf("id %s unchanged by a different step count", p.Runs[0].ID)
	}
	threads := mustPlan(t, tinyExp+"\n[resources]\nthreads = 2\n")
	if threads.Runs[0].ID != p.Runs[0].ID || threads.Runs[0].Config.Train.Threads != 2 {
		t.Errorf("threads changed the id (%s vs %s) or were not set", threads.Runs[0].ID, p.Runs[0].ID)
	}
}

func TestPlanBudget(t *testing.T) {
	noSteps := strings.Replace(tinyExp, `"train.steps" = 20`, "", 1)
	p := mustPlan(t, noSteps+"\n[budget]\ntokens_per_param = 10\n")
	for _, r := range p.Runs {
		want := int(math.Ceil(10 * float64(r.Params) / float64(8*32)))
		if r.Steps != want {
			t.Errorf("%s: %d steps, want ceil(10·%d/256) = %d", r.ID, r.Steps, r.Params, want)
		}
	}
	// An axis over tokens overrides the budget per run.
	q := mustPlan(t, noSteps+`
[[axis]]
key = "tokens"
values = [2560, 25600]
labels = ["D1", "D2"]
`)
	if q.Runs[0].Steps != 10 || q.Runs[1].Steps != 100 {
		t.Errorf("tokens axis: steps %d, %d; want 10, 100", q.Runs[0].Steps, q.Runs[1].Steps)
	}
}

// Bad experiments are errors that name what is wrong, before anything runs.
func TestPlanErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // substrings of the error
	}{
		{"unknown top-level key", "name=\"x\"\ndescripton=\"y\"", []string{`unknown key "descripton"`, "description"}},
		{"no name", "description=\"y\"", []string{"name: required"}},
		{"unknown config key in base", "name=\"x\"\n[base]\n\"model.d_modle\"=3", []string{`"model.d_modle"`, "model.d_model"}},
		{"wrong type", "name=\"x\"\n[base]\n\"model.d_model\"=\"wide\"", []string{"model.d_model", "want a number"}},
		{"bad value on an axis", "name=\"x\"\n[[axis]]\nkey=\"model.d_model\"\nvalues=[64, 66]", []string{"run model.d_model66", "n_heads"}},
		{"unknown ladder", "name=\"x\"\n[[axis]]\nladder=\"gpt-3mn\"", []string{"unknown ladder", "gpt-3min"}},
		{"axis with two kinds", "name=\"x\"\n[[axis]]\nname=\"a\"\nladder=\"gpt-3min\"\nkey=\"seed\"\nvalues=[1]", []string{"exactly one of"}},
		{"labels mismatch", "name=\"x\"\n[[axis]]\nkey=\"seed\"\nvalues=[1,2]\nlabels=[\"a\"]", []string{"1 labels for 2 values"}},
		{"steps and budget", "name=\"x\"\n[budget]\ntokens=1e5\n[[axis]]\nkey=\"steps\"\nvalues=[10]", []string{"steps: set both"}},
		{"two budgets", "name=\"x\"\n[budget]\ntokens=1e5\ntokens_per_param=3", []string{"not both"}},
		{"duplicate runs", "name=\"x\"\n[[axis]]\nkey=\"train.seed\"\nvalues=[1, 1.0]\nlabels=[\"a\",\"b\"]", []string{"same run"}},
		{"unknown preset", "name=\"x\"\npreset=\"tinny\"", []string{"tiny"}},
		// A misspelt task fails the plan, naming the run and suggesting the
		// task, before any run directory exists.
		{"misspelt task on an axis", "name=\"x\"\n[[axis]]\nname=\"data\"\npoints=[{label=\"ok\", tasks=\"add:1\"}, {label=\"bad\", tasks=\"ad:1\"}]",
			[]string{"run bad", "data.tasks", `unknown task "ad"`, "did you mean add"}},
		// A corpus that cannot be read is the run's error, not a parameter
		// count made with the default vocabulary.
		{"missing corpus", "name=\"x\"\n[base]\n\"data.source\"=\"text\"\n\"data.corpus\"=\"/no/such/corpus.txt\"", []string{"base", "data.corpus", "corpus.txt"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := sweep.Parse([]byte(c.src))
			if err == nil {
				_, err = sweep.NewPlan(e)
			}
			if err == nil {
				t.Fatalf("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// The plan's resolved config is what emlab train resolves from
// train-config.json: a JSON round trip through the config overrides.
func TestTrainConfigRoundTrip(t *testing.T) {
	p := mustPlan(t, tinyExp+"\n[base.optim]\nlr = 0.0031\n")
	r := p.Runs[4]
	b, err := jsonMarshal(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	if err := c.ApplyJSON(b); err != nil {
		t.Fatal(err)
	}
	if !c.Equal(r.Config) {
		t.Errorf("round trip changed the config:\n%+v\n%+v", c, r.Config)
	}
}

// A sweep names task files as everything else does (tasks = "file:…",
// on an axis too); each run's configuration carries the file's content
// to emlab train through train-config.json, and an edited file gives new
// run ids, so a sweep never resumes a run trained on the old task.
func TestPlanTaskFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "echo.toml")
	write := func(prompt string) {
		t.Helper()
		toml := "name = \"echo\"\nversion = 1\nchance = 0.1\nprompt = \"" + prompt + "\"\nanswer = \"{a}\"\n[vars]\na = { range = [0, 99] }\n"
		if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("E:{a}=")
	exp := strings.Replace(tinyExp, `"model.d_vocab" = 32`, "", 1) + "\n[[axis]]\nname = \"mix\"\nkey = \"tasks\"\nvalues = [\"file:" + path + "\", \"file:" + path + ":3,add(digits=1)\"]\nlabels = [\"echo\", \"echoadd\"]\n"
	p := mustPlan(t, exp)
	if len(p.Runs) != 12 {
		t.Fatalf("%d runs, want 12", len(p.Runs))
	}
	r := p.Runs[len(p.Runs)-1]
	b, err := jsonMarshal(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "task_files") {
		t.Fatalf("the run's configuration does not carry the task file")
	}
	write("F:{a}=")
	c := config.Default()
	if err := c.ApplyJSON(b); err != nil || !c.Equal(r.Config) {
		t.Errorf("the train configuration read back after the file changed: equal %v, %v", c.Equal(r.Config), err)
	}
	again := mustPlan(t, exp)
	for i := range p.Runs {
		if p.Runs[i].ID == again.Runs[i].ID {
			t.Errorf("run %s keeps its id after the task file changed", p.Runs[i].ID)
		}
	}
}
