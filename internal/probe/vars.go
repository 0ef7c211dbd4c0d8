package probe

// vars.go: the task variables the linear and neuron probes read, where in
// a prompt each is read, and the activations at those places. Tasks give
// the variables and their offsets in Item.Vars; nothing here parses a
// task's text.

import (
	"fmt"
	"slices"

	"emlab/internal/data"
	"emlab/internal/rundir"
	"emlab/internal/tasks"
)

// probeVar is a variable the probes read: Item.Vars[name], element k
// written "name/k" when items have several. at names the Item.Vars key
// giving, for each element, the prompt offset where it is read (the token
// there); empty means the prompt's last token, the one that predicts the
// first answer token. as, when set, pools every element under that one
// name (the digit at the position read is "current", whichever operand
// and column it belongs to). Levels (rundir.VarLevel): a, b, current and
// entity are written in the prompt, carry, digits and bridge are computed.
type probeVar struct{ name, at, as string }

var probeVars = map[string][]probeVar{
	"add": {{name: "a"}, {name: "b"}, {name: "carry"}, {name: "digits"},
		{name: "a", at: "a_pos", as: "current"}, {name: "b", at: "b_pos", as: "current"}},
	"multihop": {{name: "entity"}, {name: "bridge"}},
	"chain":    {{name: "entity"}, {name: "bridge"}},
}

// site is one place a probe reads: token position pos of item's prompt.
type site struct{ item, pos int }

// varData is one probed variable: the sites where it is read and the
// label at each.
type varData struct {
	name   string
	sites  []site
	labels []int
}

// minProbeRows is the fewest sites a variable needs to be fitted and
// tested (60/40): fewer leave too few test rows to score.
const minProbeRows = 20

// probeItems returns the items of task t whose variables the probes read:
// up to e.items() per variant of the clean variants training shows
// (Trained, not Perturbs, not Memorised: a representation of an input the
// model never saw the like of says nothing about how it computes),
// shuffled with the probe seed so that a 60/40 split mixes the variants.
// Drawing stops when e's context is done.
func probeItems(e *Env, t tasks.Task) ([]tasks.Item, error) {
	ok := map[string]bool{}
	for _, v := range t.Variants() {
		ok[v.Name] = v.Trained && v.Perturbs == "" && !v.Memorised
	}
	all, err := e.draw(func() []tasks.Item { return t.Eval(e.Seed, e.items()) })
	if err != nil {
		return nil, err
	}
	var items []tasks.Item
	for _, it := range all {
		if ok[it.Variant] {
			items = append(items, it)
		}
	}
	r := data.RNG(e.Seed, "probe/linear/"+t.Spec())
	r.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	return items, nil
}

// taskVars collects, in probeVars order, every variable of t with at
// least minProbeRows sites among items. prompts are the items' token ids
// (for checking offsets). A variable read at offsets needs one offset per
// element inside the prompt, or it is an error naming the item.
func taskVars(t tasks.Task, items []tasks.Item, prompts [][]int32) ([]varData, error) {
	var out []varData
	index := map[string]int{}
	add := func(name string, s site, label int) {
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			out = append(out, varData{name: name})
		}
		out[i].sites = append(out[i].sites, s)
		out[i].labels = append(out[i].labels, label)
	}
	for _, pv := range probeVars[t.Name()] {
		maxK := 0
		for _, it := range items {
			maxK = max(maxK, len(it.Vars[pv.name]))
		}
		for k := range maxK {
			name := pv.name
			switch {
			case pv.as != "":
				name = pv.as
			case maxK > 1:
				name = fmt.Sprintf("%s/%d", pv.name, k)
			}
			for i, it := range items {
				vals := it.Vars[pv.name]
				if len(vals) <= k {
					continue
				}
				pos := len(prompts[i]) - 1
				if pv.at != "" {
					at := it.Vars[pv.at]
					if len(at) != len(vals) || at[k] < 0 || at[k] >= len(prompts[i]) {
						return nil, fmt.Errorf("%s item %q: %s %v does not give an offset inside the prompt for each of %s %v",
							t.Name(), it.Prompt, pv.at, at, pv.name, vals)
					}
					pos = at[k]
				}
				add(name, site{i, pos}, vals[k])
			}
		}
	}
	return slices.DeleteFunc(out, func(v varData) bool { return len(v.sites) < minProbeRows }), nil
}

