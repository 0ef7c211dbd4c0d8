// Package train is the training loop: batches from a data.Source, forward,
// backward, clipping, AdamW, held-out loss, metrics.jsonl, checkpoints on
// Pythia's schedule, and resumption that reaches bit-identical weights.
//
// It writes the run directory through package rundir, holding the run's
// trainer lock throughout: config.json (the resolved config and
// rundir.Info), tokenizer.json, metrics.jsonl,
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
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"emlab/internal/checkpoint"
	"emlab/internal/config"
	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/optim"
	"emlab/internal/rundir"
	"emlab/internal/sysmem"
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
	// MemoryLimit, when set, refuses (with ErrTooBig) a run whose
	// TrainMemory estimate exceeds it, before anything is allocated or
	// written.
	MemoryLimit *sysmem.Limit
	// Sources overrides the data sources (tests); nil means build them
	// from Config.Data.
	Sources func(cfg config.Config) (train, eval data.Source, err error)
	// KeepIgnoredRows computes the model's every row, also those whose
	// target is ignored. By default the training loop, which reads only
	// the loss and the gradients, lets a model skip them
	// (nn.IgnoredRowSkipper): the same bits, less work. For checking that.
	KeepIgnoredRows bool
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

// ErrNonFinite is wrapped by the error returned when the run diverges: the
// loss, the held-out loss or a weight becomes NaN or ±Inf. Nothing
// non-finite is ever saved, so the checkpoint the error names as the last
// good one is finite.
var ErrNonFinite = errors.New("training diverged (non-finite values)")

