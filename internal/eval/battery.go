package eval

import (
	"context"
	"fmt"
	"math"
	"slices"

	"emlab/internal/rundir"
	"emlab/internal/tasks"
)

// ItemScore is everything measured on one item; the metrics are computed
// from it, so sharp and smooth metrics always describe the same outputs.
type ItemScore struct {
	LogProbs  []float64 // per answer token, teacher-forced
	Correct   []bool    // per answer token: argmax matches
	Generated string    // greedy continuation (when generated)
	GenIDs    []int32
	HasGen    bool // a generation was run for this item
	Exact     bool
	Edit      int
	ChoiceLP  []float64 // total log-prob of each choice (choice items)
	BayesKL   []float64 // per answer position (markov)
}

// ScoreItems scores items of one task. Generation runs only when needed
// (exact match or edit distance for non-choice items).
func (h *Harness) ScoreItems(task tasks.Task, items []tasks.Item, variants map[string]tasks.Variant) ([]ItemScore, error) {
	scores := make([]ItemScore, len(items))
	var w plainWork
	answers := make([][]int32, len(items))
	maxAnswer := 0
	for i := range items {
		it := &items[i]
		v, ok := variants[it.Variant]
		if !ok {
			return nil, fmt.Errorf("task %s: item variant %q not in Variants()", task.Name(), it.Variant)
		}
		// Prompt and continuations split at their text boundary
		// (tasks.EncodeContinuation), as the tokenizer writes the whole.
		p, a, chs, err := tasks.EncodeItem(h.Tok, it)
		if err != nil {
			return nil, fmt.Errorf("%s item %q: %w", it.Variant, it.Key, err)
		}
		// Choices of one token each are read from the logits row after
		// the prompt, which every request on this prompt computes (a
		// row's logits depend on its own tokens up to it only): one
		// request carries them all. Longer choices get a request each.
		var alts []int32
		if len(it.Choices) > 0 {
			if alts = oneTokenEach(chs); alts == nil {
				for c, ids := range chs {
					w.request(Continuation{Prompt: p, Cont: ids}, i, c)
				}
			}
			scores[i].ChoiceLP = make([]float64, len(it.Choices))
		}
		if it.Answer != "" {
			w.request(Continuation{Prompt: p, Cont: a, Alts: alts}, i, answerReq)
			answers[i] = a
			maxAnswer = max(maxAnswer, len(a))
		} else if alts != nil {
			w.request(Continuation{Prompt: p, Cont: alts[:1], Alts: alts}, i, altsOnly)
		}
		if len(it.Choices) == 0 && (slices.Contains(v.Metrics, rundir.ExactMatch) || slices.Contains(v.Metrics, rundir.EditDistance)) {
			w.generate(p, i)
		}
	}
	withDists := false
	for _, it := range items {
		if it.Dist != nil {
			withDists = true
		}
	}
	// MaxLen is in characters, one token each under a character
	// tokenizer; under a BPE a character may take several tokens, so
	// the bound is at least the longest answer's tokens plus one.
	maxNew := max(task.MaxLen(), maxAnswer) + 1
	if !withDists && len(w.prompts) > 0 {
		if err := h.scoreFused(scores, &w, maxNew); err != nil {
			return nil, fmt.Errorf("task %s: %w", task.Name(), err)
		}
	}
	cs, err := h.ScoreContinuations(w.reqs, withDists)
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", task.Name(), err)
	}
	for r, c := range cs {
		i := w.owner[r]
		for k, lp := range c.AltLogProbs {
			var s float64 // a choice's log-prob is the sum over its tokens
			s += lp
			scores[i].ChoiceLP[k] = s
		}
		if w.choiceOf[r] == altsOnly {
			continue
		}
		if ch := w.choiceOf[r]; ch >= 0 {
			var s float64
			for _, lp := range c.LogProbs {
				s += lp
			}
			scores[i].ChoiceLP[ch] = s
			continue
		}
		scores[i].LogProbs, scores[i].Correct = c.LogProbs, c.Correct
		if d := items[i].Dist; d != nil {
			kl, err := h.bayesKL(&items[i], d, c.Dists)
			if err != nil {
				return nil, err
			}
			scores[i].BayesKL = kl
		}
	}
	if len(w.prompts) > 0 {
		gens, err := h.Generate(w.prompts, maxNew)
		if err != nil {
			return nil, fmt.Errorf("task %s: %w", task.Name(), err)
		}
		for g, i := range w.genItems {
			scores[i].GenIDs, scores[i].HasGen = gens[g], true
		}
	}
	for i := range scores {
		s := &scores[i]
		if !s.HasGen {
			continue
		}
		it := &items[i]
		s.Generated = h.Tok.Decode(s.GenIDs)
		s.Exact = task.Extract(it, s.Generated) == it.Target
		s.Edit = Levenshtein(s.GenIDs, answers[i])
	}
	return scores, nil
}

