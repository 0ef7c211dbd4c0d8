// Package train is the training loop: batches from a data.Source, forward,
// backward, clipping, AdamW, held-out loss, metrics.jsonl, checkpoints on
// Pythia's schedule, and resumption that reaches bit-identical weights.
//
// It writes the run directory through package rundir: config.json (the
// resolved config and rundir.Info), tokenizer.json, metrics.jsonl,
// checkpoints/step-<n>.safetensors and, last, DONE.
//
// What it deliberately does not do: evaluate abilities or probe models
// (packages eval and probe read the checkpoints), or print (progress goes
// to a Reporter).
package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"emlab/internal/checkpoint"
	"emlab/internal/config"
	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/optim"
	"emlab/internal/rundir"
	"emlab/internal/tasks"
	"emlab/internal/tensor"
	"emlab/internal/version"
)

// Options says what to train and where.
type Options struct {
	Config   config.Config
	Out      string   // run directory
	Resume   bool     // continue from the newest valid checkpoint in Out
	Command  []string // the command line, recorded in config.json
	Reporter Reporter // progress; nil for none
	// Sources overrides the data sources (tests); nil means build them
	// from Config.Data.
	Sources func(cfg config.Config) (train, eval data.Source, err error)
}

// Status is the state after one optimizer step, for progress displays.
type Status struct {
	Step, Steps  int
	Loss         float64
	EvalLoss     float64 // NaN when not measured at this step
	LR, GradNorm float64
	Tokens       int64
	TokensPerSec float64
	Elapsed      time.Duration // training time of this process
	ETA          time.Duration
}

// Reporter receives progress. Implementations must be cheap: Step is called
// after every optimizer step.
type Reporter interface {
	Step(s Status)
	Event(msg string)
}

// ErrNonFinite is wrapped by the error returned when the loss becomes NaN or Inf.
var ErrNonFinite = errors.New("non-finite loss")

// Result summarizes a finished (or already finished) run.
type Result struct {
	Steps     int
	FinalLoss float64
	EvalLoss  float64
	Resumed   bool // continued from a checkpoint
	WasDone   bool // the run directory already held a finished run
}

// Sources builds the training and held-out sources for cfg. The held-out
// stream draws fresh documents from the same distribution (label "eval");
// held-out evaluation items are the eval package's business.
func Sources(cfg config.Config) (train, eval data.Source, err error) {
	switch cfg.Data.Source {
	case "synthetic":
		tr, err := data.NewSynthetic(cfg.Train.Seed, cfg.Model.DVocab, cfg.Data.Branch, "train")
		if err != nil {
			return nil, nil, err
		}
		ev, err := data.NewSynthetic(cfg.Train.Seed, cfg.Model.DVocab, cfg.Data.Branch, "eval")
		return tr, ev, err
	case "tasks":
		mk := func(label string) (*tasks.Stream, error) {
			return cfg.Data.Tasks.Stream(data.MixtureConfig{Seed: cfg.Train.Seed, Label: label, NCtx: cfg.T(), Slot: cfg.Data.Slot})
		}
		tr, err := mk("train")
		if err != nil {
			return nil, nil, fmt.Errorf("data.tasks: %w", err)
		}
		ev, err := mk("eval")
		if err != nil {
			return nil, nil, fmt.Errorf("data.tasks: %w", err)
		}
		return tr, ev, nil
	case "text":
		tr, ev, tok, err := data.TextSources(textConfig(cfg))
		if err != nil {
			return nil, nil, fmt.Errorf("data.corpus: %w", err)
		}
		return withTokenizer{tr, tok}, ev, nil
	}
	return nil, nil, fmt.Errorf("data.source: unknown source %q", cfg.Data.Source)
}