// Result summarizes a finished (or already finished) run.
type Result struct {
	Steps     int
	FinalLoss float64
	EvalLoss  float64
	Trained   int  // optimizer steps taken by this call (0 when nothing was left)
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
	fits := func(cfg config.Config) error {
		if opts.MemoryLimit == nil {
			return nil
		}
		return TrainMemory(cfg).Fits(*opts.MemoryLimit)
	}
	if err := fits(cfg); err != nil {
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
	// A start that fails before config.json is written (data that does not
	// load, a model that does not fit) removes the directories it made,
	// so no empty run directory is left behind; a directory that existed
	// before is never removed, and nothing holding files is.
	created := missingDirs(filepath.Join(out, rundir.CheckpointsDir))
	started := false
	defer func() {
		if !started {
			removeEmpty(out, created)
		}
	}()
	if err := os.MkdirAll(filepath.Join(out, rundir.CheckpointsDir), 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	// One trainer per run directory: two would interleave metrics lines
	// and checkpoints. The second is refused at once, naming the first.
	lk, err := rundir.LockTrain(out)
	if err != nil {
		var held *rundir.HeldError
		if errors.As(err, &held) {
			return nil, fmt.Errorf("%s is being trained by another process: %w; wait for it to end or choose another --out", out, err)
		}
		return nil, err
	}
	defer lk.Release()

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
	if err := fits(cfg); err != nil { // the data may have set a larger vocabulary
		return nil, err
	}
	if opts.MemoryLimit != nil {
		m := TrainMemory(cfg)
		rep.Event(fmt.Sprintf("estimated peak memory %s of %s; %.3g training FLOPs", sysmem.Bytes(m.Peak), sysmem.Bytes(opts.MemoryLimit.Bytes), m.FLOPs))
	}

	model, err := nn.New(cfg.Model, data.RNG(cfg.Train.Seed, "init"))
	if err != nil {
		return nil, err
	}
	if s, ok := model.(nn.IgnoredRowSkipper); ok && !opts.KeepIgnoredRows {
		// Only the losses and the gradients of this model are read.
		s.SetSkipIgnored(true)
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
		var old config.Config
		if err := json.Unmarshal(prev, &old); err != nil {
			return nil, fmt.Errorf("resume %s: %s: %w", out, rundir.ConfigFile, err)
		}
		if diff := configDiff(old, cfg); len(diff) > 0 {
			return nil, fmt.Errorf("resume %s: the configuration differs from the one the run was started with (%s): %s; use another --out",
				out, rundir.ConfigFile, strings.Join(diff, "; "))
		}
		oldSteps, steps := old.Train.Steps, cfg.Train.Steps
		if rundir.IsDone(out) {
			switch {
			case steps == oldSteps:
				res.WasDone, res.Steps = true, oldSteps
				if lines, _ := rundir.ReadMetrics(out); len(lines) > 0 && !math.IsNaN(lines[len(lines)-1].Loss) {
					res.FinalLoss = lines[len(lines)-1].Loss
				}
				rep.Event(fmt.Sprintf("%s is already finished (%d steps)", out, oldSteps))
				return res, nil
			case steps < oldSteps:
				return nil, fmt.Errorf("resume %s: the run finished at step %d; train.steps=%d is fewer (a finished run does not shrink): use another --out",
					out, oldSteps, steps)
			}
			if s, changed := scheduleChange(cfg.Optim, oldSteps, steps, oldSteps); changed {
				return nil, fmt.Errorf("resume %s: the run finished at step %d; growing it to train.steps=%d would not match a %d-step run: %s; train a new run in another --out",
					out, oldSteps, steps, steps, scheduleWhy(cfg.Optim, oldSteps, steps, s))
			}
			rep.Event(fmt.Sprintf("extending the finished run from %d to %d steps (the learning rates of the steps taken are unchanged)", oldSteps, steps))
			if err := os.Remove(rundir.Path(out, rundir.DoneFile)); err != nil {
				return nil, fmt.Errorf("resume %s: %w", out, err)
			}
		}
		removeTemps(ckptDir, rep)
		m, path, skipped, found := checkpoint.LoadLatest(ckptDir, ps, opt)
		for _, e := range skipped {
			rep.Event(fmt.Sprintf("skipping unusable checkpoint: %v", e))
		}
		if found {
			diff, err := checkpointDiff(m.Config, cfg)
			if err != nil {
				return nil, fmt.Errorf("resume %s: checkpoint %s: %w", out, path, err)
			}
			if len(diff) > 0 {
				return nil, fmt.Errorf("resume %s: checkpoint %s was written by another run (%s); move it out of %s or use another --out",
					out, path, strings.Join(diff, "; "), ckptDir)
			}
			if m.Step > steps {
				return nil, fmt.Errorf("resume %s: the newest checkpoint %s is at step %d, past train.steps=%d (the run was started with %d): resume with train.steps=%d or use another --out",
					out, path, m.Step, steps, oldSteps, oldSteps)
			}
			if s, changed := scheduleChange(cfg.Optim, oldSteps, steps, m.Step); changed {
				return nil, fmt.Errorf("resume %s: train.steps=%d differs from the %d the run was started with, and %s; resume with train.steps=%d or use another --out",
					out, steps, oldSteps, scheduleWhy(cfg.Optim, oldSteps, steps, s), oldSteps)
			}
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
		if start == steps {
			// Killed after the final checkpoint, before DONE: nothing to
			// train; report the losses logged at that step.
			if lines, _ := rundir.ReadMetrics(out); len(lines) > 0 && lines[len(lines)-1].Step == start {
				res.FinalLoss, res.EvalLoss = lines[len(lines)-1].Loss, lines[len(lines)-1].EvalLoss
			}
		}
	} else if !errors.Is(err, rundir.ErrNotRun) {
		return nil, err
	}
	if err := rundir.WriteConfig(out, cfg, info); err != nil {
		return nil, err
	}
	started = true
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
	// evalLoss is the mean held-out loss over eval_batches batches (NaN
	// with none). It checks ctx between batches: eval_batches may be large.
	evalLoss := func(step int) (float64, error) {
		n := cfg.Train.EvalBatches
		if n == 0 {
			return math.NaN(), nil
		}
		var s float64
		for i := 0; i < n; i++ {
			if err := ctx.Err(); err != nil {
				return 0, fmt.Errorf("stopped while measuring the held-out loss at step %d (resume with --resume): %w", step, err)
			}
			evalSrc.Batch(int64(i), B, T, tok, tgt)
			s += float64(model.Forward(tok, tgt, B, T))
		}
		return s / float64(n), nil
	}
	lastCkpt := ""
	saveCkpt := func(step int) error {
		if name, v, bad := checkpoint.NonFinite(ps, opt); bad {
			return fmt.Errorf("step %d: %w: tensor %q holds %v, so no checkpoint is saved; last good checkpoint: %s",
				step, ErrNonFinite, name, v, lastCkpt)
		}
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
		el, err := evalLoss(0)
		if err != nil {
			return nil, err
		}
		m := rundir.Metrics{Step: 0, Loss: math.NaN(), EvalLoss: el, LR: cfg.Optim.LRAt(0, cfg.Train.Steps)}
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
			return nil, fmt.Errorf("step %d: %w: the loss is %v; last good checkpoint: %s", done, ErrNonFinite, loss, lastCkpt)
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
				el, err := evalLoss(done)
				if err != nil {
					return nil, err
				}
				if math.IsInf(el, 0) || math.IsNaN(el) && cfg.Train.EvalBatches > 0 {
					return nil, fmt.Errorf("step %d: %w: the held-out loss is %v, so no checkpoint is saved; last good checkpoint: %s",
						done, ErrNonFinite, el, lastCkpt)
				}
				m.EvalLoss, st.EvalLoss = el, el
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
	res.Steps, res.Trained = steps, steps-start
	if err := rundir.MarkDone(out, version.String()); err != nil {
		return nil, err
	}
	return res, nil
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

// missingDirs lists dir and those of its ancestors that do not exist yet,
// deepest first: the directories os.MkdirAll(dir) would create.
func missingDirs(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return out
		}
		out = append(out, d)
		if parent := filepath.Dir(d); parent == d {
			return out
		}
	}
}

// removeEmpty removes the trainer's lock file from out, when out is one of
// the created directories, then each created directory, deepest first,
// if it is empty (os.Remove leaves a directory with files alone).
func removeEmpty(out string, created []string) {
	if len(created) == 0 {
		return
	}
	for _, d := range created {
		if d == filepath.Clean(out) {
			os.Remove(rundir.Path(out, rundir.TrainLockFile))
		}
	}
	for _, d := range created {
		os.Remove(d)
	}
}
