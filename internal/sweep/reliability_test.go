package sweep_test

import (
	"strings"
	"testing"

	"emlab/internal/sweep"
)

// TestReliabilityBaseIsDeterministic: a key set both dotted and nested in
// [base] (or in an axis point) is an error, the same one every time; before,
// map order picked the value, so a rerun could plan other run ids and start
// new directories instead of resuming. Strings for numbers are refused as in
// config files.
func TestReliabilityBaseIsDeterministic(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"dotted and nested in base", "name=\"x\"\n[base]\n\"model.d_model\"=32\n[base.model]\nd_model=48", "model.d_model: set twice"},
		{"dotted and nested in a point", "name=\"x\"\n[[axis]]\nname=\"a\"\npoints=[{label=\"p\", \"model.d_model\"=32, model={d_model=48}}]", "model.d_model: set twice"},
		{"string for a number", "name=\"x\"\n[base]\n\"optim.lr\"=\"1e-3\"", "optim.lr: want a number"},
		{"string seed on an axis", "name=\"x\"\n[[axis]]\nkey=\"seed\"\nvalues=[\"5\"]", "train.seed: want a number"},
		{"number for tasks", "name=\"x\"\n[[axis]]\nkey=\"tasks\"\nvalues=[3]", "data.tasks: want a string"},
		{"NaN", "name=\"x\"\n[base]\n\"optim.lr\"=nan", "optim.lr: must be a finite number"},
		{"Inf", "name=\"x\"\n[base.optim]\nclip=inf", "optim.clip: must be a finite number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first := ""
			for trial := 0; trial < 20; trial++ { // map order varies between trials
				e, err := sweep.Parse([]byte(c.src))
				if err == nil {
					_, err = sweep.NewPlan(e)
				}
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err = %v, want %q", err, c.want)
				}
				if trial == 0 {
					first = err.Error()
				} else if err.Error() != first {
					t.Fatalf("the error changed between trials:\n%s\n---\n%s", first, err)
				}
			}
		})
	}
	// A valid base plans the same run ids every time.
	var ids string
	for trial := 0; trial < 20; trial++ {
		p := mustPlan(t, tinyExp+"\n[base.optim]\nlr = 0.002\nclip = 0.5\n")
		var s []string
		for _, r := range p.Runs {
			s = append(s, r.ID)
		}
		if trial == 0 {
			ids = strings.Join(s, " ")
		} else if got := strings.Join(s, " "); got != ids {
			t.Fatalf("run ids changed between plans:\n%s\n%s", ids, got)
		}
	}
}
