package probe

// neurons.go: is a variable carried by single neurons or spread over a
// layer? The selectivity of each MLP neuron for a variable, the best
// single neuron as a probe against the whole layer, and mean ablation of
// any set of directions of an MLP layer's hidden activations — a few
// neurons or as many random directions — to see whether a small set
// carries an ability.

import (
	"fmt"
	"math"
	"math/rand/v2"

	"emlab/internal/nn"
)

// Selectivity returns, for each of the d columns of x (n, d), Fisher's
// correlation ratio η² for the labels y: the between-class sum of squares
// over the total sum of squares, the share of the column's variance the
// class explains. It lies in [0, 1]: 0 when every class has the same
// mean, 1 when the column is constant within each class and varies
// between them; a constant column scores 0.
func Selectivity(x []float64, y []int, n, d int) ([]float64, error) {
	if n < 2 || d < 1 || len(x) != n*d || len(y) != n {
		return nil, fmt.Errorf("selectivity: %d values and %d labels for (n=%d, d=%d)", len(x), len(y), n, d)
	}
	classes := map[int]int{}
	for _, c := range y {
		if _, ok := classes[c]; !ok {
			classes[c] = len(classes)
		}
	}
	K := len(classes)
	count := make([]float64, K)
	for _, c := range y {
		count[classes[c]]++
	}
	out := make([]float64, d)
	sum := make([]float64, K)
	for j := range d {
		clear(sum)
		var mean float64
		for i := range n {
			v := x[i*d+j]
			sum[classes[y[i]]] += v
			mean += v
		}
		mean /= float64(n)
		var total, between float64
		for i := range n {
			dv := x[i*d+j] - mean
			total += dv * dv
		}
		for c := range K {
			dm := sum[c]/count[c] - mean
			between += count[c] * dm * dm
		}
		if total > 1e-12*float64(n)*(1+mean*mean) {
			out[j] = math.Min(between/total, 1)
		}
	}
	return out, nil
}

// BestSingleNeuron fits a one-feature LinearProbe on each column of x
// (n, d), trained on the first nTrain rows, and returns the column with
// the highest training accuracy (the lowest index among ties) with its
// result, whose Accuracy is on the held-out rows. Choosing on the training
// rows keeps the held-out accuracy an honest estimate for the chosen
// neuron; choosing on the held-out rows would report the luckiest of d.
// A single feature can still separate several classes (a multinomial
// logistic regression on one input cuts the line into intervals).
func BestSingleNeuron(x []float64, y []int, n, d, nTrain int) (int, ProbeResult, error) {
	if d < 1 || len(x) != n*d {
		return -1, ProbeResult{}, fmt.Errorf("best single neuron: %d values for (n=%d, d=%d)", len(x), n, d)
	}
	col := make([]float64, n)
	best, arg := ProbeResult{TrainAccuracy: -1}, -1
	for j := range d {
		for i := range n {
			col[i] = x[i*d+j]
		}
		res, err := LinearProbe(col, y, n, 1, nTrain)
		if err != nil {
			return -1, ProbeResult{}, fmt.Errorf("neuron %d: %w", j, err)
		}
		if res.TrainAccuracy > best.TrainAccuracy {
			best, arg = res, j
		}
	}
	return arg, best, nil
}

// MLPAblation mean-ablates directions of one GPT layer's MLP hidden
// activations h = blocks.<Layer>.mlp.post (F = HiddenMLP values per
// token). With P the orthogonal projection on the span of Dirs
// (orthonormal vectors of length F), h is replaced by h − P(h − Mean): its
// component along the directions is set to the mean's, the rest is kept.
// Ablating neuron j is Dirs = {e_j}; k random directions are the control
// for k neurons.
type MLPAblation struct {
	Layer int
	Dirs  [][]float64
	Mean  []float64 // (F) the mean activation, e.g. over a reference batch
}

