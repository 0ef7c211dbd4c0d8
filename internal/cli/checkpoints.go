package cli

// checkpoints.go: what eval and probe work on. --run names a run directory
// of emlab's own, or models trained elsewhere in Hugging Face's layout:
// one model directory (one checkpoint), a folder of step<N>/ model
// directories (one run with a checkpoint per step, as Pythia's revisions
// are laid out), or a folder of either (a ladder of sizes, one run each).
// Models are loaded one at a time, and a trajectory's checkpoints stream
// into the buffers of the first (hf.LoadWeights), so memory holds one
// model whatever the number of checkpoints.
//
// Results of a model trained elsewhere go into its directory, or under
// --out, through package rundir as for any run, beside rundir.ExternalFile,
// which records what the analysis needs (parameter counts, shape,
// checkpoints, the tasks scored).

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"

	"emlab/internal/data"
	"emlab/internal/hf"
	"emlab/internal/nn"
	"emlab/internal/rundir"
	"emlab/internal/tasks"
	"emlab/internal/train"
	"emlab/internal/version"
)

// target is one run's checkpoints.
type target interface {
	// dir is where the results go.
	dir() string
	tokenizer() data.Tokenizer
	steps() ([]int, error)
	// load returns a model holding step's weights: the first call builds
	// it, later ones load into the same buffers.
	load(step int) (nn.Model, error)
	// mixture is what is scored and probed when no tasks are given (zero
	// when there is none).
	mixture() tasks.Mixture
	// external is true for a model trained elsewhere.
	external() bool
	// nctx is the models' context length.
	nctx() int
	// memory estimates a command's peak on one of the models, from its
	// shape alone (before any weights are read), running forward passes
	// of batch sequences of T tokens with every layer's activations kept
	// (keep) or not, and a decoder for batch sequences of decodeLen tokens
	// when decodeLen > 0.
	memory(batch, T int, keep bool, decodeLen int) train.Memory
}

// defaultProbeLen is the probe sequence length for a model trained
// elsewhere, whose context (1024, 2048) would make the pattern probes'
// [B, heads, T, T] attention far larger than their statistics need.
const defaultProbeLen = 128

// externalBatch is the default batch for a model trained elsewhere: its
// vocabulary (50257 tokens for GPT-2) makes a batch's logits
// B·T·V·4 bytes, 260 MB for 64 sequences of 20 tokens, and its probe
// windows longer.
const externalBatch = 8

// batchFor is the batch a command uses on tg: --batch when given, else
// the command's default for an emlab run and externalBatch for a model
// trained elsewhere.
func batchFor(tg target, batch int, given bool) int {
	if tg.external() && !given {
		return externalBatch
	}
	return batch
}

// flagGiven reports whether the flag was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// openTargets opens --run: one target, or a ladder's rungs in name
// order. out, when set, is where results of models trained elsewhere go
// (a ladder's rungs each in a subdirectory of it).
func openTargets(run, out string, command []string) ([]target, error) {
	fi, err := os.Stat(run)
	if err != nil {
		return nil, fmt.Errorf("--run: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("--run %s is not a directory", run)
	}
	if tg, ok, err := openOne(run, out, command); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return []target{tg}, nil
	}
	if rundir.HasConfig(run) {
		if out != "" {
			return nil, errors.New("--out is for models trained elsewhere: an emlab run keeps its results in its directory")
		}
		rd, err := train.OpenRun(run)
		if err != nil {
			return nil, err
		}
		return []target{&emlabRun{rd: rd}}, nil
	}
	// A ladder: each subdirectory that is a model, a trajectory or a
	// recorded one is a rung.
	entries, err := os.ReadDir(run)
	if err != nil {
		return nil, err
	}
	var rungs []target
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sub, res := filepath.Join(run, e.Name()), ""
		if out != "" {
			res = filepath.Join(out, e.Name())
		}
		tg, ok, err := openOne(sub, res, command)
		if err != nil {
			return nil, err
		}
		if ok {
			rungs = append(rungs, tg)
		}
	}
	if len(rungs) == 0 {
		return nil, fmt.Errorf("%s is %w: no %s, no Hugging Face model directory (a %s with model_type), no step<N>/ model directories, and no subdirectory that is one of these",
			run, rundir.ErrNotRun, rundir.ConfigFile, hf.ConfigFile)
	}
	return rungs, nil
}

// eachTarget runs do on every target in order, naming each one on stdout
// when there are several, and drops a target once it is done so that the
// next rung is loaded only after this one is garbage.
func eachTarget(targets []target, stdout io.Writer, do func(target) error) error {
	for i, tg := range targets {
		if len(targets) > 1 {
			fmt.Fprintf(stdout, "%s%s\n", map[bool]string{true: "\n"}[i > 0], tg.dir())
		}
		if err := do(tg); err != nil {
			return err
		}
		targets[i] = nil
		runtime.GC()
	}
	return nil
}

