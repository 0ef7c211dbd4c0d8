package probe

// suite_tasks.go: the probes that read a task's items — the modadd Fourier
// analysis, linear probes for task variables, train versus held-out
// accuracy, knowledge capacity and sparse-parity hidden progress.

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"emlab/internal/data"
	"emlab/internal/eval"
	"emlab/internal/nn"
	"emlab/internal/rundir"
	"emlab/internal/tasks"
)

// charPrompts encodes the items' prompts and checks that each character
// is one token, so that the character offsets tasks give in Item.Vars are
// token positions.
func charPrompts(tok data.Tokenizer, items []tasks.Item) ([][]int32, error) {
	out, err := encodePrompts(tok, items)
	if err != nil {
		return nil, err
	}
	for i, ids := range out {
		if n := utf8.RuneCountInString(items[i].Prompt); len(ids) != n {
			return nil, fmt.Errorf("prompt %q is %d tokens for %d characters: the task's positions need a character tokenizer", items[i].Prompt, len(ids), n)
		}
	}
	return out, nil
}

func encodePrompts(tok data.Tokenizer, items []tasks.Item) ([][]int32, error) {
	out := make([][]int32, len(items))
	for i := range items {
		ids, err := tok.Encode(items[i].Prompt)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", items[i].Variant, err)
		}
		out[i] = ids
	}
	return out, nil
}

// runFourier: Nanda et al. 2023's measures on every (a, b) pair.
func runFourier(e *Env, step int) ([]rundir.Probe, error) {
	t := findTask(e, "modadd")
	ts, ok := t.(tasks.TrainSampler)
	if !ok {
		return nil, fmt.Errorf("fourier: modadd has no training sampler")
	}
	all := append(t.Eval(e.Seed, 1<<30), ts.TrainItems(e.Seed, 1<<30)...)
	prompts, err := charPrompts(e.Tok, all)
	if err != nil {
		return nil, fmt.Errorf("fourier: %w", err)
	}
	p := 0
	for _, it := range all {
		p = max(p, it.Vars["a"][0]+1, it.Vars["b"][0]+1)
	}
	if len(all) != p*p {
		return nil, fmt.Errorf("fourier: %d items, want all %d ordered pairs", len(all), p*p)
	}
	// The residues' tokens, at the positions the task gives (one token
	// per residue); every prompt has the same length T and the answer is
	// predicted at its last position.
	T := len(prompts[0])
	resTok := make([]int32, p)
	for i, it := range all {
		if len(prompts[i]) != T || it.Vars["a_pos"] == nil || it.Vars["b_pos"] == nil {
			return nil, fmt.Errorf("fourier: item %q does not give one-token residue positions (a_pos, b_pos) in prompts of one length", it.Prompt)
		}
		resTok[it.Vars["a"][0]] = prompts[i][it.Vars["a_pos"][0]]
		resTok[it.Vars["b"][0]] = prompts[i][it.Vars["b_pos"][0]]
	}
	// Embedding energy per frequency.
	wteP, _ := e.Model.Params().Lookup("wte.weight")
	C := wteP.Shape[1]
	wte := e.Model.Params().Get("wte.weight")
	E := make([]float32, p*C)
	for a, id := range resTok {
		copy(E[a*C:(a+1)*C], wte[int(id)*C:(int(id)+1)*C])
	}
	energy, err := FourierEnergy(E, p, C)
	if err != nil {
		return nil, err
	}
	// Logits over the residue tokens for every pair.
	logits := make([]float64, p*p*p)
	train := make([]bool, p*p)
	V := e.Model.Config().DVocab
	bs := e.batch()
	for b0 := 0; b0 < len(all); b0 += bs {
		if err := e.err(); err != nil {
			return nil, err
		}
		n := min(bs, len(all)-b0)
		toks := make([]int32, 0, n*T)
		for i := range n {
			toks = append(toks, prompts[b0+i]...)
		}
		e.Model.Forward(toks, nil, n, T)
		lg := e.Model.Logits()
		for i := range n {
			it := all[b0+i]
			a, b := it.Vars["a"][0], it.Vars["b"][0]
			train[a*p+b] = strings.HasSuffix(it.Variant, "/train")
			row := lg[(i*T+T-1)*V : (i*T+T)*V]
			for c, id := range resTok {
				logits[(a*p+b)*p+c] = float64(row[id])
			}
		}
	}
	keys := KeyFrequencies(energy, 0.9, 6)
	fl, err := RestrictedExcluded(logits, p, keys, train)
	if err != nil {
		return nil, err
	}
	spec := t.Spec()
	row := func(probe string, v float64, idx *int) rundir.Probe {
		return rundir.Probe{Step: step, Probe: probe, Layer: -1, Head: -1, Value: v, Index: idx, Task: spec}
	}
	var out []rundir.Probe
	for k, v := range energy {
		out = append(out, row(rundir.ProbeFourierEnergy, v, ip(k+1)))
	}
	for i, k := range keys {
		out = append(out, row(rundir.ProbeFourierKey, float64(k), ip(i)))
	}
	return append(out, row(rundir.ProbeFourierGini, Gini(energy), nil), row(rundir.ProbeFourierFullLoss, fl.Full, nil),
		row(rundir.ProbeFourierRestricted, fl.Restricted, nil), row(rundir.ProbeFourierExcluded, fl.Excluded, nil)), nil
}

