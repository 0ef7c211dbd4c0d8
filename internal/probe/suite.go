package probe

// suite.go: the named probes `emlab probe` runs, each turning one checkpoint
// into rows of probes.jsonl. Each probe says when it applies (the
// architecture, the run's tasks); inputs are drawn from Env.Seed, not the
// run seed, so every run and every step is probed on the same inputs.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/rundir"
	"emlab/internal/suggest"
	"emlab/internal/tasks"
)

// Env is what the probes may use besides the model.
type Env struct {
	Model nn.Model
	Tok   data.Tokenizer // nil for the synthetic stream
	Eval  data.Source    // the run's held-out stream (same distribution as training)
	T     int            // window length the run trained with
	Tasks []tasks.Task   // the run's task mixture (empty for the synthetic stream)
	Seed  uint64         // seed of the probe inputs (the CLI uses 0)
	Batch int            // sequences per probe batch; 0 means 64
	Items int            // items per task for item-based probes; 0 means 256
	// Ctx, when set, is checked inside the probes' batch loops: once it
	// is done a probe stops with its error. nil never stops.
	Ctx context.Context
}

// err is the context's error, or nil without a context.
func (e *Env) err() error {
	if e.Ctx == nil {
		return nil
	}
	return e.Ctx.Err()
}

// draw runs a task's item generator, stopping when the context is done
// (see tasks.Draw).
func (e *Env) draw(gen func() []tasks.Item) ([]tasks.Item, error) {
	return tasks.Draw(e.Ctx, gen)
}

func (e *Env) batch() int {
	if e.Batch > 0 {
		return e.Batch
	}
	return 64
}

func (e *Env) items() int {
	if e.Items > 0 {
		return e.Items
	}
	return 256
}

// Probe is one named probe.
type Probe struct {
	Name  string
	About string
	// Applies returns nil when the probe can run in env, or why not.
	Applies func(env *Env) error
	// Run measures the model at checkpoint step.
	Run func(env *Env, step int) ([]rundir.Probe, error)
}

// Probes lists every probe in report order.
func Probes() []Probe {
	return []Probe{
		{PrevToken, "attn[t, t−1] per head, on held-out data", needGPT, patternProbe(PrevToken, false)},
		{PrefixMatching, "induction score per head on repeated random sequences A A (Olsson et al. 2022)", needGPT, patternProbe(PrefixMatching, true)},
		{DuplicateToken, "attention to earlier copies of the current token, on A A", needGPT, patternProbe(DuplicateToken, true)},
		{AttnEntropy, "mean attention entropy per head (nats), on held-out data", needGPT, patternProbe(AttnEntropy, false)},
		{AttnDistance, "mean attention distance per head (positions), on held-out data", needGPT, patternProbe(AttnDistance, false)},
		{Copying, "OV-circuit eigenvalue copying score per head (Elhage et al. 2021)", needGPT, runCopying},
		{"ablation", "second-half loss on A A with the top induction head zero- and mean-ablated (rows ablation_zero, ablation_mean: value = change, ref = intact loss)", needGPT, runAblation},
		{"icl", "in-context learning score: loss at a late minus an early position (rows icl_score, and icl_loss per position)", always, runICL},
		{"effective_rank", "participation ratio of each layer's representation covariance, on held-out data", always, runRank},
		{"embed_pca", "first two principal components of the token embeddings (rows embed_pca per token and component, embed_pca_var)", needPCA, runPCA},
		{"weight_norm", "L2 norm of all weights and of the weight-decayed matrices (weight_norm, weight_norm_decayed)", always, runWeightNorm},
		{"fourier", "modadd: embedding Fourier spectrum, Gini sparsity, key frequencies, restricted and excluded loss (Nanda et al. 2023)", needModadd, runFourier},
		{"linear_probe", "held-out accuracy of a logistic-regression probe per layer for task variables (add: carry, digits; multihop: bridge)", needProbeVars, runLinearProbes},
		{"train_heldout", "accuracy on training items versus held-out items, for tasks with a training sampler", needTrainSampler, runTrainHeldout},
		{"knowledge", "bits of knowledge stored about the multihop facts, and bits per parameter (Allen-Zhu & Li 2024)", needFacts, runKnowledge},
		{"parity_progress", "sparse parity hidden progress: Fourier coefficient of the output on the true subset and relevant-position saliency ratio (Barak et al. 2022)", needParity, runParity},
	}
}

// ProbeNames lists the probe names in report order.
func ProbeNames() []string {
	var out []string
	for _, p := range Probes() {
		out = append(out, p.Name)
	}
	return out
}

