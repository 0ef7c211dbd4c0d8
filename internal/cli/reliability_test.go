package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"emlab/internal/report/reporttest"
	"emlab/internal/rundir"
	"emlab/internal/safetensors"
)

// badInput is one command line that must be refused: a non-zero exit, an
// error mentioning want, promptly, and no panic.
type badInput struct {
	name string
	args []string
	want string
}

func checkRefused(t *testing.T, cases []badInput) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			began := time.Now()
			code := Main(context.Background(), c.args, &out, &errb)
			if code == 0 || !strings.Contains(errb.String(), c.want) {
				t.Errorf("emlab %s: exit %d, stderr %q; want a refusal mentioning %q", strings.Join(c.args, " "), code, errb.String(), c.want)
			}
			if d := time.Since(began); d > 20*time.Second { // a refusal is up-front work, milliseconds
				t.Errorf("emlab %s took %v to refuse", strings.Join(c.args, " "), d)
			}
		})
	}
}

// TestReliabilityValidation: out-of-range flags, non-finite numbers and
// overflowing mixture weights are refused up front with a message naming
// the flag or key (before, --steps -5 trained 1000 steps, NaN reached
// config.json, and add:1e308,icl:1e308 trained icl only).
func TestReliabilityValidation(t *testing.T) {
	out := func() string { return filepath.Join(t.TempDir(), "run") }
	dup := filepath.Join(t.TempDir(), "dup.json")
	os.WriteFile(dup, []byte(`{"model.d_model": 32, "model": {"d_model": 48}}`), 0o644)
	garbage := filepath.Join(t.TempDir(), "garbage.json")
	os.WriteFile(garbage, []byte(`{"train.steps": 5} trailing`), 0o644)
	quoted := filepath.Join(t.TempDir(), "quoted.json")
	os.WriteFile(quoted, []byte(`{"model": {"d_model": "32"}}`), 0o644)
	cases := []badInput{
		{"steps negative", []string{"train", "--steps", "-5", "--out", out()}, "--steps: must be positive, got -5"},
		{"steps zero", []string{"train", "--steps", "0", "--out", out()}, "--steps: must be positive, got 0"},
		{"seed negative", []string{"train", "--seed", "-5", "--out", out()}, "--seed: must be ≥ 0, got -5"},
		{"set steps negative", []string{"train", "--set", "train.steps=-5", "--out", out()}, "train.steps: must be positive"},
		{"set seed negative", []string{"train", "--set", "train.seed=-5", "--out", out()}, "train.seed"},
		{"set NaN lr", []string{"train", "--set", "optim.lr=NaN", "--out", out()}, "optim.lr: must be a finite number"},
		{"set Inf lr", []string{"train", "--set", "optim.lr=Inf", "--out", out()}, "optim.lr: must be a finite number"},
		{"set NaN beta1", []string{"train", "--set", "optim.beta1=NaN", "--out", out()}, "optim.beta1: must be a finite number"},
		{"set NaN min_lr_frac", []string{"train", "--set", "optim.min_lr_frac=nan", "--out", out()}, "optim.min_lr_frac"},
		{"set NaN warmup_frac", []string{"train", "--set", "optim.warmup_frac=NaN", "--out", out()}, "optim.warmup_frac"},
		{"set Inf weight_decay", []string{"train", "--set", "optim.weight_decay=+Inf", "--out", out()}, "optim.weight_decay"},
		{"set Inf clip", []string{"train", "--set", "optim.clip=Inf", "--out", out()}, "optim.clip"},
		{"set NaN init_std", []string{"train", "--set", "model.init_std=NaN", "--out", out()}, "model.init_std"},
		{"set NaN heldout", []string{"train", "--set", "data.heldout=NaN", "--out", out()}, "data.heldout"},
		{"overflowing weights", []string{"train", "--tasks", "add:1e308,icl:1e308", "--out", out()}, "sum to +Inf"},
		{"config dotted and nested", []string{"train", "--config", dup, "--out", out()}, "model.d_model: set twice"},
		{"config trailing garbage", []string{"train", "--config", garbage, "--out", out()}, "after the JSON object"},
		{"config quoted number", []string{"train", "--config", quoted, "--out", out()}, "want a number"},
		{"eval batch zero", []string{"eval", "--run", out(), "--batch", "0"}, "--batch: must be positive, got 0"},
		{"eval batch negative", []string{"eval", "--run", out(), "--batch", "-1"}, "--batch: must be positive, got -1"},
		{"eval n zero", []string{"eval", "--run", out(), "--n", "0"}, "--n: must be positive"},
		{"eval step negative", []string{"eval", "--run", out(), "--step", "-5"}, "--step: must be ≥ 0, got -5"},
		{"probe step negative", []string{"probe", "--run", out(), "--step", "-5"}, "--step: must be ≥ 0, got -5"},
		{"probe batch zero", []string{"probe", "--run", out(), "--batch", "0"}, "--batch: must be positive"},
		{"tasks sample n zero", []string{"tasks", "sample", "add", "--n", "0"}, "--n: must be positive"},
		{"analyze NaN alpha", []string{"analyze", "--csv", "x.csv", "--alpha", "NaN"}, "--alpha: must be a finite number"},
		{"analyze negative boot", []string{"analyze", "--csv", "x.csv", "--boot", "-3"}, "--boot: must be ≥ 0"},
		{"scaling Inf compute", []string{"scaling", "fit", "--csv", "x.csv", "--compute", "Inf"}, "--compute: must be a finite number"},
		{"sweep negative jobs", []string{"sweep", "run", "x.toml", "--jobs", "-2"}, "--jobs: must be ≥ 0"},
	}
	checkRefused(t, cases)
}