// HeldoutSource builds the held-out stream of cfg alone, the one Sources
// returns as eval, for a run that has trained: tok is the run's tokenizer
// (tokenizer.json; nil for the synthetic stream), so a text corpus is not
// tokenized for training again nor its BPE retrained.
func HeldoutSource(cfg config.Config, tok data.Tokenizer) (data.Source, error) {
	switch cfg.Data.Source {
	case "synthetic":
		return data.NewSynthetic(cfg.Train.Seed, cfg.Model.DVocab, cfg.Data.Branch, "eval")
	case "tasks":
		s, err := cfg.Data.Tasks.Stream(data.MixtureConfig{Seed: cfg.Train.Seed, Label: "eval", NCtx: cfg.T(), Slot: cfg.Data.Slot})
		if err != nil {
			return nil, fmt.Errorf("data.tasks: %w", err)
		}
		return s, nil
	case "text":
		if tok == nil {
			return nil, fmt.Errorf("data.corpus: the run has no %s", rundir.TokenizerFile)
		}
		s, err := data.TextHeldout(textConfig(cfg), tok)
		if err != nil {
			return nil, fmt.Errorf("data.corpus: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("data.source: unknown source %q", cfg.Data.Source)
}

// Vocab is the vocabulary size training will give the model: fixed by the
// mixture's tokenizer for task runs, by the corpus' tokenizer for text
// runs (which trains it: as costly as starting the run), and
// model.d_vocab for the synthetic stream.
func Vocab(cfg config.Config) (int, error) {
	switch cfg.Data.Source {
	case "tasks":
		tok, err := cfg.Data.Tasks.Tokenizer()
		if err != nil {
			return 0, fmt.Errorf("data.tasks: %w", err)
		}
		return tok.Vocab(), nil
	case "text":
		src, _, err := Sources(cfg)
		if err != nil {
			return 0, err
		}
		return src.Vocab(), nil
	}
	return cfg.Model.DVocab, nil
}

func textConfig(cfg config.Config) data.TextConfig {
	return data.TextConfig{Path: cfg.Data.Corpus, Field: cfg.Data.CorpusField, Tokenizer: cfg.Data.Tokenizer,
		BPEVocab: cfg.Data.BPEVocab, Heldout: cfg.Data.Heldout, Seed: cfg.Train.Seed}
}

// Tokenizer returns the tokenizer a source encodes with, or nil for
// sources that have none (the synthetic stream emits ids directly).
func Tokenizer(src data.Source) data.Tokenizer {
	if s, ok := src.(interface{ Tokenizer() data.Tokenizer }); ok {
		return s.Tokenizer()
	}
	return nil
}

// withTokenizer attaches the tokenizer to a source that does not carry it.
type withTokenizer struct {
	data.Source
	tok data.Tokenizer
}

func (w withTokenizer) Tokenizer() data.Tokenizer { return w.tok }

// ResolveVocab sets model.d_vocab to vocab, the size of the data's
// vocabulary, for a task mixture or a corpus, whose tokenizer fixes it; the
// synthetic stream keeps the configured size, which must hold vocab.
func ResolveVocab(cfg *config.Config, vocab int) error {
	if cfg.Data.Source == "tasks" || cfg.Data.Source == "text" {
		cfg.Model.DVocab = vocab
	}
	if vocab > cfg.Model.DVocab {
		return fmt.Errorf("model.d_vocab: %d is smaller than the data's vocabulary %d", cfg.Model.DVocab, vocab)
	}
	return nil
}

// NonEmbedding counts parameters outside the token and position embeddings
// (Kaplan et al. 2020's N).
func NonEmbedding(ps *nn.ParamSet) int {
	n := ps.Count()
	for _, name := range []string{"wte.weight", "wpe.weight"} {
		if p, ok := ps.Lookup(name); ok {
			n -= p.Size
		}
	}
	return n
}

// Run trains according to opts. Cancelling ctx stops between steps with the
// context's error; everything written so far stays valid and --resume
// continues from the newest checkpoint.
func Run(ctx context.Context, opts Options) (*Result, error) {
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep := opts.Reporter
	if rep == nil {
		rep = nopReporter{}
	}
	threads := cfg.Train.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	tensor.SetThreads(threads)

	out := opts.Out
	if out == "" {
		return nil, errors.New("no output directory (--out)")
	}

	mkSources := opts.Sources
	if mkSources == nil {
		mkSources = Sources
	}
	trainSrc, evalSrc, err := mkSources(cfg)
	if err != nil {
		return nil, err
	}
	if err := ResolveVocab(&cfg, trainSrc.Vocab()); err != nil {
		return nil, err
	}

	model, err := nn.New(cfg.Model, data.RNG(cfg.Train.Seed, "init"))
	if err != nil {
		return nil, err
	}
	ps := model.Params()
	opt := optim.NewAdamW(cfg.Optim, ps)
	B, T := cfg.Train.BatchSize, cfg.T()
	flopsPerToken := model.FLOPsPerToken(T)

	info := rundir.Info{Params: int64(ps.Count()), NonEmbeddingParams: int64(NonEmbedding(ps)), Seed: cfg.Train.Seed,
		FLOPsPerToken: flopsPerToken, TokensPerStep: int64(B * T), CodeVersion: version.String(), Command: opts.Command}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rundir.ConfigFile, err)
	}

	ckptDir := filepath.Join(out, rundir.CheckpointsDir)
	start := 0
	var tokens int64
	var secondsBefore float64
	res := &Result{}

	if prev, err := rundir.ReadConfigJSON(out); err == nil {
		if !opts.Resume {
			return nil, fmt.Errorf("%s already holds a run (%s exists): pass --resume to continue it, or choose another --out", out, rundir.ConfigFile)
		}
		if err := sameRun(prev, cfg); err != nil {
			return nil, fmt.Errorf("resume %s: %w", out, err)
		}
		if rundir.IsDone(out) {
			lines, _ := rundir.ReadMetrics(out)
			res.WasDone, res.Steps = true, cfg.Train.Steps
			if n := len(lines); n > 0 && !math.IsNaN(lines[n-1].Loss) {
				res.FinalLoss = lines[n-1].Loss
			}
			rep.Event(fmt.Sprintf("%s is already finished", out))
			return res, nil
		}
		m, path, skipped, found := checkpoint.LoadLatest(ckptDir, ps, opt)
		for _, e := range skipped {
			rep.Event(fmt.Sprintf("skipping unusable checkpoint: %v", e))
		}
		if found {
			start, tokens = m.Step, m.Tokens
			res.Resumed = true
			rep.Event(fmt.Sprintf("resuming from %s (step %d)", path, m.Step))
		} else {
			rep.Event("no usable checkpoint: starting from scratch")
		}
		secondsBefore, err = truncateMetrics(out, start, found)
		if err != nil {
			return nil, err
		}
	} else if !errors.Is(err, rundir.ErrNotRun) {
		return nil, err
	}
	// The directory is made only now, after everything that can reject the
	// config or its data, so a failed start leaves nothing behind; a
	// directory that existed before is never removed.
	if err := os.MkdirAll(ckptDir, 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	if err := rundir.WriteConfig(out, cfg, info); err != nil {
		return nil, err
	}
	if tok := Tokenizer(trainSrc); tok != nil {
		b, err := data.MarshalTokenizer(tok)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if err := rundir.WriteTokenizer(out, b); err != nil {
			return nil, err
		}
	}

	tok := make([]int32, B*T)
	tgt := make([]int32, B*T)
	evalLoss := func() float64 {
		n := cfg.Train.EvalBatches
		if n == 0 {
			return math.NaN()
		}
		var s float64
		for i := 0; i < n; i++ {
			evalSrc.Batch(int64(i), B, T, tok, tgt)
			s += float64(model.Forward(tok, tgt, B, T))
		}
		return s / float64(n)
	}
	lastCkpt := ""
	saveCkpt := func(step int) error {
		path, err := checkpoint.Save(ckptDir, checkpoint.Meta{Step: step, Tokens: tokens, OptStep: opt.Step,
			Config: cfgJSON, CodeVersion: info.CodeVersion}, ps, opt)
		if err != nil {
			return err
		}
		lastCkpt = path
		if !cfg.Train.KeepCheckpoints {
			pruneCheckpoints(ckptDir, step)
		}
		return nil
	}
	began := time.Now()
	if start == 0 {
		m := rundir.Metrics{Step: 0, Loss: math.NaN(), EvalLoss: evalLoss(), LR: cfg.Optim.LRAt(0, cfg.Train.Steps)}
		if err := rundir.AppendMetrics(out, m); err != nil {
			return nil, err
		}
		if err := saveCkpt(0); err != nil {
			return nil, err
		}
	} else {
		lastCkpt = filepath.Join(ckptDir, checkpoint.Name(start))
	}

	steps := cfg.Train.Steps
	for s := start; s < steps; s++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("stopped at step %d (resume with --resume): %w", s, err)
		}
		trainSrc.Batch(int64(s), B, T, tok, tgt)
		ps.ZeroGrad()
		loss := float64(model.Forward(tok, tgt, B, T))
		done := s + 1
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("step %d: %w (%v); last good checkpoint: %s", done, ErrNonFinite, loss, lastCkpt)
		}
		model.Backward()
		norm := optim.ClipGradNorm(ps, cfg.Optim.Clip)
		lr := cfg.Optim.LRAt(s, steps)
		opt.Update(lr)
		tokens += int64(B * T)

		isCkpt := cfg.Train.IsCheckpoint(done)
		st := Status{Step: done, Steps: steps, Loss: loss, EvalLoss: math.NaN(), LR: lr, GradNorm: norm, Tokens: tokens}
		if done%cfg.Train.LogEvery == 0 || isCkpt {
			m := rundir.Metrics{Step: done, Tokens: float64(tokens), FLOPs: float64(tokens) * flopsPerToken, Loss: loss, EvalLoss: math.NaN(), LR: lr, GradNorm: norm}
			if isCkpt {
				m.EvalLoss = evalLoss()
				st.EvalLoss = m.EvalLoss
			}
			m.Seconds = secondsBefore + time.Since(began).Seconds()
			if err := rundir.AppendMetrics(out, m); err != nil {
				return nil, err
			}
		}
		if isCkpt {
			if err := saveCkpt(done); err != nil {
				return nil, err
			}
		}
		st.Elapsed = time.Since(began)
		if sec := st.Elapsed.Seconds(); sec > 0 {
			st.TokensPerSec = float64(int64(done-start)*int64(B*T)) / sec
			st.ETA = time.Duration(float64(steps-done) / float64(done-start) * float64(st.Elapsed))
		}
		rep.Step(st)
		res.FinalLoss, res.EvalLoss = loss, st.EvalLoss
	}
	res.Steps = steps
	if err := rundir.MarkDone(out, version.String()); err != nil {
		return nil, err
	}
	return res, nil
}