// plainWork is what ScoreItems leaves to the plain path: the requests for
// ScoreContinuations, each with its item and what it scores, and the
// prompts for Generate, each with its item.
type plainWork struct {
	reqs     []Continuation
	owner    []int // request → item
	choiceOf []int // request → choice index, answerReq or altsOnly
	prompts  [][]int32
	genItems []int // prompt → item
}

func (w *plainWork) request(c Continuation, item, choice int) {
	w.reqs = append(w.reqs, c)
	w.owner = append(w.owner, item)
	w.choiceOf = append(w.choiceOf, choice)
}

func (w *plainWork) generate(prompt []int32, item int) {
	w.prompts = append(w.prompts, prompt)
	w.genItems = append(w.genItems, item)
}

// scoreFused takes the generated items whose answer is scored off the plain
// path when the model's cache can be cut back (fused.go): their answer's
// log-probs, per-token argmax and greedy continuation go into scores, and
// their answer requests and prompts leave w. Nothing changes when the model
// has no such cache or a request would not fit the context (the plain path
// then reports it).
func (h *Harness) scoreFused(scores []ItemScore, w *plainWork, maxNew int) error {
	gen := make(map[int]bool, len(w.genItems))
	for _, i := range w.genItems {
		gen[i] = true
	}
	nctx := h.Model.Config().NCtx
	var take []int // requests to fuse
	longestReq := 0
	for r, q := range w.reqs {
		if w.choiceOf[r] != answerReq || !gen[w.owner[r]] || len(q.Alts) > 0 {
			continue
		}
		n := len(q.Prompt) + len(q.Cont)
		if len(q.Prompt) == 0 || n > nctx {
			return nil
		}
		take = append(take, r)
		longestReq = max(longestReq, n)
	}
	if len(take) == 0 {
		return nil
	}
	st := h.rewindState(min(h.batchSize(), len(take)), min(nctx, longestReq+maxNew))
	if st == nil {
		return nil
	}
	fused := make([]Continuation, len(take))
	done := make(map[int]bool, len(take)) // items scored here
	for f, r := range take {
		fused[f] = w.reqs[r]
		done[w.owner[r]] = true
	}
	res, err := h.scoreAndGenerate(st, fused, maxNew)
	if err != nil {
		return err
	}
	for f, r := range take {
		s := &scores[w.owner[r]]
		s.LogProbs, s.Correct = res[f].logProbs, res[f].correct
		s.GenIDs, s.HasGen = res[f].gen, true
	}
	var left plainWork
	for r, q := range w.reqs {
		if w.choiceOf[r] != answerReq || !done[w.owner[r]] {
			left.request(q, w.owner[r], w.choiceOf[r])
		}
	}
	for g, i := range w.genItems {
		if !done[i] {
			left.generate(w.prompts[g], i)
		}
	}
	*w = left
	return nil
}

// What a request scores besides its choices (choiceOf): the item's answer,
// or only the one-token choices it carries (Continuation.Alts).
const (
	answerReq = -1
	altsOnly  = -2
)

// oneTokenEach returns the choices' tokens when every choice is one token,
// else nil.
func oneTokenEach(chs [][]int32) []int32 {
	alts := make([]int32, len(chs))
	for c, ids := range chs {
		if len(ids) != 1 {
			return nil
		}
		alts[c] = ids[0]
	}
	return alts
}

// bayesKL is KL(Bayes ‖ model) at each answer position, with the model's
// distribution renormalised over the task's symbols (the reference puts no
// mass elsewhere).
func (h *Harness) bayesKL(it *tasks.Item, d *tasks.Dist, dists [][]float64) ([]float64, error) {
	ids := make([]int32, len(d.Symbols))
	for k, s := range d.Symbols {
		e, err := h.Tok.Encode(s)
		if err != nil || len(e) != 1 {
			return nil, fmt.Errorf("%s item %q: symbol %q is not one token", it.Variant, it.Key, s)
		}
		ids[k] = e[0]
	}
	n := min(len(d.Bayes), len(dists))
	out := make([]float64, n)
	for pos := 0; pos < n; pos++ {
		var z float64
		for _, id := range ids {
			z += dists[pos][id]
		}
		var kl float64
		for k, id := range ids {
			p := d.Bayes[pos][k]
			if p > 0 {
				q := dists[pos][id] / z
				kl += p * (math.Log(p) - math.Log(max(q, 1e-300)))
			}
		}
		out[pos] = kl
	}
	return out, nil
}