// openOne opens dir as a model trained elsewhere: a model directory, a
// folder of step<N>/ ones, or a results directory that recorded one. ok
// is false when dir is none of these.
func openOne(dir, out string, command []string) (target, bool, error) {
	res := dir
	if out != "" {
		res = out
	}
	var ckpts []hf.Checkpoint
	switch {
	case hf.IsModel(dir):
		step, _ := hf.StepOf(dir)
		ckpts = []hf.Checkpoint{{Step: step, Dir: dir}}
	case hasSteps(dir):
		var err error
		if ckpts, err = hf.Steps(dir); err != nil {
			return nil, false, err
		}
	case rundir.HasExternal(dir):
		// A results directory written with --out: its record says where
		// the checkpoints are.
		e, err := rundir.ReadExternal(dir)
		if err != nil {
			return nil, false, err
		}
		for _, c := range e.Checkpoints {
			d := c.Dir
			if !filepath.IsAbs(d) {
				d = filepath.Join(dir, d)
			}
			ckpts = append(ckpts, hf.Checkpoint{Step: c.Step, Dir: d})
		}
		if len(ckpts) == 0 {
			return nil, false, fmt.Errorf("%s lists no checkpoints", rundir.Path(dir, rundir.ExternalFile))
		}
		if out != "" {
			return nil, false, fmt.Errorf("%s already holds results (%s): evaluate it in place, without --out", dir, rundir.ExternalFile)
		}
	default:
		return nil, false, nil
	}
	x := &externalRun{res: res, ckpts: ckpts, command: command}
	if err := x.open(); err != nil {
		return nil, false, err
	}
	return x, true, nil
}

func hasSteps(dir string) bool {
	_, err := hf.Steps(dir)
	return err == nil
}

// emlabRun is a run directory emlab trained.
type emlabRun struct {
	rd *train.RunDir
	m  nn.Model
}

func (r *emlabRun) dir() string               { return r.rd.Dir }
func (r *emlabRun) tokenizer() data.Tokenizer { return r.rd.Tok }
func (r *emlabRun) steps() ([]int, error)     { return r.rd.Steps() }
func (r *emlabRun) external() bool            { return false }
func (r *emlabRun) nctx() int                 { return r.rd.Config.Model.NCtx }

// memory is train.InferenceMemory: emlab's models keep every activation
// (they are built for training), and their decoder holds the whole
// context.
func (r *emlabRun) memory(batch, T int, _ bool, decodeLen int) train.Memory {
	return train.InferenceMemory(r.rd.Config.Model, batch, T, decodeLen > 0)
}

func (r *emlabRun) load(step int) (nn.Model, error) {
	if r.m == nil {
		m, err := r.rd.Model(step)
		if err != nil {
			return nil, err
		}
		r.m = m
		return m, nil
	}
	return r.m, r.rd.Load(r.m, step)
}

func (r *emlabRun) mixture() tasks.Mixture {
	if r.rd.Config.Data.Source != "tasks" {
		return tasks.Mixture{}
	}
	return r.rd.Config.Data.Tasks
}

// externalRun is a model trained elsewhere: its checkpoints by step, the
// tokenizer of the first (all must have the same) and the record of what
// was scored on it.
type externalRun struct {
	res     string // results directory
	ckpts   []hf.Checkpoint
	command []string
	spec    nn.Spec
	tok     *data.ByteLevelBPE
	net     *nn.Pretrained
	rec     *rundir.External // the record read from res, nil when none
	mix     tasks.Mixture    // the tasks the record lists
}

// open reads the first checkpoint's config.json and tokenizer (no
// weights) and the record of earlier results.
func (x *externalRun) open() error {
	first := x.ckpts[0].Dir
	var err error
	if x.spec, err = hf.ReadSpec(first); err != nil {
		return err
	}
	if x.tok, err = hf.LoadTokenizer(first, x.spec); err != nil {
		return err
	}
	if rundir.HasExternal(x.res) {
		if x.rec, err = rundir.ReadExternal(x.res); err != nil {
			return err
		}
		var files tasks.Files
		if len(x.rec.Data.TaskFiles) > 0 {
			if err := json.Unmarshal(x.rec.Data.TaskFiles, &files); err != nil {
				return fmt.Errorf("%s: task_files: %w", rundir.Path(x.res, rundir.ExternalFile), err)
			}
		}
		if x.mix, err = tasks.ParseMixtureWith(x.rec.Data.Tasks, files); err != nil {
			return fmt.Errorf("%s: %w", rundir.Path(x.res, rundir.ExternalFile), err)
		}
	}
	return nil
}

func (x *externalRun) dir() string               { return x.res }
func (x *externalRun) tokenizer() data.Tokenizer { return x.tok }
func (x *externalRun) mixture() tasks.Mixture    { return x.mix }
func (x *externalRun) external() bool            { return true }
func (x *externalRun) nctx() int                 { return x.spec.NCtx }

func (x *externalRun) memory(batch, T int, keep bool, decodeLen int) train.Memory {
	return train.PretrainedMemory(x.spec, batch, T, keep, decodeLen)
}

func (x *externalRun) steps() ([]int, error) {
	out := make([]int, len(x.ckpts))
	for i, c := range x.ckpts {
		out[i] = c.Step
	}
	return out, nil
}