// sameRun checks that a run directory's config.json describes the same
// run as cfg, apart from settings that do not change results (threads) or
// that may grow (steps).
func sameRun(prev []byte, cfg config.Config) error {
	var old config.Config
	if err := json.Unmarshal(prev, &old); err != nil {
		return fmt.Errorf("%s: %w", rundir.ConfigFile, err)
	}
	a, b := old, cfg
	a.Train.Threads, b.Train.Threads = 0, 0
	a.Train.Steps, b.Train.Steps = 0, 0
	if !a.Equal(b) {
		return fmt.Errorf("the configuration differs from the one the run was started with (%s); use another --out", rundir.ConfigFile)
	}
	return nil
}

// truncateMetrics drops metrics lines after the resume step (they will be
// written again), keeps the rest, and returns the training seconds so far.
// A partial last line from a crash is dropped too.
func truncateMetrics(dir string, step int, keep bool) (float64, error) {
	lines, err := rundir.ReadMetrics(dir)
	if err != nil {
		return 0, err
	}
	var kept []rundir.Metrics
	var secs float64
	for _, m := range lines {
		if !keep || m.Step > step {
			continue
		}
		kept = append(kept, m)
		secs = m.Seconds
	}
	return secs, rundir.RewriteMetrics(dir, kept)
}

// pruneCheckpoints keeps the newest two checkpoints (the newest may be the
// one being resumed from; the one before is the fallback if it is damaged).
func pruneCheckpoints(dir string, newest int) {
	steps, err := checkpoint.Steps(dir)
	if err != nil || len(steps) <= 2 {
		return
	}
	for _, s := range steps[:len(steps)-2] {
		if s < newest {
			os.Remove(filepath.Join(dir, checkpoint.Name(s)))
		}
	}
}

type nopReporter struct{}

func (nopReporter) Step(Status)  {}
func (nopReporter) Event(string) {}
