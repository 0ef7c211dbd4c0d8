package probe

// suite_neurons.go: the probes of distributed representation — the best
// single MLP neuron against the whole layer for each task variable, and
// the ability with the most selective neurons ablated against as many
// random directions.

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"

	"emlab/internal/data"
	"emlab/internal/eval"
	"emlab/internal/nn"
	"emlab/internal/rundir"
	"emlab/internal/tasks"
)

// needNeurons: a GPT with MLPs (the neurons) and a task with probe
// variables.
func needNeurons(e *Env) error {
	if err := needGPT(e); err != nil {
		return err
	}
	cfg := e.Model.Config()
	if _, ok := e.Model.Params().Lookup("h.0.mlp.c_proj.weight"); !ok || cfg.AttnOnly {
		return fmt.Errorf("needs MLP neurons (h.<l>.mlp.c_proj.weight); the %s model has none", cfg.Arch)
	}
	return needProbeVars(e)
}

func mlpNames(L int) []string {
	out := make([]string, L)
	for l := range out {
		out[l] = nn.ActName("mlp_post", l)
	}
	return out
}

// runNeuronProbes: for every high-level variable read at the prompt's
// last token (rundir.VarLevel: carries, answer digits, the bridge entity)
// and every MLP layer, the held-out accuracy of a linear probe on the whole
// layer (neuron_layer) and of the best single neuron (neuron_best, Index =
// the neuron, chosen on the training rows), with the majority rate as Ref.
func runNeuronProbes(e *Env, step int) ([]rundir.Probe, error) {
	names := mlpNames(e.Model.Config().NLayers)
	var out []rundir.Probe
	for _, t := range e.Tasks {
		if _, ok := probeVars[t.Name()]; !ok {
			continue
		}
		ps, err := newProbeSet(e, t, names)
		if err != nil {
			return nil, err
		}
		var vars []int
		for v := range ps.vars {
			if ps.lastToken(v) && ps.highLevel(v) {
				vars = append(vars, v)
			}
		}
		// One independent pair of fits per (variable, layer), in parallel,
		// each pair of rows in its serial place.
		rows := make([]rundir.Probe, 2*len(vars)*len(names))
		err = forEach(len(vars)*len(names), func(r int) error {
			v, l := vars[r/len(names)], r%len(names)
			vd := ps.vars[v]
			n := len(vd.labels)
			x, d := ps.rows(v, names[l])
			whole, err := LinearProbe(x, vd.labels, n, d, n*6/10)
			if err != nil {
				return fmt.Errorf("%s %s layer %d: %w", t.Name(), vd.name, l, err)
			}
			j, one, err := BestSingleNeuron(x, vd.labels, n, d, n*6/10)
			if err != nil {
				return fmt.Errorf("%s %s layer %d: %w", t.Name(), vd.name, l, err)
			}
			rows[2*r] = rundir.Probe{Step: step, Probe: rundir.ProbeNeuronLayer, Layer: l, Head: -1, Value: whole.Accuracy, Ref: fp(whole.Majority),
				Task: t.Spec(), Var: vd.name, N: whole.NTest}
			rows[2*r+1] = rundir.Probe{Step: step, Probe: rundir.ProbeNeuronBest, Layer: l, Head: -1, Index: ip(j), Value: one.Accuracy, Ref: fp(one.Majority),
				Task: t.Spec(), Var: vd.name, N: one.NTest}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// ablationDraws is the number of random direction sets averaged per k.
const ablationDraws = 4

// runNeuronAblation: the ability (teacher-forced answer accuracy on the
// probe items) with the k most selective MLP neurons mean-ablated
// (ablate_selective) and with k random directions in the same layers
// (ablate_random, the mean over ablationDraws draws), for k = 1, 2, 4, …
// up to a quarter of all neurons; Ref is the intact accuracy. A neuron's
// selectivity is its largest η² over the task's high-level variables read
// at the last prompt token (carries and answer digits, the bridge entity).
// The means are over every input position of the items (prompt and
// teacher-forced answer).
func runNeuronAblation(e *Env, step int) ([]rundir.Probe, error) {
	cfg := e.Model.Config()
	L, F := cfg.NLayers, cfg.HiddenMLP()
	names := mlpNames(L)
	h := &eval.Harness{Model: e.Model, Tok: e.Tok, BatchSize: e.batch(), Ctx: e.Ctx}
	var out []rundir.Probe
	for _, t := range e.Tasks {
		if _, ok := probeVars[t.Name()]; !ok {
			continue
		}
		ps, err := newProbeSet(e, t, names)
		if err != nil {
			return nil, err
		}
		sel := make([][]float64, L)
		for l := range sel {
			sel[l] = make([]float64, F)
		}
		high := 0
		for v, vd := range ps.vars {
			if !ps.lastToken(v) || !ps.highLevel(v) {
				continue
			}
			high++
			for l, name := range names {
				x, d := ps.rows(v, name)
				s, err := Selectivity(x, vd.labels, len(vd.labels), d)
				if err != nil {
					return nil, fmt.Errorf("%s %s layer %d: %w", t.Name(), vd.name, l, err)
				}
				for j := range s {
					sel[l][j] = max(sel[l][j], s[j])
				}
			}
		}
		if high == 0 {
			continue // no high-level variable to rank the neurons by
		}
		means, err := mlpMeans(e, ps.items, names)
		if err != nil {
			return nil, err
		}
		var ks []int
		for k := 1; k <= L*F/4; k *= 2 {
			ks = append(ks, k)
		}
		spec := t.Spec()
		rng := func(k, d int) *rand.Rand { return data.RNG(e.Seed, fmt.Sprintf("probe/ablate/%s/%d/%d", spec, k, d)) }
		metric := func(m nn.Model) (float64, error) { return answerAccuracy(h, e.Tok, ps.items) }
		intact, pts, err := SelectiveAblation(e.Model, sel, means, ks, ablationDraws, rng, metric)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		for _, p := range pts {
			row := func(probe string, v float64) rundir.Probe {
				return rundir.Probe{Step: step, Probe: probe, Layer: -1, Head: -1, Index: ip(p.K), Value: v, Ref: fp(intact), Task: spec, N: len(ps.items)}
			}
			out = append(out, row(rundir.ProbeAblateSelective, p.Selective), row(rundir.ProbeAblateRandom, p.Random))
		}
	}
	return out, nil
}

// AblationPoint is a metric with the K most selective neurons ablated and
// its mean over draws with K random directions in the same layers.
type AblationPoint struct {
	K                 int
	Selective, Random float64
}

// SelectiveAblation measures metric on m intact and, for each k of ks,
// with the k neurons of highest selectivity mean-ablated (sel[l][j] is
// neuron j of MLP layer l; the ranking is over all layers together, ties
// to the lower layer and neuron), and averaged over draws sets of random
// orthonormal directions with as many directions in each layer as the
// selective set has neurons there (rng(k, d) gives draw d's generator).
// means[l] is layer l's mean activation (MLPAblation.Mean). The weights
// are restored bit for bit after every measurement. k must not exceed
// the number of neurons.
func SelectiveAblation(m nn.Model, sel, means [][]float64, ks []int, draws int, rng func(k, d int) *rand.Rand, metric Metric) (intact float64, pts []AblationPoint, err error) {
	type neuron struct {
		layer, j int
		s        float64
	}
	var ranks []neuron
	for l, row := range sel {
		for j, s := range row {
			ranks = append(ranks, neuron{l, j, s})
		}
	}
	slices.SortStableFunc(ranks, func(a, b neuron) int { return cmp.Compare(b.s, a.s) })
	measure := func(abl []MLPAblation) (float64, error) {
		restore, err := ApplyMLPAblations(m, abl)
		if err != nil {
			return 0, err
		}
		defer restore()
		return metric(m)
	}
	if intact, err = measure(nil); err != nil {
		return 0, nil, err
	}
	F := m.Config().HiddenMLP()
	for _, k := range ks {
		if k < 1 || k > len(ranks) {
			return 0, nil, fmt.Errorf("selective ablation: k=%d outside [1, %d neurons]", k, len(ranks))
		}
		perLayer := make([][]int, len(sel))
		for _, r := range ranks[:k] {
			perLayer[r.layer] = append(perLayer[r.layer], r.j)
		}
		var abl []MLPAblation
		for l, js := range perLayer {
			if len(js) > 0 {
				abl = append(abl, MLPAblation{Layer: l, Dirs: NeuronDirs(js, F), Mean: means[l]})
			}
		}
		p := AblationPoint{K: k}
		if p.Selective, err = measure(abl); err != nil {
			return 0, nil, err
		}
		for d := range draws {
			g := rng(k, d)
			var abl []MLPAblation
			for l, js := range perLayer {
				if len(js) == 0 {
					continue
				}
				dirs, err := RandomDirections(g, len(js), F)
				if err != nil {
					return 0, nil, err
				}
				abl = append(abl, MLPAblation{Layer: l, Dirs: dirs, Mean: means[l]})
			}
			a, err := measure(abl)
			if err != nil {
				return 0, nil, err
			}
			p.Random += a / float64(draws)
		}
		pts = append(pts, p)
	}
	return intact, pts, nil
}

// mlpMeans returns each named activation's mean over every input position
// of the items run teacher-forced: the prompt and the answer but its last
// token (which is only a target).
func mlpMeans(e *Env, items []tasks.Item, names []string) ([][]float64, error) {
	seqs := make([][]int32, len(items))
	for i := range items {
		p, a, _, err := tasks.EncodeItem(e.Tok, &items[i])
		if err != nil {
			return nil, err
		}
		if len(a) > 0 {
			a = a[:len(a)-1]
		}
		seqs[i] = append(append([]int32(nil), p...), a...)
	}
	var sites []site
	for i, s := range seqs {
		for pos := range s {
			sites = append(sites, site{i, pos})
		}
	}
	feats, dims, err := actsAt(e, seqs, sites, names)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(names))
	for l, name := range names {
		d := dims[name]
		out[l] = make([]float64, d)
		for i := range sites {
			for j := range d {
				out[l][j] += feats[name][i*d+j]
			}
		}
		for j := range d {
			out[l][j] /= float64(len(sites))
		}
	}
	return out, nil
}