// TestReliabilitySizes: configurations that cannot fit are refused before
// any work, with the numbers — never a makeslice panic or Go's
// out-of-memory dump — and the run directory is not created.
func TestReliabilitySizes(t *testing.T) {
	run := tinyAddRun(t)
	// A model trained elsewhere is checked from its config.json's shape,
	// before any weights are read.
	ext := filepath.Join(t.TempDir(), "gpt2")
	gpt2Model(t, ext, 1)
	outs := []string{}
	out := func() string {
		o := filepath.Join(t.TempDir(), "run")
		outs = append(outs, o)
		return o
	}
	cases := []badInput{
		{"d_model 1e8", []string{"train", "--set", "model.d_model=100000000", "--out", out()}, "parameters"},
		{"d_model 1e8 unchecked", []string{"train", "--set", "model.d_model=100000000", "--no-memory-check", "--out", out()}, "more than any machine holds"},
		{"n_layers 1e9", []string{"train", "--set", "model.n_layers=1000000000", "--out", out()}, "parameters"},
		{"d_vocab 1e12", []string{"train", "--set", "model.d_vocab=1000000000000", "--out", out()}, "parameters"},
		{"n_ctx 1e9", []string{"train", "--set", "model.n_ctx=1000000000", "--out", out()}, "activation values"},
		{"n_ctx 1e5", []string{"train", "--set", "model.n_ctx=100000", "--out", out()}, "does not fit in memory"},
		{"50 TB model", []string{"train", "--set", "model.d_model=65536", "--set", "model.n_layers=64", "--set", "model.n_heads=64", "--out", out()}, "does not fit in memory"},
		{"batch 1e7", []string{"train", "--set", "train.batch_size=10000000", "--out", out()}, "does not fit in memory"},
		{"batch 1e9", []string{"train", "--set", "train.batch_size=1000000000", "--out", out()}, "activation values"},
		{"batch 1e12", []string{"train", "--set", "train.batch_size=1000000000000", "--no-memory-check", "--out", out()}, "train.batch_size"},
		{"eval batch 1e9", []string{"eval", "--run", run, "--batch", "1000000000"}, "does not fit in memory"},
		{"eval n 1e9", []string{"eval", "--run", run, "--n", "1000000000"}, "--n: at most 1000000"},
		{"probe batch 1e9", []string{"probe", "--run", run, "--batch", "1000000000"}, "does not fit in memory"},
		{"probe items 1e9", []string{"probe", "--run", run, "--items", "1000000000"}, "--items: at most"},
		{"external eval batch 1e9", []string{"eval", "--run", ext, "--tasks", "add(digits=1)", "--batch", "1000000000"}, "one layer's activations at batch 1000000000"},
		{"external probe batch 1e9", []string{"probe", "--run", ext, "--batch", "1000000000"}, "loader buffers"},
		{"external probe len", []string{"probe", "--run", ext, "--len", "65"}, "above the model's context"},
	}
	checkRefused(t, cases)
	for _, o := range outs {
		if _, err := os.Stat(o); err == nil {
			t.Errorf("%s was created for a refused run", o)
		}
	}
}

