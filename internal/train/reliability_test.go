package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"emlab/internal/checkpoint"
	"emlab/internal/config"
	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/optim"
	"emlab/internal/rundir"
	"emlab/internal/safetensors"
	"emlab/internal/sysmem"
)

// allFinite fails the test if any checkpoint in dir holds NaN or ±Inf.
func allFinite(t *testing.T, dir string) {
	t.Helper()
	steps, err := checkpoint.Steps(filepath.Join(dir, rundir.CheckpointsDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		p := filepath.Join(dir, rundir.CheckpointsDir, checkpoint.Name(s))
		f, err := safetensors.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for name := range f.Tensors {
			v, _, err := f.F32(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					t.Fatalf("%s: tensor %s holds %v", p, name, x)
				}
			}
		}
	}
}

// TestReliabilityDivergedRunSavesNothingNonFinite: an absurd learning rate
// drives the weights to ±Inf/NaN. The run must stop with ErrNonFinite,
// every checkpoint left on disk must be finite, and the one the error names
// as the last good checkpoint must exist.
func TestReliabilityDivergedRunSavesNothingNonFinite(t *testing.T) {
	for _, lr := range []float64{1e38, 1e30, 1e20} {
		for _, clip := range []float64{0, 1} {
			t.Run(fmt.Sprintf("lr %g clip %g", lr, clip), func(t *testing.T) { diverge(t, lr, clip) })
		}
	}
}

// diverge trains with an absurd learning rate and checks what is left.
func diverge(t *testing.T, lr, clip float64) {
	t.Helper()
	dir := t.TempDir()
	cfg := smallConfig()
	cfg.Optim.LR, cfg.Optim.Clip = lr, clip
	_, err := Run(context.Background(), Options{Config: cfg, Out: dir})
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("lr %g clip %g: err = %v, want ErrNonFinite", lr, clip, err)
	}
	allFinite(t, dir)
	m := regexp.MustCompile(`last good checkpoint: (\S+)`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("lr %g: error names no last good checkpoint: %v", lr, err)
	}
	if _, serr := os.Stat(m[1]); serr != nil {
		t.Errorf("lr %g: the named last good checkpoint: %v", lr, serr)
	}
	if _, serr := os.Stat(filepath.Join(dir, rundir.DoneFile)); serr == nil {
		t.Errorf("lr %g: DONE written for a diverged run", lr)
	}
	// --resume refuses to continue into the same divergence silently:
	// it resumes from the last good checkpoint and fails again.
	_, err = Run(context.Background(), Options{Config: cfg, Out: dir, Resume: true})
	if !errors.Is(err, ErrNonFinite) {
		t.Errorf("lr %g: resume: err = %v, want ErrNonFinite again", lr, err)
	}
	allFinite(t, dir)
}