// Select resolves a comma-separated list of probe names ("" means every
// probe that applies to env). Unknown names are errors with suggestions; a
// named probe that does not apply is an error saying why.
func Select(list string, env *Env) ([]Probe, error) {
	all := Probes()
	if strings.TrimSpace(list) == "" {
		var out []Probe
		for _, p := range all {
			if p.Applies(env) == nil {
				out = append(out, p)
			}
		}
		return out, nil
	}
	var out []Probe
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(p Probe) bool { return p.Name == name })
		if i < 0 {
			msg := fmt.Sprintf("unknown probe %q", name)
			if s := suggest.Closest(name, ProbeNames(), 3); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
			}
			return nil, fmt.Errorf("%s; probes: %s", msg, strings.Join(ProbeNames(), ", "))
		}
		if err := all[i].Applies(env); err != nil {
			return nil, fmt.Errorf("probe %s does not apply to this run: %w", name, err)
		}
		out = append(out, all[i])
	}
	return out, nil
}

func always(*Env) error { return nil }

func needGPT(e *Env) error {
	if a := e.Model.Config().Arch; !nn.IsTransformer(a) {
		return fmt.Errorf("needs a gpt, the run is %s", a)
	}
	return nil
}

func needWTE(e *Env) error {
	if _, ok := e.Model.Params().Lookup("wte.weight"); !ok {
		return fmt.Errorf("the %s model has no wte.weight", e.Model.Config().Arch)
	}
	return nil
}

// maxPCAVocab bounds the vocabulary embed_pca writes a row per token of: a
// model trained elsewhere (GPT-2's 50257 tokens) would fill probes.jsonl
// with them at every checkpoint.
const maxPCAVocab = 4096

func needPCA(e *Env) error {
	if err := needWTE(e); err != nil {
		return err
	}
	if V := e.Model.Config().DVocab; V > maxPCAVocab {
		return fmt.Errorf("a vocabulary of %d tokens (embed_pca writes one row per token, up to %d)", V, maxPCAVocab)
	}
	return nil
}

// needCharPositions checks that the task's prompts are one token per
// character under the run's tokenizer: the positions its items give in
// Vars are character offsets (a BPE tokenizer's are not).
func needCharPositions(e *Env, t tasks.Task) error {
	its := t.Eval(0, 1)
	if len(its) == 0 {
		return fmt.Errorf("%s has no items", t.Spec())
	}
	if _, err := charPrompts(e.Tok, its); err != nil {
		return err
	}
	return nil
}

func findTask(e *Env, name string) tasks.Task {
	for _, t := range e.Tasks {
		if t.Name() == name {
			return t
		}
	}
	return nil
}

func needTask(e *Env, names ...string) error {
	if e.Tok == nil {
		return fmt.Errorf("the run has no tokenizer (synthetic stream)")
	}
	for _, n := range names {
		if findTask(e, n) != nil {
			return nil
		}
	}
	return fmt.Errorf("the run's mixture has no %s task", strings.Join(names, " or "))
}

func needModadd(e *Env) error {
	if err := needTask(e, "modadd"); err != nil {
		return err
	}
	if err := needWTE(e); err != nil {
		return err
	}
	if its := findTask(e, "modadd").Eval(0, 1); len(its) == 0 || its[0].Vars["a_pos"] == nil {
		return fmt.Errorf("the Fourier analysis needs modadd(enc=token): one token per residue")
	}
	return needCharPositions(e, findTask(e, "modadd"))
}

func needProbeVars(e *Env) error { return needTask(e, "add", "multihop") }

func needTrainSampler(e *Env) error {
	if e.Tok == nil {
		return fmt.Errorf("the run has no tokenizer (synthetic stream)")
	}
	for _, t := range e.Tasks {
		if _, ok := t.(tasks.TrainSampler); ok {
			return nil
		}
	}
	return fmt.Errorf("no task of the run's mixture has a training sampler")
}

func needFacts(e *Env) error {
	if e.Tok == nil {
		return fmt.Errorf("the run has no tokenizer (synthetic stream)")
	}
	if t, _ := statedFacts(e); t == nil {
		return fmt.Errorf("no task of the run's mixture states facts (multihop does)")
	}
	return nil
}

func needParity(e *Env) error {
	if err := needTask(e, "parity"); err != nil {
		return err
	}
	return needCharPositions(e, findTask(e, "parity"))
}