// Aggregate turns item scores into result lines per (variant, metric), in
// the order of task.Variants(); per_position_loss gives one line per answer
// position, and items with a Subtask also give per-subtask lines.
func Aggregate(task tasks.Task, items []tasks.Item, scores []ItemScore, step int) []rundir.Eval {
	var out []rundir.Eval
	for _, v := range task.Variants() {
		var idx []int
		for i := range items {
			if items[i].Variant == v.Name {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			continue
		}
		out = append(out, variantResults(v, idx, items, scores, step, nil)...)
		// Per-subtask lines (parity's quanta).
		subs := map[int][]int{}
		var order []int
		for _, i := range idx {
			if s := items[i].Subtask; s >= 0 {
				if _, ok := subs[s]; !ok {
					order = append(order, s)
				}
				subs[s] = append(subs[s], i)
			}
		}
		slices.Sort(order)
		for _, s := range order {
			out = append(out, variantResults(v, subs[s], items, scores, step, &s)...)
		}
	}
	return out
}

func variantResults(v tasks.Variant, idx []int, items []tasks.Item, scores []ItemScore, step int, subtask *int) []rundir.Eval {
	var out []rundir.Eval
	emit := func(metric string, xs []float64, pos *int) {
		if len(xs) == 0 {
			return
		}
		st := meanStderr(xs)
		var sub *int
		if subtask != nil {
			s := *subtask
			sub = &s
		}
		out = append(out, rundir.Eval{Step: step, Task: v.Name, Metric: metric, Value: st.Value, Stderr: st.Stderr, N: st.N,
			Chance: v.Chance, Position: pos, Subtask: sub})
	}
	col := func(metric string) []float64 {
		var xs []float64
		for _, i := range idx {
			if x, ok := itemValue(metric, &items[i], &scores[i]); ok {
				xs = append(xs, x)
			}
		}
		return xs
	}
	for _, m := range itemMetrics(v) {
		emit(m, col(m), nil)
	}
	if slices.Contains(v.Metrics, rundir.PerPositionLoss) {
		maxLen := 0
		for _, i := range idx {
			maxLen = max(maxLen, len(scores[i].LogProbs))
		}
		for pos := 0; pos < maxLen; pos++ {
			p := pos
			var xs []float64
			for _, i := range idx {
				if lp := scores[i].LogProbs; p < len(lp) {
					xs = append(xs, -lp[p])
				}
			}
			emit(rundir.PerPositionLoss, xs, &p)
		}
	}
	return out
}

// itemMetrics lists the metrics a variant is scored with that give one
// value per item, in the order written: the variant's own (per-position
// breakdowns apart), with logprob followed by logprob_total and, when the
// variant has a right answer (a sharp metric), answer_prob.
func itemMetrics(v tasks.Variant) []string {
	var out []string
	for _, m := range v.Metrics {
		if k, ok := rundir.KindOf(m); ok && k.PerPosition {
			continue
		}
		out = append(out, m)
		if m == rundir.LogProb {
			out = append(out, rundir.LogProbTotal)
			if slices.ContainsFunc(v.Metrics, rundir.IsSharp) {
				out = append(out, rundir.AnswerProb)
			}
		}
	}
	return out
}

// answerLogProb is the total log-probability of the item's reference
// answer given its prompt, in nats: the teacher-forced answer, or the right
// choice of a choice item; ok is false when the item has neither.
func answerLogProb(it *tasks.Item, s *ItemScore) (float64, bool) {
	if len(s.LogProbs) > 0 {
		return sum(s.LogProbs), true
	}
	if len(it.Choices) > 0 && len(s.ChoiceLP) > 0 {
		return s.ChoiceLP[it.Correct], true
	}
	return 0, false
}

// itemValue is one item's value of metric (not per_position_loss); ok is
// false when the metric does not apply to the item (no generation was run,
// no choices).
func itemValue(metric string, it *tasks.Item, s *ItemScore) (float64, bool) {
	switch metric {
	case rundir.ExactMatch:
		if len(it.Choices) > 0 {
			return b2f(argmax(s.ChoiceLP) == it.Correct), true
		}
		return b2f(s.Exact), s.HasGen
	case rundir.TokenAccuracy:
		if len(s.Correct) == 0 {
			return 0, false
		}
		n := 0
		for _, c := range s.Correct {
			if c {
				n++
			}
		}
		return float64(n) / float64(len(s.Correct)), true
	case rundir.EditDistance:
		return float64(s.Edit), s.HasGen
	case rundir.LogProb:
		if len(s.LogProbs) == 0 {
			return answerLogProb(it, s)
		}
		return sum(s.LogProbs) / float64(len(s.LogProbs)), true
	case rundir.LogProbTotal:
		return answerLogProb(it, s)
	case rundir.AnswerProb:
		// The product of the answer's token probabilities, exactly: no
		// sampling, so it resolves abilities far below 1/n items.
		lp, ok := answerLogProb(it, s)
		return math.Exp(lp), ok
	case rundir.MCGrade:
		if len(it.Choices) == 0 {
			return 0, false
		}
		return b2f(argmax(s.ChoiceLP) == it.Correct), true
	case rundir.Brier:
		if len(it.Choices) == 0 {
			return 0, false
		}
		p := softmax(s.ChoiceLP)
		var b float64
		for c := range p {
			y := b2f(c == it.Correct)
			b += (p[c] - y) * (p[c] - y)
		}
		return b, true
	case rundir.Bits:
		if len(it.Choices) == 0 {
			return 0, false
		}
		return choiceBits(s.ChoiceLP, it.Correct), true
	case rundir.BayesKL:
		if len(s.BayesKL) == 0 {
			return 0, false
		}
		return sum(s.BayesKL) / float64(len(s.BayesKL)), true
	}
	return 0, false
}

// ItemID is an item's id in samples.jsonl: its prompt followed by its
// answer (the right choice for a choice item without one), the text a
// training document would hold. A variant's items are distinct in it.
func ItemID(it *tasks.Item) string {
	if it.Answer == "" && len(it.Choices) > 0 {
		return it.Prompt + it.Choices[it.Correct]
	}
	return it.Prompt + it.Answer
}

// Samples are the per-item lines of samples.jsonl for one task's items at
// step: each item's id, prompt, target, generated answer, its value of
// every metric of its variant (per-position breakdowns apart) and the
// answer's total log-probability. The id is the item's text (ItemID): a
// variant's items are drawn with one fixed seed, so it names the same item
// in every run and checkpoint (the split key does not: a+b and b+a share
// one); an id repeated within a variant is an error.
func Samples(task tasks.Task, items []tasks.Item, scores []ItemScore, step int) ([]rundir.Sample, error) {
	vs := map[string]tasks.Variant{}
	for _, v := range task.Variants() {
		vs[v.Name] = v
	}
	seen := map[[2]string]bool{}
	out := make([]rundir.Sample, 0, len(items))
	for i := range items {
		it, s := &items[i], &scores[i]
		v, ok := vs[it.Variant]
		if !ok {
			return nil, fmt.Errorf("task %s: item variant %q not in Variants()", task.Name(), it.Variant)
		}
		id := ItemID(it)
		k := [2]string{it.Variant, id}
		if seen[k] {
			return nil, fmt.Errorf("task %s: variant %s: two items with the id %q: samples need one id per item", task.Name(), it.Variant, id)
		}
		seen[k] = true
		lp, ok := answerLogProb(it, s)
		if !ok {
			return nil, fmt.Errorf("task %s: variant %s: item %q has neither an answer nor choices to score", task.Name(), it.Variant, it.Prompt)
		}
		smp := rundir.Sample{Step: step, Task: it.Variant, Item: id, Prompt: it.Prompt, Target: it.Target, Generated: s.Generated,
			Scores: map[string]float64{}, AnswerLogProb: lp}
		if smp.Target == "" {
			smp.Target = it.Answer
		}
		if it.Subtask >= 0 {
			sub := it.Subtask
			smp.Subtask = &sub
		}
		for _, m := range itemMetrics(v) {
			if x, ok := itemValue(m, it, s); ok {
				smp.Scores[m] = x
			}
		}
		out = append(out, smp)
	}
	return out, nil
}

// choiceBits is the information about the right choice, in bits, held by
// a model whose total log-probabilities of the K choices are lp:
// log2 K + log2 softmax(lp)[correct] (Allen-Zhu & Li 2024, "Physics of
// Language Models: Part 3.3": the code length saved against a uniform
// guess). It is log2 K for a certain right answer, 0 for a uniform one, and
// negative for a confident wrong one.
func choiceBits(lp []float64, correct int) float64 {
	mx := math.Inf(-1)
	for _, x := range lp {
		mx = max(mx, x)
	}
	var z float64
	for _, x := range lp {
		z += math.Exp(x - mx)
	}
	return (math.Log(float64(len(lp))) + lp[correct] - mx - math.Log(z)) / math.Ln2
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// argmax returns the first index of the largest value (−1 for none).
func argmax(xs []float64) int {
	best := -1
	for i, x := range xs {
		if best < 0 || x > xs[best] {
			best = i
		}
	}
	return best
}

func softmax(lp []float64) []float64 {
	mx := math.Inf(-1)
	for _, x := range lp {
		mx = max(mx, x)
	}
	p := make([]float64, len(lp))
	var z float64
	for i, x := range lp {
		p[i] = math.Exp(x - mx)
		z += p[i]
	}
	for i := range p {
		p[i] /= z
	}
	return p
}

// Battery is a fixed set of evaluation items over several tasks: built once
// (items drawn with seed 0, so every run and every checkpoint of a ladder is
// scored on the same items) and run at each checkpoint.
type Battery struct {
	Tasks    []tasks.Task
	Items    [][]tasks.Item
	variants []map[string]tasks.Variant
}

// MaxItems bounds the items per variant a battery draws. The held-out sets
// are far smaller for most tasks, and drawing stops only after 50 tries per
// missing item, so an absurd n would spin for hours before scoring anything.
const MaxItems = 1_000_000

// NewBattery draws up to n items per variant of each task.
func NewBattery(ts []tasks.Task, n int) (*Battery, error) {
	return NewBatteryContext(context.Background(), ts, n)
}

// NewBatteryContext is NewBattery that returns ctx's error as soon as ctx
// is done (see tasks.Draw).
func NewBatteryContext(ctx context.Context, ts []tasks.Task, n int) (*Battery, error) {
	if n < 1 || n > MaxItems {
		return nil, fmt.Errorf("items per variant must be in [1, %d], got %d", MaxItems, n)
	}
	b := &Battery{Tasks: ts}
	for _, t := range ts {
		items, err := tasks.Draw(ctx, func() []tasks.Item { return t.Eval(0, n) })
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Spec(), err)
		}
		if len(items) == 0 {
			return nil, fmt.Errorf("task %s has no evaluation items", t.Spec())
		}
		vm := map[string]tasks.Variant{}
		for _, v := range t.Variants() {
			vm[v.Name] = v
		}
		b.Items = append(b.Items, items)
		b.variants = append(b.variants, vm)
	}
	return b, nil
}