// actsAt runs the prompts (padded after their end with the separator,
// which a causal model never sees from earlier positions) and returns,
// for each named activation, its rows at sites, in the order of sites:
// feats[name] is (len(sites), d) with d = dims[name], the activation's
// last dimension. Sites of one item may repeat or come in any order.
func actsAt(e *Env, prompts [][]int32, sites []site, names []string) (map[string][]float64, map[string]int, error) {
	byItem := map[int][]int{} // item → indices into sites
	for i, s := range sites {
		byItem[s.item] = append(byItem[s.item], i)
	}
	feats, dims := map[string][]float64{}, map[string]int{}
	sep := int32(0)
	if e.Tok != nil {
		sep = e.Tok.Sep()
	}
	var items []int
	for it := range byItem {
		items = append(items, it)
	}
	slices.Sort(items)
	bs := e.batch()
	for b0 := 0; b0 < len(items); b0 += bs {
		if err := e.err(); err != nil {
			return nil, nil, err
		}
		batch := items[b0:min(b0+bs, len(items))]
		T := 0
		for _, it := range batch {
			T = max(T, len(prompts[it]))
		}
		toks := make([]int32, len(batch)*T)
		for i := range toks {
			toks[i] = sep
		}
		for i, it := range batch {
			copy(toks[i*T:], prompts[it])
		}
		c, err := RunWithCache(e.Model, toks, len(batch), T, names...)
		if err != nil {
			return nil, nil, err
		}
		for _, name := range names {
			x, s, _ := c.Get(name)
			d := s[len(s)-1] // (B, T, d) for every per-layer representation
			if dims[name] == 0 {
				dims[name] = d
				feats[name] = make([]float64, len(sites)*d)
			}
			for i, it := range batch {
				for _, si := range byItem[it] {
					row := x[(i*T+sites[si].pos)*d : (i*T+sites[si].pos+1)*d]
					dst := feats[name][si*d : (si+1)*d]
					for j, v := range row {
						dst[j] = float64(v)
					}
				}
			}
		}
	}
	return feats, dims, nil
}

// gather returns the rows of feats (d columns) at the given site indices.
func gather(feats []float64, d int, idx []int) []float64 {
	out := make([]float64, 0, len(idx)*d)
	for _, i := range idx {
		out = append(out, feats[i*d:(i+1)*d]...)
	}
	return out
}

// probeSet is everything the variable probes of one task share: its
// items, their prompts, its variables and the activations at every site.
type probeSet struct {
	task    tasks.Task
	items   []tasks.Item
	prompts [][]int32
	vars    []varData
	sites   []site  // the union of the variables' sites
	siteOf  [][]int // [var][row] → index into sites
	feats   map[string][]float64
	dims    map[string]int
}

// newProbeSet reads the variables of task t at the named activations.
func newProbeSet(e *Env, t tasks.Task, names []string) (*probeSet, error) {
	ps := &probeSet{task: t}
	var err error
	if ps.items, err = probeItems(e, t); err != nil {
		return nil, err
	}
	if ps.prompts, err = encodePrompts(e.Tok, ps.items); err != nil {
		return nil, err
	}
	if ps.vars, err = taskVars(t, ps.items, ps.prompts); err != nil {
		return nil, err
	}
	at := map[site]int{}
	for _, v := range ps.vars {
		idx := make([]int, len(v.sites))
		for r, s := range v.sites {
			i, ok := at[s]
			if !ok {
				i = len(ps.sites)
				at[s] = i
				ps.sites = append(ps.sites, s)
			}
			idx[r] = i
		}
		ps.siteOf = append(ps.siteOf, idx)
	}
	if len(ps.sites) == 0 {
		return ps, nil
	}
	ps.feats, ps.dims, err = actsAt(e, ps.prompts, ps.sites, names)
	return ps, err
}

// rows returns variable v's features at activation name, (n, d).
func (ps *probeSet) rows(v int, name string) ([]float64, int) {
	d := ps.dims[name]
	return gather(ps.feats[name], d, ps.siteOf[v]), d
}

// lastToken reports whether variable v is read at the prompt's last
// token for every row (the place where the answer is computed).
func (ps *probeSet) lastToken(v int) bool {
	for _, s := range ps.vars[v].sites {
		if s.pos != len(ps.prompts[s.item])-1 {
			return false
		}
	}
	return true
}

// highLevel reports whether variable v is computed, not written in the
// prompt (rundir.VarLevel).
func (ps *probeSet) highLevel(v int) bool { return rundir.VarLevel(ps.vars[v].name) == rundir.VarHigh }