// TestReliabilityExportReadOnlyDir: export reads the runs, so it works on
// a directory it cannot write (another user's runs) when --csv points
// elsewhere; before, it failed opening DIR/index.db. As root, which may
// write anywhere, the export runs as user nobody.
func TestReliabilityExportReadOnlyDir(t *testing.T) {
	if testing.Short() {
		t.Skip("trains and evaluates a run; skipped with -short")
	}
	// A world-readable tree: t.TempDir's directories are private.
	top, err := os.MkdirTemp("", "emlab-readonly-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		filepath.Walk(top, func(p string, _ os.FileInfo, _ error) error { return os.Chmod(p, 0o755) })
		os.RemoveAll(top)
	}()
	dir := filepath.Join(top, "runs")
	run := filepath.Join(dir, "run")
	runCLI(t, "train", "--tasks", "add", "--set", "model.d_model=16", "--set", "model.n_layers=1", "--set", "model.n_heads=2",
		"--set", "model.n_ctx=32", "--set", "train.batch_size=8", "--steps", "10", "--out", run, "--quiet")
	runCLI(t, "eval", "--run", run, "--n", "20", "--quiet")
	outDir := filepath.Join(top, "out")
	os.MkdirAll(outDir, 0o777)
	os.Chmod(outDir, 0o777)
	filepath.Walk(dir, func(p string, fi os.FileInfo, _ error) error {
		if fi.IsDir() {
			return os.Chmod(p, 0o555)
		}
		return nil
	})
	os.Chmod(top, 0o755)
	csv := filepath.Join(outDir, "evals.csv")
	args := []string{"export", dir, "--csv", csv}
	var stderr bytes.Buffer
	if os.Geteuid() == 0 {
		bin := filepath.Join(top, "emlab")
		b, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), cliMainEnv+"=1", "HOME=/", "TMPDIR=/tmp")
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("export as nobody: %v\n%s", err, stderr.String())
		}
	} else {
		var out bytes.Buffer
		if code := Main(context.Background(), args, &out, &stderr); code != 0 {
			t.Fatalf("export: exit %d\n%s", code, stderr.String())
		}
	}
	b, err := os.ReadFile(csv)
	if err != nil || !strings.Contains(string(b), "add/plain") {
		t.Fatalf("csv: %v\n%s\nstderr:\n%s", err, b, stderr.String())
	}
	if !strings.Contains(stderr.String(), "read-only") {
		t.Errorf("no note that DIR is read-only:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "index.db")); err == nil {
		t.Error("an index was written into the read-only directory")
	}
}