// SeqLen bounds the tokens of any sequence Run passes the model — a prompt
// with a continuation scored, or a prompt with the tokens generated after
// it (ScoreItems' budget) — capped at nctx, the model's context. It counts
// UTF-8 bytes, which bound the tokens of every tokenizer whose tokens each
// cover at least one byte: the character tokenizer and byte-level BPE.
// Memory estimates use it; a model trained elsewhere has a context (1024,
// 2048) far longer than the items.
func (b *Battery) SeqLen(nctx int) int {
	n := 1
	for i, t := range b.Tasks {
		maxAnswer := 0
		for _, it := range b.Items[i] {
			maxAnswer = max(maxAnswer, len(it.Answer))
		}
		budget := max(t.MaxLen(), maxAnswer) + 1
		for _, it := range b.Items[i] {
			cont := max(len(it.Answer), budget)
			for _, c := range it.Choices {
				cont = max(cont, len(c))
			}
			n = max(n, len(it.Prompt)+cont)
			if n >= nctx {
				return nctx
			}
		}
	}
	return min(n, nctx)
}

// Run scores every task with h and returns the aggregated lines for step.
// When h's context ends the run, the lines of the tasks finished so far
// come back with the error, for the caller to keep.
func (b *Battery) Run(h *Harness, step int) ([]rundir.Eval, error) {
	out, _, err := b.run(h, step, false)
	return out, err
}

// RunSamples is Run that also returns every item's sample line (Samples).
func (b *Battery) RunSamples(h *Harness, step int) ([]rundir.Eval, []rundir.Sample, error) {
	return b.run(h, step, true)
}

func (b *Battery) run(h *Harness, step int, samples bool) ([]rundir.Eval, []rundir.Sample, error) {
	var out []rundir.Eval
	var smp []rundir.Sample
	for i, t := range b.Tasks {
		if err := h.err(); err != nil {
			return out, smp, err
		}
		scores, err := h.ScoreItems(t, b.Items[i], b.variants[i])
		if err != nil {
			if h.err() != nil {
				return out, smp, err
			}
			return nil, nil, err
		}
		out = append(out, Aggregate(t, b.Items[i], scores, step)...)
		if samples {
			ss, err := Samples(t, b.Items[i], scores, step)
			if err != nil {
				return nil, nil, err
			}
			smp = append(smp, ss...)
		}
	}
	return out, smp, nil
}