// symbols are the token ids probe sequences are drawn from: every id but
// the separator; for a tokenizer read from a model directory, also none of
// its added (special) tokens nor the embedding rows past its vocabulary
// (Pythia's 50304 rows for 50277 tokens), which training never showed.
func (e *Env) symbols() []int32 {
	V := e.Model.Config().DVocab
	skip := map[int32]bool{}
	if e.Tok != nil {
		V = min(V, e.Tok.Vocab())
		skip[e.Tok.Sep()] = true
		if a, ok := e.Tok.(interface{ Added() []data.AddedToken }); ok {
			for _, t := range a.Added() {
				skip[t.ID] = true
			}
		}
	}
	var out []int32
	for id := range int32(V) {
		if !skip[id] {
			out = append(out, id)
		}
	}
	return out
}

// probeT is the length of probe sequences: the run's window, made even.
func (e *Env) probeT() int {
	T := e.T
	if T <= 0 || T > e.Model.Config().NCtx {
		T = e.Model.Config().NCtx
	}
	return T &^ 1
}

// repeated is the A A batch of the prefix-matching probe: Batch sequences
// (64 by default: the batch the attn2 calibration used, docs/probes.md).
func (e *Env) repeated(label string) ([]int32, int, int, error) {
	B, T := e.batch(), e.probeT()
	toks, err := RepeatedSequences(data.RNG(e.Seed, "probe/"+label), B, T, e.symbols())
	return toks, B, T, err
}

// heldout returns n batches of the run's held-out stream (batch numbers
// 1_000_000+i, far from the ones the trainer's eval loss uses, so probes
// do not share inputs with it).
func (e *Env) heldout(n int) (tokens, targets []int32, B, T int) {
	B, T = e.batch(), e.probeT()
	tokens, targets = make([]int32, n*B*T), make([]int32, n*B*T)
	for i := range n {
		e.Eval.Batch(int64(1_000_000+i), B, T, tokens[i*B*T:(i+1)*B*T], targets[i*B*T:(i+1)*B*T])
	}
	return tokens, targets, n * B, T
}

// matrixRows turns a [layer][head] matrix into rows, skipping NaN entries
// (a detector with nothing to score: no repeated token).
func matrixRows(step int, probe string, m Matrix, n int) []rundir.Probe {
	var out []rundir.Probe
	for l, row := range m {
		for h, v := range row {
			if !math.IsNaN(v) {
				out = append(out, rundir.Probe{Step: step, Probe: probe, Layer: l, Head: h, Value: v, N: n})
			}
		}
	}
	return out
}

func patternProbe(name string, onRepeats bool) func(e *Env, step int) ([]rundir.Probe, error) {
	return func(e *Env, step int) ([]rundir.Probe, error) {
		var toks []int32
		var B, T int
		var err error
		if onRepeats {
			if toks, B, T, err = e.repeated("repeated"); err != nil {
				return nil, err
			}
		} else {
			toks, _, B, T = e.heldout(1)
		}
		L := e.Model.Config().NLayers
		names := make([]string, L)
		for l := range names {
			names[l] = nn.ActName("pattern", l)
		}
		c, err := RunWithCache(e.Model, toks, B, T, names...)
		if err != nil {
			return nil, err
		}
		m, err := HeadScores(c, L, name)
		if err != nil {
			return nil, err
		}
		return matrixRows(step, name, m, B), nil
	}
}

func runCopying(e *Env, step int) ([]rundir.Probe, error) {
	w, err := ReadGPTWeights(e.Model.Config(), e.Model.Params())
	if err != nil {
		return nil, err
	}
	m, err := CopyingScores(w)
	if err != nil {
		return nil, err
	}
	return matrixRows(step, Copying, m, 0), nil
}

func runAblation(e *Env, step int) ([]rundir.Probe, error) {
	toks, B, T, err := e.repeated("repeated")
	if err != nil {
		return nil, err
	}
	c, err := RunWithCache(e.Model, toks, B, T, patternNames(e.Model.Config().NLayers)...)
	if err != nil {
		return nil, err
	}
	m, err := HeadScores(c, e.Model.Config().NLayers, PrefixMatching)
	if err != nil {
		return nil, err
	}
	_, l, h := m.Max()
	if l < 0 {
		return nil, fmt.Errorf("ablation: no prefix-matching scores")
	}
	ref, _, rB, rT := e.heldout(1)
	metric := SecondHalfLoss(toks, B, T)
	var out []rundir.Probe
	for _, a := range []struct{ mode, probe string }{{ZeroAblate, rundir.ProbeAblationZero}, {MeanAblate, rundir.ProbeAblationMean}} {
		r, err := AblateHead(e.Model, l, h, a.mode, ref, rB, rT, metric)
		if err != nil {
			return nil, err
		}
		out = append(out, rundir.Probe{Step: step, Probe: a.probe, Layer: l, Head: h, Value: r.Delta(), Ref: fp(r.Base), N: B})
	}
	return out, nil
}