// poisonCheckpoint writes NaN into one weight of a checkpoint file,
// keeping everything else (a file damaged in place, or written by an
// emlab that saved diverged weights).
func poisonCheckpoint(t *testing.T, path string) {
	t.Helper()
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(f.Tensors))
	var ts []safetensors.Tensor
	for _, n := range names {
		x := f.Tensors[n]
		x.Name = n
		if n == "wte.weight" {
			x.Data = slices.Clone(x.Data)
			binary.LittleEndian.PutUint32(x.Data[8:], math.Float32bits(float32(math.NaN())))
		}
		ts = append(ts, x)
	}
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, ts, f.Metadata); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReliabilityNonFiniteCheckpoint: eval and probe refuse a checkpoint
// holding NaN, promptly, with a message naming the file and the tensor
// (before: eval died in json with "unsupported value: NaN", probe spun in
// its eigensolver), and --resume falls back past it.
func TestReliabilityNonFiniteCheckpoint(t *testing.T) {
	run := tinyAddRun(t)
	ckpt := filepath.Join(run, "checkpoints", "step-20.safetensors")
	poisonCheckpoint(t, ckpt)
	checkRefused(t, []badInput{
		{"eval newest", []string{"eval", "--run", run, "--n", "20", "--quiet"}, ckpt},
		{"eval step", []string{"eval", "--run", run, "--step", "20", "--n", "20", "--quiet"}, `tensor "wte.weight" holds NaN`},
		{"probe newest", []string{"probe", "--run", run, "--quiet"}, ckpt},
		{"probe all", []string{"probe", "--run", run, "--all", "--probes", "effective_rank", "--quiet"}, "non-finite"},
	})
	// The steps before it stay usable.
	runCLI(t, "eval", "--run", run, "--step", "15", "--n", "20", "--quiet")
	// A run killed before DONE whose final checkpoint is poisoned resumes
	// from the one before and finishes.
	os.Remove(filepath.Join(run, "DONE"))
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"train", "--tasks", "add", "--set", "model.d_model=16", "--set", "model.n_layers=1",
		"--set", "model.n_heads=2", "--set", "model.n_ctx=32", "--set", "train.batch_size=8", "--steps", "20",
		"--set", "train.checkpoint_every=5", "--set", "train.checkpoint_log_max=0", "--out", run, "--resume"}, &out, &errb)
	if code != 0 || !strings.Contains(errb.String(), "skipping unusable checkpoint") || !strings.Contains(errb.String(), "step-15") ||
		!strings.Contains(out.String(), "trained 5 steps (to step 20)") {
		t.Errorf("resume past a poisoned checkpoint: exit %d\nstdout %s\nstderr %s", code, out.String(), errb.String())
	}
	runCLI(t, "eval", "--run", run, "--n", "20", "--quiet")
}

// TestReliabilityHugeMetricsLine: one metrics line over 16 MiB (a writer
// gone wrong, or a hostile file) does not fail the whole report; the run's
// other lines are read.
func TestReliabilityHugeMetricsLine(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 17 MiB line and builds a report; skipped with -short")
	}
	dir := t.TempDir()
	reporttest.Tree(t, dir)
	p := filepath.Join(dir, "ladder", "r2", rundir.MetricsFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	huge := `{"step":150,"tokens":1,"flops":1,"loss":2,"lr":0.001,"grad_norm":1,"seconds":1,"note":"` + strings.Repeat("x", 17<<20) + "\"}\n"
	var out []string
	out = append(out, lines[:2]...)
	out = append(out, huge)
	out = append(out, lines[2:]...)
	if err := os.WriteFile(p, []byte(strings.Join(out, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	o := reportOptions{dir: dir, out: filepath.Join(dir, "r.html"), boot: 20, forecast: 2, command: "emlab report --dir X"}
	if err := runReport(context.Background(), o, &w); err != nil {
		t.Fatalf("report with one 17 MiB metrics line: %v", err)
	}
	html, err := os.ReadFile(o.out)
	if err != nil || !bytes.Contains(html, []byte("add/plain/2")) {
		t.Fatalf("report: %v", err)
	}
	// The skipped line is named in the report's notes.
	if note := fmt.Sprintf("%s:3: a line of %d bytes", rundir.MetricsFile, len(huge)); !bytes.Contains(html, []byte(note)) {
		t.Errorf("the report does not name the skipped line (%q)", note)
	}
}