// runLinearProbes fits, for each task variable (vars.go) and each layer's
// representation, a logistic-regression probe on 60% of the sites and
// scores it on the rest.
func runLinearProbes(e *Env, step int) ([]rundir.Probe, error) {
	layers, names := layerActs(e.Model.Config())
	var out []rundir.Probe
	for _, t := range e.Tasks {
		if _, ok := probeVars[t.Name()]; !ok {
			continue
		}
		ps, err := newProbeSet(e, t, names)
		if err != nil {
			return nil, err
		}
		// One independent fit per (variable, layer), in parallel, each
		// row in its serial place.
		rows := make([]rundir.Probe, len(ps.vars)*len(names))
		err = forEach(len(rows), func(r int) error {
			v, li := r/len(names), r%len(names)
			vd := ps.vars[v]
			x, d := ps.rows(v, names[li])
			n := len(vd.labels)
			res, err := LinearProbe(x, vd.labels, n, d, n*6/10)
			if err != nil {
				return fmt.Errorf("%s %s layer %d: %w", t.Name(), vd.name, layers[li], err)
			}
			rows[r] = rundir.Probe{Step: step, Probe: rundir.ProbeLinear, Layer: layers[li], Head: -1, Value: res.Accuracy,
				Ref: fp(res.Majority), Task: t.Spec(), Var: vd.name, N: res.NTest}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// answerAccuracy is the fraction of items whose every answer token is the
// model's argmax (teacher forced).
func answerAccuracy(h *eval.Harness, tok data.Tokenizer, items []tasks.Item) (float64, error) {
	reqs := make([]eval.Continuation, len(items))
	for i := range items {
		p, a, _, err := tasks.EncodeItem(tok, &items[i])
		if err != nil {
			return 0, err
		}
		reqs[i] = eval.Continuation{Prompt: p, Cont: a}
	}
	scores, err := h.ScoreContinuations(reqs, false)
	if err != nil {
		return 0, err
	}
	hit := 0
	for _, s := range scores {
		if !slices.Contains(s.Correct, false) {
			hit++
		}
	}
	return float64(hit) / float64(len(items)), nil
}

func runTrainHeldout(e *Env, step int) ([]rundir.Probe, error) {
	h := &eval.Harness{Model: e.Model, Tok: e.Tok, BatchSize: e.batch(), Ctx: e.Ctx}
	var out []rundir.Probe
	for _, t := range e.Tasks {
		ts, ok := t.(tasks.TrainSampler)
		if !ok {
			continue
		}
		tr, err := e.draw(func() []tasks.Item { return ts.TrainItems(e.Seed, e.items()) })
		if err != nil {
			return nil, err
		}
		he, err := e.draw(func() []tasks.Item { return t.Eval(e.Seed, e.items()) })
		if err != nil {
			return nil, err
		}
		// Compare like with like: only the held-out variants that have a
		// "/train" counterpart.
		byV := map[string][]tasks.Item{}
		for _, it := range tr {
			v := strings.TrimSuffix(it.Variant, "/train")
			byV[v] = append(byV[v], it)
		}
		for _, v := range t.Variants() {
			trainItems := byV[v.Name]
			var held []tasks.Item
			for _, it := range he {
				if it.Variant == v.Name {
					held = append(held, it)
				}
			}
			if len(trainItems) == 0 || len(held) == 0 {
				continue
			}
			a, err := answerAccuracy(h, e.Tok, trainItems)
			if err != nil {
				return nil, err
			}
			b, err := answerAccuracy(h, e.Tok, held)
			if err != nil {
				return nil, err
			}
			out = append(out,
				rundir.Probe{Step: step, Probe: rundir.ProbeTrainAcc, Layer: -1, Head: -1, Value: a, Task: v.Name, N: len(trainItems)},
				rundir.Probe{Step: step, Probe: rundir.ProbeHeldoutAcc, Layer: -1, Head: -1, Value: b, Task: v.Name, N: len(held)})
		}
	}
	return out, nil
}

// KnowledgeBits is the information about facts the model holds, in
// bits: Σ over facts of log2(K · P'(v)), where K is the number of a fact's
// Choices (its relation's range) and P'(v) the model's probability of the
// true value (followed by the separator) renormalised over them. It is the
// code length saved, relative to the uniform prior over each range, when
// the facts are encoded with the model — Allen-Zhu & Li 2024's ("Physics
// of Language Models: Part 3.3") bit-complexity lower bound in the case of
// independent uniform attributes. A model that knows every fact stores
// Σ log2 K bits; one that knows none ≈ 0 (slightly below 0 by Jensen's
// inequality when its guesses are noisy). Also returned: that maximum.
// facts are items with Prompt, Choices and Correct (tasks.StatedFacts).
func KnowledgeBits(h *eval.Harness, tok data.Tokenizer, facts []tasks.Item) (bits, maxBits float64, err error) {
	var reqs []eval.Continuation
	for _, f := range facts {
		p, err := tok.Encode(f.Prompt)
		if err != nil {
			return 0, 0, err
		}
		for _, v := range f.Choices {
			c, err := tok.Encode(v)
			if err != nil {
				return 0, 0, err
			}
			reqs = append(reqs, eval.Continuation{Prompt: p, Cont: append(c, tok.Sep())})
		}
	}
	scores, err := h.ScoreContinuations(reqs, false)
	if err != nil {
		return 0, 0, err
	}
	i := 0
	for _, f := range facts {
		lps := make([]float64, len(f.Choices))
		for j := range f.Choices {
			for _, lp := range scores[i].LogProbs {
				lps[j] += lp
			}
			i++
		}
		K := float64(len(f.Choices))
		bits += (math.Log(K) + lps[f.Correct] - lse64(lps)) / math.Ln2
		maxBits += math.Log2(K)
	}
	return bits, maxBits, nil
}

// statedFacts returns the facts the first task that states them does.
func statedFacts(e *Env) (tasks.Task, []tasks.Item) {
	for _, t := range e.Tasks {
		if s, ok := t.(tasks.StatedFacts); ok {
			return t, s.StatedFacts()
		}
	}
	return nil, nil
}

// factSets returns the run's tasks whose items are memorised facts.
func factSets(e *Env) []tasks.Task {
	var out []tasks.Task
	for _, t := range e.Tasks {
		if _, ok := t.(tasks.FactSet); ok {
			out = append(out, t)
		}
	}
	return out
}

// FactSetBits is the knowledge a model stores about the facts of a
// FactSet task, in bits: the mean of the evaluation's `bits` metric
// (package eval: log2 K + log2 of the right value's probability
// renormalised over the K values) over every one of its Facts() items,
// times their number — exact, not a sample estimate. Also returned: the
// maximum, MaxBits().
func FactSetBits(h *eval.Harness, t tasks.Task) (bits, maxBits float64, err error) {
	fs, ok := t.(tasks.FactSet)
	if !ok {
		return 0, 0, fmt.Errorf("knowledge: task %s is not a set of facts", t.Name())
	}
	items, err := tasks.Draw(h.Ctx, func() []tasks.Item { return t.Eval(0, fs.Facts()) })
	if err != nil {
		return 0, 0, err
	}
	if len(items) != fs.Facts() {
		return 0, 0, fmt.Errorf("knowledge: %s gave %d items for %d facts", t.Spec(), len(items), fs.Facts())
	}
	vs := map[string]tasks.Variant{}
	for _, v := range t.Variants() {
		vs[v.Name] = v
	}
	scores, err := h.ScoreItems(t, items, vs)
	if err != nil {
		return 0, 0, err
	}
	found := false
	for _, l := range eval.Aggregate(t, items, scores, 0) {
		if l.Metric == rundir.Bits && l.Position == nil && l.Subtask == nil {
			bits += l.Value * float64(l.N)
			found = true
		}
	}
	if !found {
		return 0, 0, fmt.Errorf("knowledge: %s has no %s metric", t.Spec(), rundir.Bits)
	}
	return bits, fs.MaxBits(), nil
}

func runKnowledge(e *Env, step int) ([]rundir.Probe, error) {
	h := &eval.Harness{Model: e.Model, Tok: e.Tok, BatchSize: e.batch(), Ctx: e.Ctx}
	n := e.Model.Params().Count()
	var out []rundir.Probe
	emit := func(t tasks.Task, bits, maxBits float64, facts int) {
		mk := func(probe string, v float64) rundir.Probe {
			return rundir.Probe{Step: step, Probe: probe, Layer: -1, Head: -1, Value: v, Task: t.Spec(), N: facts}
		}
		r := mk(rundir.ProbeBitsPerParam, bits/float64(n))
		r.N = n
		out = append(out, mk(rundir.ProbeKnowledgeBits, bits), mk(rundir.ProbeKnowledgeBitsMax, maxBits), r)
	}
	if t, facts := statedFacts(e); len(facts) > 0 {
		bits, maxBits, err := KnowledgeBits(h, e.Tok, facts)
		if err != nil {
			return nil, err
		}
		emit(t, bits, maxBits, len(facts))
	}
	for _, t := range factSets(e) {
		bits, maxBits, err := FactSetBits(h, t)
		if err != nil {
			return nil, err
		}
		emit(t, bits, maxBits, t.(tasks.FactSet).Facts())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("knowledge: no task of the run states facts")
	}
	return out, nil
}

// ParityCoefficient is the Fourier coefficient of the model's output on
// the true subset S (Barak et al. 2022, "Hidden progress in deep learning:
// SGD learns parities near the computational limit"): with f(x) = P(1|x) −
// P(0|x) (the two answers renormalised) and χ_S(x) = +1 when the parity of
// x on S is 1 and −1 otherwise, E_x[f(x)·χ_S(x)]. 1 for a model that solves
// the subtask with confidence, 0 at chance; it grows while accuracy still
// sits at chance. p1, p0 are log-probabilities of "1" and "0"; bit is the
// true parity.
func ParityCoefficient(lp1, lp0 []float64, bit []int) float64 {
	var s float64
	for i := range bit {
		m := math.Max(lp1[i], lp0[i])
		p1, p0 := math.Exp(lp1[i]-m), math.Exp(lp0[i]-m)
		f := (p1 - p0) / (p1 + p0)
		chi := float64(2*bit[i] - 1)
		s += f * chi
	}
	return s / float64(len(bit))
}

// paritySaliency is, for a GPT, the mean norm of d(loss)/d(input embedding)
// at the subset's bit positions divided by that at the other bit
// positions, over items (each its own forward and backward, B = 1): the
// input-gradient analogue of Barak et al.'s ratio of first-layer weight
// norms on relevant and irrelevant coordinates (1 when the model treats
// all bits alike, large when it reads the subset). The gradient of wpe row
// t equals the gradient of the input x₀ at position t, since x₀ = wte[tok]
// + wpe. bitPos are the prompt positions of the data bits, subset indexes
// them. The model's gradient buffer is restored afterwards.
func paritySaliency(m nn.Model, prompts [][]int32, answers []int32, subset, bitPos []int) float64 {
	ps := m.Params()
	saved := slices.Clone(ps.Grad)
	defer copy(ps.Grad, saved)
	C := m.Config().DModel
	inS := map[int]bool{}
	for _, i := range subset {
		inS[i] = true
	}
	var rel, irr float64
	var nRel, nIrr int
	for k, p := range prompts {
		T := len(p)
		targets := make([]int32, T)
		for i := range targets {
			targets[i] = -1
		}
		targets[T-1] = answers[k]
		ps.ZeroGrad()
		m.Forward(p, targets, 1, T)
		m.Backward()
		g := ps.GradOf("wpe.weight")
		for i, pos := range bitPos {
			var n2 float64
			for _, v := range g[pos*C : (pos+1)*C] {
				n2 += float64(v) * float64(v)
			}
			if inS[i] {
				rel += math.Sqrt(n2)
				nRel++
			} else {
				irr += math.Sqrt(n2)
				nIrr++
			}
		}
	}
	if nRel == 0 || nIrr == 0 || irr == 0 {
		return math.NaN()
	}
	return (rel / float64(nRel)) / (irr / float64(nIrr))
}

func runParity(e *Env, step int) ([]rundir.Probe, error) {
	t := findTask(e, "parity")
	items := t.Eval(e.Seed, min(e.items(), 128))
	h := &eval.Harness{Model: e.Model, Tok: e.Tok, BatchSize: e.batch(), Ctx: e.Ctx}
	bySub := map[int][]tasks.Item{}
	for _, it := range items {
		bySub[it.Subtask] = append(bySub[it.Subtask], it)
	}
	one, err := e.Tok.Encode("1")
	if err != nil {
		return nil, err
	}
	zero, err := e.Tok.Encode("0")
	if err != nil {
		return nil, err
	}
	var out []rundir.Probe
	subs := make([]int, 0, len(bySub))
	for s := range bySub {
		subs = append(subs, s)
	}
	slices.Sort(subs)
	for _, s := range subs {
		its := bySub[s]
		prompts, err := charPrompts(e.Tok, its)
		if err != nil {
			return nil, err
		}
		var reqs []eval.Continuation
		bits := make([]int, len(its))
		for i, p := range prompts {
			reqs = append(reqs, eval.Continuation{Prompt: p, Cont: one}, eval.Continuation{Prompt: p, Cont: zero})
			bits[i] = its[i].Correct // choices are "0", "1"
		}
		sc, err := h.ScoreContinuations(reqs, false)
		if err != nil {
			return nil, err
		}
		lp1, lp0 := make([]float64, len(its)), make([]float64, len(its))
		for i := range its {
			lp1[i], lp0[i] = sc[2*i].LogProbs[0], sc[2*i+1].LogProbs[0]
		}
		out = append(out, rundir.Probe{Step: step, Probe: rundir.ProbeParityFourier, Layer: -1, Head: -1, Index: ip(s),
			Value: ParityCoefficient(lp1, lp0, bits), Task: t.Spec(), N: len(its)})
		if !nn.IsTransformer(e.Model.Config().Arch) {
			continue
		}
		k := min(len(prompts), 16)
		ans := make([]int32, k)
		for i := range k {
			ans[i] = zero[0]
			if bits[i] == 1 {
				ans[i] = one[0]
			}
		}
		r := paritySaliency(e.Model, prompts[:k], ans, its[0].Vars["subset"], its[0].Vars["bit_pos"])
		if !math.IsNaN(r) {
			out = append(out, rundir.Probe{Step: step, Probe: rundir.ProbeParitySaliency, Layer: -1, Head: -1, Index: ip(s),
				Value: r, Task: t.Spec(), N: k})
		}
	}
	return out, nil
}
