package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestReliabilityFilesAreDeterministic: a config file means one thing. The
// same key twice (dotted and nested, or repeated), trailing bytes and values
// of the wrong JSON type are errors naming the key, the same error every
// time (a map-order choice would give different configs run to run).
func TestReliabilityFilesAreDeterministic(t *testing.T) {
	cases := []struct{ name, json, want string }{
		{"dotted and nested", `{"model.d_model": 32, "model": {"d_model": 48}}`, "model.d_model: set twice"},
		{"dotted and nested, deeper", `{"train": {"steps": 5}, "train.steps": 6, "optim.lr": 1e-3}`, "train.steps: set twice"},
		{"repeated key", `{"model": {"d_model": 32, "d_model": 48}}`, `line 1: key "model.d_model" appears twice`},
		{"repeated top key", "{\n\"train.steps\": 5,\n\"train.steps\": 6\n}", `line 3: key "train.steps" appears twice`},
		{"repeated section", `{"model": {"d_model": 32}, "model": {"n_heads": 2}}`, `key "model" appears twice`},
		{"trailing garbage", `{"train.steps": 5} garbage`, "after the JSON object"},
		{"second object", "{\"train.steps\": 5}\n{\"train.steps\": 6}", "line 2: unexpected { after the JSON object"},
		{"string for an integer", `{"model": {"d_model": "32"}}`, `model.d_model: want a number, got the string "32"`},
		{"string for a float", `{"optim.lr": "1e-3"}`, "optim.lr: want a number"},
		{"number for a boolean", `{"model.layer_norm": 1}`, "model.layer_norm: want true or false"},
		{"string for a boolean", `{"model.layer_norm": "false"}`, "model.layer_norm: want true or false"},
		{"number for a string", `{"data.source": 5}`, "data.source: want a string"},
		{"null", `{"optim": {"lr": null}}`, "optim.lr: want a number, got null"},
		{"list", `{"model": {"d_model": [32]}}`, "model.d_model: a list is not a config value"},
		{"not an object", `[1, 2]`, "want a JSON object"},
		{"empty", ``, "EOF"},
		{"fraction for an integer", `{"model.d_model": 32.5}`, "model.d_model: \"32.5\" is not an integer"},
		{"section as value", `{"model": 3}`, "model: is a section"},
		{"number for the mixture", `{"data.tasks": 5}`, "data.tasks: want a string, got the number 5"},
		{"mixture as a section", `{"data": {"tasks": {"add": 2}}}`, `unknown config key "data.tasks.add" (did you mean data.tasks?)`},
		{"mixture weights overflow", `{"data.tasks": "add:1e308,icl:1e308"}`, "data.tasks: mixture \"add:1e308,icl:1e308\": the weights sum to +Inf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first := ""
			for trial := 0; trial < 20; trial++ { // map order varies between trials
				cfg := Default()
				err := cfg.ApplyJSON([]byte(c.json))
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("ApplyJSON(%s) = %v, want an error containing %q", c.json, err, c.want)
				}
				if trial == 0 {
					first = err.Error()
				} else if err.Error() != first {
					t.Fatalf("the error changed between trials:\n%s\n---\n%s", first, err)
				}
			}
		})
	}
	// What a file may say keeps working.
	cfg := Default()
	if err := cfg.ApplyJSON([]byte(`{"model": {"d_model": 32, "n_heads": 2}, "train.steps": 5e1, "optim.lr": 1e-3, "model.layer_norm": false}` + "\n\n")); err != nil {
		t.Fatal(err)
	}
	if cfg.Model.DModel != 32 || cfg.Train.Steps != 50 || cfg.Optim.LR != 1e-3 || cfg.Model.LayerNorm {
		t.Errorf("got %+v", cfg)
	}
	// The mixture is one value, written as its spec, in a section or dotted.
	for _, js := range []string{`{"data": {"source": "tasks", "tasks": "add:2,icl:1"}}`, `{"data.source": "tasks", "data.tasks": "add:2,icl:1"}`} {
		cfg := Default()
		if err := cfg.ApplyJSON([]byte(js)); err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		if err := cfg.Validate(); err != nil || cfg.Data.Tasks.String() != "add:2,icl:1" || len(cfg.Data.Tasks.Tasks()) != 2 {
			t.Errorf("%s: mixture %q, %v", js, cfg.Data.Tasks, err)
		}
	}
}