// poison rewrites the checkpoint at step with one NaN weight, keeping its
// metadata, as a file damaged in place or written by an older emlab.
func poison(t *testing.T, cfg config.Config, dir string, step int) string {
	t.Helper()
	m, err := nn.New(cfg.Model, data.RNG(cfg.Train.Seed, "init"))
	if err != nil {
		t.Fatal(err)
	}
	ps := m.Params()
	opt := optim.NewAdamW(cfg.Optim, ps)
	p := filepath.Join(dir, rundir.CheckpointsDir, checkpoint.Name(step))
	meta, err := checkpoint.Load(p, ps, opt)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	ps.Data[len(ps.Data)/2] = float32(math.NaN())
	for _, q := range ps.Params {
		ts = append(ts, safetensors.F32Tensor(q.Name, q.Shape, ps.Data[q.Off:q.Off+q.Size]),
			safetensors.F32Tensor("optim.exp_avg."+q.Name, q.Shape, opt.M[q.Off:q.Off+q.Size]),
			safetensors.F32Tensor("optim.exp_avg_sq."+q.Name, q.Shape, opt.V[q.Off:q.Off+q.Size]))
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	md := map[string]string{"format": checkpoint.Format, "step": itoa(meta.Step), "tokens": itoa64(meta.Tokens),
		"optimizer_step": itoa(meta.OptStep), "config": string(meta.Config), "code_version": meta.CodeVersion}
	if err := safetensors.Encode(f, ts, md); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReliabilityResumeSkipsNonFiniteCheckpoint: a run killed after its
// final checkpoint but before DONE, whose final checkpoint holds a NaN, must
// not be accepted as finished: resume falls back past it with a message
// naming it, retrains the last stretch and reaches the uninterrupted bits.
func TestReliabilityResumeSkipsNonFiniteCheckpoint(t *testing.T) {
	cfg := smallConfig()
	ref := t.TempDir()
	run(t, cfg, ref, false)
	dir := t.TempDir()
	run(t, cfg, dir, false)
	if err := os.Remove(filepath.Join(dir, rundir.DoneFile)); err != nil {
		t.Fatal(err)
	}
	p := poison(t, cfg, dir, 40)
	rec := &recorder{}
	if _, err := Run(context.Background(), Options{Config: cfg, Out: dir, Resume: true, Reporter: rec}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.events, p) || !strings.Contains(rec.events, "non-finite") || !strings.Contains(rec.events, "step-30.safetensors") {
		t.Errorf("events do not name the skipped checkpoint and the fallback:\n%s", rec.events)
	}
	allFinite(t, dir)
	sameLines(t, losses(t, ref), losses(t, dir))
	sameWeights(t, weights(t, ref, 40), weights(t, dir, 40))
}

func itoa(n int) string     { return itoa64(int64(n)) }
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// TestReliabilityMemoryLimit: a run whose estimate exceeds the limit is
// refused with ErrTooBig and the numbers before the run directory exists;
// within the limit it trains.
func TestReliabilityMemoryLimit(t *testing.T) {
	cfg := smallConfig()
	est := TrainMemory(cfg)
	dir := filepath.Join(t.TempDir(), "run")
	_, err := Run(context.Background(), Options{Config: cfg, Out: dir, MemoryLimit: &sysmem.Limit{Bytes: est.Peak / 2, Source: "test"}})
	if !errors.Is(err, ErrTooBig) || !strings.Contains(err.Error(), "parameters") || !strings.Contains(err.Error(), "(test)") {
		t.Fatalf("err = %v, want ErrTooBig with the estimate and the limit", err)
	}
	if _, serr := os.Stat(dir); serr == nil {
		t.Error("the run directory was created for a refused run")
	}
	if _, err := Run(context.Background(), Options{Config: cfg, Out: dir, MemoryLimit: &sysmem.Limit{Bytes: est.Peak * 2, Source: "test"}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("estimate %v", est)
}

// TestReliabilityResumeRefusesForeignCheckpoint: a checkpoint copied in
// from another run with the same shapes (another seed) is refused on
// resume with the differing key named, not silently continued.
func TestReliabilityResumeRefusesForeignCheckpoint(t *testing.T) {
	cfg := smallConfig()
	other := cfg
	other.Train.Seed = 2
	a, b := t.TempDir(), t.TempDir()
	run(t, other, a, false)
	ctx, cancel := context.WithCancel(context.Background())
	Run(ctx, Options{Config: cfg, Out: b, Reporter: &cancelAt{step: 8, cancel: cancel}})
	// The other run's step-20 checkpoint lands in b as its newest.
	data, err := os.ReadFile(filepath.Join(a, rundir.CheckpointsDir, checkpoint.Name(20)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, rundir.CheckpointsDir, checkpoint.Name(20)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{Config: cfg, Out: b, Resume: true})
	if err == nil || !strings.Contains(err.Error(), "step-20.safetensors") || !strings.Contains(err.Error(), "train.seed") {
		t.Fatalf("err = %v, want a refusal naming the checkpoint and train.seed", err)
	}
	if _, serr := os.Stat(filepath.Join(b, rundir.DoneFile)); serr == nil {
		t.Error("DONE written after resuming from another run's checkpoint")
	}
}

// TestReliabilityResumeSteps: changing train.steps on --resume is either
// exact or refused, and said clearly.
func TestReliabilityResumeSteps(t *testing.T) {
	cfg := smallConfig() // 40 steps, cosine schedule
	t.Run("fewer steps than the newest checkpoint", func(t *testing.T) {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		Run(ctx, Options{Config: cfg, Out: dir, Reporter: &cancelAt{step: 30, cancel: cancel}})
		c := cfg
		c.Train.Steps = 10
		_, err := Run(context.Background(), Options{Config: c, Out: dir, Resume: true})
		if err == nil || !strings.Contains(err.Error(), "step 30") || !strings.Contains(err.Error(), "train.steps") {
			t.Fatalf("err = %v", err)
		}
		if _, serr := os.Stat(filepath.Join(dir, rundir.DoneFile)); serr == nil {
			t.Error("DONE written although train.steps is behind the checkpoint")
		}
	})
	t.Run("more steps under a cosine schedule", func(t *testing.T) {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		Run(ctx, Options{Config: cfg, Out: dir, Reporter: &cancelAt{step: 20, cancel: cancel}})
		c := cfg
		c.Train.Steps = 80
		_, err := Run(context.Background(), Options{Config: c, Out: dir, Resume: true})
		if err == nil || !strings.Contains(err.Error(), "learning-rate schedule") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("more steps after DONE under a cosine schedule", func(t *testing.T) {
		dir := t.TempDir()
		run(t, cfg, dir, false)
		c := cfg
		c.Train.Steps = 80
		_, err := Run(context.Background(), Options{Config: c, Out: dir, Resume: true})
		if err == nil || !strings.Contains(err.Error(), "finished") || !strings.Contains(err.Error(), "learning-rate schedule") {
			t.Fatalf("err = %v, want a refusal: the finished run cannot grow under its schedule", err)
		}
	})
	t.Run("fewer steps after DONE", func(t *testing.T) {
		dir := t.TempDir()
		run(t, cfg, dir, false)
		c := cfg
		c.Train.Steps = 10
		_, err := Run(context.Background(), Options{Config: c, Out: dir, Resume: true})
		if err == nil || !strings.Contains(err.Error(), "finished at step 40") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("more steps after DONE under a constant schedule", func(t *testing.T) {
		// Constant LR with fixed warmup steps: the first 40 steps are the
		// same in a 40- and an 80-step run, so extending is exact.
		c := cfg
		c.Optim.Schedule, c.Optim.WarmupSteps = "constant", 5
		short, ref := t.TempDir(), t.TempDir()
		run(t, c, short, false)
		long := c
		long.Train.Steps = 80
		res := run(t, long, short, true)
		if res.WasDone || res.Trained != 40 {
			t.Errorf("extension: %+v, want 40 steps trained", res)
		}
		run(t, long, ref, false)
		sameWeights(t, weights(t, ref, 80), weights(t, short, 80))
		sameLines(t, losses(t, ref), losses(t, short))
	})
	t.Run("nothing left to train", func(t *testing.T) {
		// Killed after the final checkpoint, before DONE.
		dir := t.TempDir()
		run(t, cfg, dir, false)
		os.Remove(filepath.Join(dir, rundir.DoneFile))
		res := run(t, cfg, dir, true)
		if res.Trained != 0 || res.Steps != 40 || res.FinalLoss == 0 {
			t.Errorf("result %+v: want 0 trained, 40 steps and the logged final loss", res)
		}
		if _, err := os.Stat(filepath.Join(dir, rundir.DoneFile)); err != nil {
			t.Error("DONE not written")
		}
	})
}

// TestReliabilityResumeRemovesStaleTemps: the temporary file of a
// checkpoint write killed mid-way is removed on resume, with a message.
func TestReliabilityResumeRemovesStaleTemps(t *testing.T) {
	cfg := smallConfig()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	Run(ctx, Options{Config: cfg, Out: dir, Reporter: &cancelAt{step: 10, cancel: cancel}})
	tmp := filepath.Join(dir, rundir.CheckpointsDir, ".step-20.safetensors.tmp-123456")
	if err := os.WriteFile(tmp, make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	if _, err := Run(context.Background(), Options{Config: cfg, Out: dir, Resume: true, Reporter: rec}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); err == nil {
		t.Error("stale temporary checkpoint left in place")
	}
	if !strings.Contains(rec.events, tmp) {
		t.Errorf("no message names the removed file:\n%s", rec.events)
	}
}