func patternNames(L int) []string {
	out := make([]string, L)
	for l := range out {
		out[l] = nn.ActName("pattern", l)
	}
	return out
}

func runICL(e *Env, step int) ([]rundir.Probe, error) {
	toks, tgts, B, T := e.heldout(4)
	curve, count, err := PerPositionLoss(e.Model, toks, tgts, B, T)
	if err != nil {
		return nil, err
	}
	var out []rundir.Probe
	for t, v := range curve {
		if !math.IsNaN(v) {
			out = append(out, rundir.Probe{Step: step, Probe: rundir.ProbeICLLoss, Layer: -1, Head: -1, Index: ip(t), Value: v, N: count[t]})
		}
	}
	s, early, late, err := ICLScore(curve)
	if err != nil {
		// Documents shorter than the window (task mixtures packed in
		// slots) leave late positions without loss: the curve is still
		// reported, the score is not.
		return out, nil
	}
	return append(out, rundir.Probe{Step: step, Probe: rundir.ProbeICLScore, Layer: -1, Head: -1, Value: s, Index: ip(late),
		Ref: fp(curve[early]), N: count[late]}), nil
}

// layerActs names the per-layer representations of a model: the
// embeddings (layer −1) and each layer's output.
func layerActs(cfg nn.Config) (layers []int, names []string) {
	switch cfg.Arch {
	case nn.ArchGPT, nn.ArchGPT2, nn.ArchNeoX:
		layers, names = []int{-1}, []string{nn.ActName("resid_pre", 0)}
		for l := range cfg.NLayers {
			layers, names = append(layers, l), append(names, nn.ActName("resid_post", l))
		}
	case nn.ArchLSTM:
		layers, names = []int{-1}, []string{nn.ActName("embed", -1)}
		for l := range cfg.NLayers {
			layers, names = append(layers, l), append(names, nn.ActName("hidden", l))
		}
	default:
		layers, names = []int{-1, 0}, []string{nn.ActName("embed", -1), nn.ActName("mlp_post", 0)}
	}
	return layers, names
}

func runRank(e *Env, step int) ([]rundir.Probe, error) {
	toks, _, B, T := e.heldout(1)
	layers, names := layerActs(e.Model.Config())
	c, err := RunWithCache(e.Model, toks, B, T, names...)
	if err != nil {
		return nil, err
	}
	var out []rundir.Probe
	for i, name := range names {
		x, s, _ := c.Get(name)
		d := s[len(s)-1]
		r, err := EffectiveRank(x, len(x)/d, d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, rundir.Probe{Step: step, Probe: rundir.ProbeEffectiveRank, Layer: layers[i], Head: -1, Value: r, N: len(x) / d})
	}
	return out, nil
}

func runPCA(e *Env, step int) ([]rundir.Probe, error) {
	p, _ := e.Model.Params().Lookup("wte.weight")
	V, C := p.Shape[0], p.Shape[1]
	pca, err := PrincipalComponents(e.Model.Params().Get("wte.weight"), V, C, 2)
	if err != nil {
		return nil, err
	}
	var out []rundir.Probe
	for k, v := range pca.Explained {
		out = append(out, rundir.Probe{Step: step, Probe: rundir.ProbeEmbedPCAVar, Layer: -1, Head: -1, Index: ip(k), Value: v})
	}
	for id := range V {
		label := fmt.Sprint(id)
		if e.Tok != nil {
			label = e.Tok.Decode([]int32{int32(id)})
		}
		for k := range 2 {
			// Index = id·2 + component keeps (step, probe, index) unique.
			out = append(out, rundir.Probe{Step: step, Probe: rundir.ProbeEmbedPCA, Layer: -1, Head: -1, Index: ip(id*2 + k), Label: label, Value: pca.Coords[id][k]})
		}
	}
	return out, nil
}

func runWeightNorm(e *Env, step int) ([]rundir.Probe, error) {
	ps := e.Model.Params()
	var all, dec float64
	for _, p := range ps.Params {
		for _, x := range ps.Data[p.Off : p.Off+p.Size] {
			all += float64(x) * float64(x)
			if p.Decay {
				dec += float64(x) * float64(x)
			}
		}
	}
	return []rundir.Probe{
		{Step: step, Probe: rundir.ProbeWeightNorm, Layer: -1, Head: -1, Value: math.Sqrt(all), N: ps.Count()},
		{Step: step, Probe: rundir.ProbeWeightNormDec, Layer: -1, Head: -1, Value: math.Sqrt(dec)},
	}, nil
}