// TestReliabilityDiff: Diff names every key whose value differs, the
// mixture by its spec, and nothing when the configurations agree.
func TestReliabilityDiff(t *testing.T) {
	a := Default()
	if err := a.ApplyJSON([]byte(`{"data.source": "tasks", "data.tasks": "add:2,icl:1"}`)); err != nil {
		t.Fatal(err)
	}
	b := a
	if d := Diff(a, b); len(d) != 0 {
		t.Errorf("Diff of equal configs: %v", d)
	}
	if err := b.ApplyJSON([]byte(`{"data.tasks": "add:1,icl:1", "optim.lr": 0.125}`)); err != nil {
		t.Fatal(err)
	}
	want := []Difference{{"data.tasks", "add:2,icl:1", "add:1,icl:1"}, {"optim.lr", fmt.Sprint(a.Optim.LR), "0.125"}}
	if d := Diff(a, b); !reflect.DeepEqual(d, want) {
		t.Errorf("Diff = %v, want %v", d, want)
	}
}

// floatKeys lists every float-valued config key.
func floatKeys() []string {
	var keys []string
	c := Default()
	for _, k := range Keys() {
		f, err := field(reflect.ValueOf(&c).Elem(), k)
		if err == nil && f.Kind() == reflect.Float64 {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestReliabilityNonFiniteFloats: NaN and ±Inf are refused for every float
// field, by Validate, naming the key (before, NaN passed the range checks
// and config.json later failed with "unsupported value: NaN").
func TestReliabilityNonFiniteFloats(t *testing.T) {
	keys := floatKeys()
	if len(keys) < 10 {
		t.Fatalf("found only %d float keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		for _, v := range []string{"NaN", "Inf", "-Inf", "1e999"} {
			t.Run(k+"="+v, func(t *testing.T) {
				c := Default()
				if err := c.Set(k + "=" + v); err != nil {
					if !strings.Contains(err.Error(), k) {
						t.Errorf("Set(%s=%s) = %v, want an error naming the key", k, v, err)
					}
					return // refused on parsing already (1e999 overflows)
				}
				err := c.Validate()
				if err == nil || !strings.Contains(err.Error(), k+":") || !strings.Contains(err.Error(), "finite") {
					t.Errorf("%s=%s: Validate = %v, want an error naming %s", k, v, err, k)
				}
			})
		}
	}
}

// TestReliabilityDiffTaskFiles: a task file edited under the same path is
// a difference (data.tasks's text is the same), so resume refuses it.
func TestReliabilityDiffTaskFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "echo.toml")
	load := func(prompt string) Config {
		t.Helper()
		toml := "name = \"echo\"\nversion = 1\nchance = 0.1\nprompt = \"" + prompt + "\"\nanswer = \"{a}\"\n[vars]\na = { range = [0, 99] }\n"
		if err := os.WriteFile(file, []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
		c := Default()
		if err := c.ApplyJSON([]byte(`{"data.source": "tasks", "data.tasks": "file:` + file + `"}`)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := load("E:{a}="), load("F:{a}=")
	if d := Diff(a, a); len(d) != 0 {
		t.Errorf("Diff of equal configs: %v", d)
	}
	d := Diff(a, b)
	if len(d) != 1 || d[0].Key != "data.task_files."+file || !strings.HasPrefix(d[0].A, "sha256 ") || d[0].A == d[0].B {
		t.Errorf("Diff after editing the task file = %v, want one difference at data.task_files.%s", d, file)
	}
}
