package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSetTyped(t *testing.T) {
	c := Default()
	for _, kv := range []string{"model.d_model=96", "optim.lr=2e-3", "model.layer_norm=false", "train.seed=7", "data.tasks=add:2", "train.steps=1e4"} {
		if err := c.Set(kv); err != nil {
			t.Fatalf("Set(%s): %v", kv, err)
		}
	}
	if c.Model.DModel != 96 || c.Optim.LR != 2e-3 || c.Model.LayerNorm || c.Train.Seed != 7 || c.Data.Tasks.String() != "add:2" || c.Train.Steps != 10000 {
		t.Errorf("got %+v", c)
	}
}

func TestSetErrors(t *testing.T) {
	cases := []struct{ kv, want string }{
		{"model.d_modle=3", `did you mean model.d_model`},
		{"d_model=3", `did you mean model.d_model`},
		{"model.n_layers=two", "not an integer"},
		{"model.layer_norm=maybe", "not a boolean"},
		{"optim.lr=fast", "not a number"},
		{"model=3", "is a section"},
		{"train.steps=1.5", "not an integer"},
		{"novalue", "want key=value"},
	}
	for _, cs := range cases {
		c := Default()
		err := c.Set(cs.kv)
		if err == nil || !strings.Contains(err.Error(), cs.want) {
			t.Errorf("Set(%q) = %v, want error containing %q", cs.kv, err, cs.want)
		}
	}
}

func TestValidateNamesField(t *testing.T) {
	cases := []struct{ kv, want string }{
		{"model.n_heads=3", "model.n_heads: d_model 64 is not divisible by n_heads 3"},
		{"model.d_model=0", "model.d_model: must be positive"},
		{"train.batch_size=-1", "train.batch_size"},
		{"train.seq_len=65", "train.seq_len"},
		{"data.source=web", "data.source"},
		{"optim.lr=0", "optim.lr"},
	}
	for _, cs := range cases {
		c := Default()
		if err := c.Set(cs.kv); err != nil {
			t.Fatal(err)
		}
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), cs.want) {
			t.Errorf("%s: Validate = %v, want %q", cs.kv, err, cs.want)
		}
	}
	for _, p := range PresetNames() {
		c, err := Preset(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("preset %s invalid: %v", p, err)
		}
	}
}

func TestPresetUnknown(t *testing.T) {
	_, err := Preset("tinny")
	if err == nil || !strings.Contains(err.Error(), "did you mean tiny") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	os.WriteFile(p, []byte(`{"model": {"d_model": 32, "n_heads": 2}, "train.steps": 50}`), 0o644)
	c := Default()
	if err := c.LoadFile(p); err != nil {
		t.Fatal(err)
	}
	if c.Model.DModel != 32 || c.Model.NHeads != 2 || c.Train.Steps != 50 {
		t.Errorf("got %+v", c)
	}
	os.WriteFile(p, []byte(`{"model": {"d_modle": 32}}`), 0o644)
	if err := c.LoadFile(p); err == nil || !strings.Contains(err.Error(), "model.d_model") {
		t.Errorf("unknown key in file: %v", err)
	}
	os.WriteFile(p, []byte(`{"model": `), 0o644)
	if err := c.LoadFile(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("broken file: %v", err)
	}
}

func TestCheckpointSchedule(t *testing.T) {
	tr := Default().Train
	tr.Steps, tr.CheckpointLogMax, tr.CheckpointEvery = 2500, 512, 1000
	var got []int
	for s := 0; s <= tr.Steps; s++ {
		if tr.IsCheckpoint(s) {
			got = append(got, s)
		}
	}
	want := []int{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000, 2500}
	if len(got) != len(want) {
		t.Fatalf("schedule %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("schedule %v, want %v", got, want)
		}
	}
}

// TestTaskMixture: data.tasks is parsed when set, so a misspelt task fails
// with a suggestion before any work; Validate checks the mixture against
// the window; the JSON form is the spec as written.
func TestTaskMixture(t *testing.T) {
	c := Default()
	if err := c.Set("data.tasks=ad:1"); err == nil || !strings.Contains(err.Error(), "data.tasks") || !strings.Contains(err.Error(), "did you mean add") {
		t.Errorf("misspelt task: %v", err)
	}
	if err := c.ApplyJSON([]byte(`{"data": {"source": "tasks", "tasks": "add(digitz=2)"}}`)); err == nil || !strings.Contains(err.Error(), "digits") {
		t.Errorf("misspelt parameter in a file: %v", err)
	}
	c = Default()
	c.Data.Source = "tasks"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "data.tasks: empty mixture") {
		t.Errorf("empty mixture: %v", err)
	}
	for _, kv := range []string{"data.tasks=stories:1,add:2", "model.n_ctx=64"} {
		if err := c.Set(kv); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "data.tasks") || !strings.Contains(err.Error(), "longer than the window") {
		t.Errorf("a task longer than the window: %v", err)
	}
	if err := c.Set("data.tasks=add:2,icl:1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Data.Tasks.Tasks(); len(got) != 2 || got[0].Name() != "add" || c.Data.Tasks.Weights()[0] != 2 {
		t.Errorf("tasks %v weights %v", got, c.Data.Tasks.Weights())
	}
	b, err := json.Marshal(c)
	if err != nil || !strings.Contains(string(b), `"tasks":"add:2,icl:1"`) {
		t.Fatalf("JSON form %s %v", b, err)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(c) || back.Data.Tasks.String() != "add:2,icl:1" {
		t.Errorf("round trip %+v %v", back.Data, err)
	}
	if !slices.Contains(Keys(), "data.tasks") {
		t.Errorf("data.tasks is not a settable key: %v", Keys())
	}
}

// TestTaskFilesEmbedded: a mixture that names a task file carries its
// content into the JSON form, and the configuration read back (a run's
// config.json, a sweep's train-config.json) builds the task from that
// copy even after the file on disk has changed or gone.
func TestTaskFilesEmbedded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "echo.toml")
	toml := "name = \"echo\"\nversion = 1\nchance = 0.1\nprompt = \"E:{a}=\"\nanswer = \"{a}\"\n[vars]\na = { range = [0, 999] }\n"
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Default()
	for _, kv := range []string{"data.source=tasks", "data.tasks=file:" + path + ":2,add:1", "model.n_ctx=32"} {
		if err := c.Set(kv); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := c.Data.Tasks.Files()[path]
	if !strings.Contains(string(b), `"task_files":{`) || !strings.Contains(string(b), want.SHA256) {
		t.Fatalf("the JSON form does not embed the task file: %s", b)
	}
	if err := os.WriteFile(path, []byte("this is not TOML = ="), 0o644); err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("reading the configuration back after the file changed: %v", err)
	}
	if got := back.Data.Tasks.Files()[path]; got.SHA256 != want.SHA256 || !back.Equal(c) {
		t.Errorf("read back with task file %s, want %s (equal %v)", got.SHA256, want.SHA256, back.Equal(c))
	}
	applied := Default()
	if err := applied.ApplyJSON(b); err != nil {
		t.Fatalf("applying the configuration as a file: %v", err)
	}
	if !applied.Equal(c) {
		t.Errorf("applied configuration differs")
	}
	// Without the embedded copy the spec reads the (now broken) file.
	fresh := Default()
	if err := fresh.Set("data.tasks=file:" + path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a broken task file on disk: %v", err)
	}
	// A tampered copy is refused.
	bad := strings.Replace(string(b), `E:{a}=`, `F:{a}=`, 1)
	if err := json.Unmarshal([]byte(bad), &back); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("an edited embedded copy: %v", err)
	}
}