func (x *externalRun) load(step int) (nn.Model, error) {
	i := slices.IndexFunc(x.ckpts, func(c hf.Checkpoint) bool { return c.Step == step })
	if i < 0 {
		return nil, fmt.Errorf("%s has no checkpoint at step %d", x.res, step)
	}
	dir := x.ckpts[i].Dir
	if x.net == nil {
		net, err := hf.LoadModel(dir)
		if err != nil {
			return nil, err
		}
		if net.Spec() != x.spec {
			return nil, fmt.Errorf("%s describes another model than %s", filepath.Join(dir, hf.ConfigFile), filepath.Join(x.ckpts[0].Dir, hf.ConfigFile))
		}
		x.net = net
		return net, nil
	}
	if err := hf.SameTokenizer(x.ckpts[0].Dir, dir); err != nil {
		return nil, err
	}
	return x.net, hf.LoadWeights(x.net, dir)
}

// checkWritable makes dir and checks that a file can be created in it,
// before any model is loaded.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results directory %s: %w (give --out DIR for the results)", dir, err)
	}
	f, err := os.CreateTemp(dir, ".emlab-write-*")
	if err != nil {
		return fmt.Errorf("results directory %s is not writable (%v): give --out DIR for the results", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// record writes the run's rundir.ExternalFile: the counts and shape of the
// loaded model, its checkpoints, the tasks scored (those recorded before
// and add), and tokensPerStep when positive (else the recorded one), with
// metrics.jsonl lines at each checkpoint's tokens and FLOPs when known.
// The model must be loaded.
func (x *externalRun) record(add tasks.Mixture, tokensPerStep int64) error {
	mix, err := unionMixture(x.mix, add)
	if err != nil {
		return err
	}
	e := &rundir.External{}
	if x.rec != nil {
		*e = *x.rec
	}
	ps := x.net.Params()
	e.Params, e.NonEmbeddingParams = int64(ps.Count()), int64(train.NonEmbedding(ps))
	e.FLOPsPerToken = x.net.FLOPsPerToken(x.spec.NCtx)
	e.CodeVersion, e.Command = version.String(), x.command
	e.Model.Arch, e.Model.DModel, e.Model.NLayers, e.Model.NHeads = x.spec.Arch, x.spec.DModel, x.spec.NLayers, x.spec.NHeads
	e.Model.DVocab, e.Model.NCtx = x.spec.DVocab, x.spec.NCtx
	e.Data.Source, e.Data.Tasks, e.Data.TaskFiles = rundir.ExternalSource, mix.String(), nil
	if files := mix.Files(); len(files) > 0 {
		if e.Data.TaskFiles, err = json.Marshal(files); err != nil {
			return err
		}
	}
	if tokensPerStep > 0 {
		e.TokensPerStep = tokensPerStep
	}
	e.Checkpoints = nil
	for _, c := range x.ckpts {
		d := c.Dir
		if rel, err := filepath.Rel(x.res, d); err == nil && !strings.HasPrefix(rel, "..") {
			d = rel
		} else if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		e.Checkpoints = append(e.Checkpoints, rundir.ExternalCheckpoint{Step: c.Step, Dir: d})
		e.Train.Steps = max(e.Train.Steps, c.Step)
	}
	if err := rundir.WriteExternal(x.res, e); err != nil {
		return err
	}
	x.rec, x.mix = e, mix
	if e.TokensPerStep > 0 {
		var ms []rundir.Metrics
		for _, c := range x.ckpts {
			tok := float64(c.Step) * float64(e.TokensPerStep)
			ms = append(ms, rundir.Metrics{Step: c.Step, Tokens: tok, FLOPs: tok * e.FLOPsPerToken, Loss: math.NaN(), EvalLoss: math.NaN()})
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].Step < ms[j].Step })
		return rundir.RewriteMetrics(x.res, ms)
	}
	return nil
}

// unionMixture is a's entries followed by those of b that a lacks (by
// their call), with the task files of both (b's content where both name
// a path).
func unionMixture(a, b tasks.Mixture) (tasks.Mixture, error) {
	if b.IsZero() {
		return a, nil
	}
	if a.IsZero() {
		return b, nil
	}
	if err := b.CheckFilesAgainst(a); err != nil {
		return tasks.Mixture{}, err
	}
	ea, err := data.ParseMixSpec(a.String())
	if err != nil {
		return tasks.Mixture{}, err
	}
	eb, err := data.ParseMixSpec(b.String())
	if err != nil {
		return tasks.Mixture{}, err
	}
	seen := map[string]bool{}
	var parts []string
	for _, e := range append(ea, eb...) {
		if k := e.Call.String(); !seen[k] {
			seen[k] = true
			parts = append(parts, e.String())
		}
	}
	files := a.Files()
	if files == nil {
		files = tasks.Files{}
	}
	for p, f := range b.Files() {
		files[p] = f
	}
	return tasks.ParseMixtureWith(strings.Join(parts, ","), files)
}