// ApplyMLPAblations edits the weights of m so that every ablation holds in
// later forward passes, and returns a function that restores the weights
// bit for bit. Since mlp_out = h·W + b with W = mlp.c_proj.weight (F, C)
// and b its bias, replacing h by h − P(h − Mean) is W ← W − P·W and
// b ← b + Mean·P·W, computed in float64. It fails, changing nothing, for
// a model without these weights, a layer out of range, directions of the
// wrong length or not orthonormal (to 1e-6), or a mean of the wrong
// length.
func ApplyMLPAblations(m nn.Model, abl []MLPAblation) (restore func(), err error) {
	cfg := m.Config()
	F, C := cfg.HiddenMLP(), cfg.DModel
	type edit struct {
		w, b   []float32
		sw, sb []float32
	}
	var edits []edit
	restore = func() {
		for i := len(edits) - 1; i >= 0; i-- {
			copy(edits[i].w, edits[i].sw)
			copy(edits[i].b, edits[i].sb)
		}
	}
	for _, a := range abl {
		if err := checkAblation(cfg, a); err != nil {
			restore()
			return nil, err
		}
		wn, bn := fmt.Sprintf("h.%d.mlp.c_proj.weight", a.Layer), fmt.Sprintf("h.%d.mlp.c_proj.bias", a.Layer)
		wp, ok1 := m.Params().Lookup(wn)
		_, ok2 := m.Params().Lookup(bn)
		if !ok1 || !ok2 || len(wp.Shape) != 2 || wp.Shape[0] != F || wp.Shape[1] != C {
			restore()
			return nil, fmt.Errorf("mlp ablation: the %s model has no %s of shape (%d, %d) and %s", cfg.Arch, wn, F, C, bn)
		}
		w, b := m.Params().Get(wn), m.Params().Get(bn)
		e := edit{w: w, b: b, sw: append([]float32(nil), w...), sb: append([]float32(nil), b...)}
		edits = append(edits, e)
		// P·W = Σ_r r (rᵀW): for each direction, u = rᵀW (C), then
		// W −= r uᵀ and b += (Mean·r) u.
		dw := make([]float64, F*C)
		db := make([]float64, C)
		u := make([]float64, C)
		for _, r := range a.Dirs {
			clear(u)
			for f, rf := range r {
				if rf == 0 {
					continue
				}
				for c := range C {
					u[c] += rf * float64(e.sw[f*C+c])
				}
			}
			var mr float64
			for f, rf := range r {
				mr += a.Mean[f] * rf
			}
			for f, rf := range r {
				if rf == 0 {
					continue
				}
				for c := range C {
					dw[f*C+c] += rf * u[c]
				}
			}
			for c := range C {
				db[c] += mr * u[c]
			}
		}
		for i := range w {
			w[i] = float32(float64(e.sw[i]) - dw[i])
		}
		for c := range b {
			b[c] = float32(float64(e.sb[c]) + db[c])
		}
	}
	return restore, nil
}

func checkAblation(cfg nn.Config, a MLPAblation) error {
	F := cfg.HiddenMLP()
	if a.Layer < 0 || a.Layer >= cfg.NLayers {
		return fmt.Errorf("mlp ablation: no layer %d in a model with %d", a.Layer, cfg.NLayers)
	}
	if len(a.Mean) != F {
		return fmt.Errorf("mlp ablation: layer %d: mean of length %d, want %d", a.Layer, len(a.Mean), F)
	}
	for i, r := range a.Dirs {
		if len(r) != F {
			return fmt.Errorf("mlp ablation: layer %d: direction %d of length %d, want %d", a.Layer, i, len(r), F)
		}
		for j := range i + 1 {
			var dot float64
			for f := range F {
				dot += r[f] * a.Dirs[j][f]
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(dot-want) > 1e-6 {
				return fmt.Errorf("mlp ablation: layer %d: directions %d and %d have dot product %.3g, want %g (orthonormal)", a.Layer, i, j, dot, want)
			}
		}
	}
	return nil
}

// NeuronDirs returns the unit vectors of the given neurons in R^F.
func NeuronDirs(neurons []int, F int) [][]float64 {
	out := make([][]float64, len(neurons))
	for i, j := range neurons {
		out[i] = make([]float64, F)
		out[i][j] = 1
	}
	return out
}

// RandomDirections returns k orthonormal directions in R^F drawn uniformly
// (Gaussian vectors, Gram–Schmidt). It fails for k > F.
func RandomDirections(r *rand.Rand, k, F int) ([][]float64, error) {
	if k < 0 || k > F {
		return nil, fmt.Errorf("random directions: %d directions in %d dimensions", k, F)
	}
	out := make([][]float64, 0, k)
	for len(out) < k {
		v := make([]float64, F)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		// Gram–Schmidt twice for round-off ("twice is enough").
		for range 2 {
			for _, u := range out {
				var dot float64
				for i := range v {
					dot += v[i] * u[i]
				}
				for i := range v {
					v[i] -= dot * u[i]
				}
			}
		}
		var norm float64
		for _, x := range v {
			norm += x * x
		}
		norm = math.Sqrt(norm)
		if norm < 1e-6 {
			continue // a draw inside the span so far: draw again
		}
		for i := range v {
			v[i] /= norm
		}
		out = append(out, v)
	}
	return out, nil
}
