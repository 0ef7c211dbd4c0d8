package probe

// fourier.go: the progress measures of Nanda et al. 2023 ("Progress measures
// for grokking via mechanistic interpretability") for (a + b) mod p. A
// network that has grokked represents residues as waves cos(w_k·a),
// sin(w_k·a) at a few key frequencies w_k = 2πk/p: the embedding's energy
// concentrates on them (Gini sparsity rises), and the logits are explained
// by cos(w_k(a+b−c)) terms at those frequencies (restricted loss falls
// while, on the training pairs, the loss without them — excluded loss —
// rises as the memorising components are cleaned up).

import (
	"fmt"
	"math"
	"sort"
)

// FourierEnergy is, for frequencies k = 1 … (p−1)/2, the share of the
// non-constant energy of the residue embeddings E (p, d) (row a = residue a)
// at frequency k: ‖Σ_a E_a cos(2πka/p)‖² + ‖Σ_a E_a sin(2πka/p)‖², divided
// by the sum over k. out[k−1] is frequency k. It fails for p < 3 or an
// embedding with no non-constant energy.
func FourierEnergy(E []float32, p, d int) ([]float64, error) {
	if p < 3 || d < 1 || len(E) != p*d {
		return nil, fmt.Errorf("fourier energy: %d values for (p=%d, d=%d), need p ≥ 3", len(E), p, d)
	}
	K := (p - 1) / 2
	out := make([]float64, K)
	var total float64
	for k := 1; k <= K; k++ {
		w := 2 * math.Pi * float64(k) / float64(p)
		for j := range d {
			var c, s float64
			for a := range p {
				x := float64(E[a*d+j])
				c += x * math.Cos(w*float64(a))
				s += x * math.Sin(w*float64(a))
			}
			out[k-1] += c*c + s*s
		}
		total += out[k-1]
	}
	if total == 0 {
		return nil, fmt.Errorf("fourier energy: the embedding is constant over residues")
	}
	for i := range out {
		out[i] /= total
	}
	return out, nil
}

// KeyFrequencies returns the frequencies (1-based k) with the largest
// shares, in descending share, fewest first that together hold at least
// frac of the energy, at most maxKeys of them (maxKeys ≤ 0: no cap). Nanda
// et al. pick the key frequencies by eye from these norms; this rule
// picks the same ones for a grokked network (≈ 5 holding most energy)
// and many for a random one.
func KeyFrequencies(energy []float64, frac float64, maxKeys int) []int {
	idx := make([]int, len(energy))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return energy[idx[a]] > energy[idx[b]] })
	var keys []int
	var s float64
	for _, i := range idx {
		if s >= frac || (maxKeys > 0 && len(keys) == maxKeys) {
			break
		}
		keys = append(keys, i+1)
		s += energy[i]
	}
	return keys
}

// Gini is the Gini coefficient of non-negative x, Σ_i Σ_j |x_i − x_j| /
// (2n·Σx): 0 when all entries are equal, 1 − 1/n when one holds
// everything (Hurley & Rickard 2009 compare it with other sparsity
// measures; Nanda et al. 2023 use it on Fourier norms). NaN for an empty
// or all-zero x.
func Gini(x []float64) float64 {
	n := len(x)
	var sum float64
	for _, v := range x {
		sum += v
	}
	if n == 0 || sum == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	// Σ_i Σ_j |x_i − x_j| = 2 Σ_i (2i − n + 1)·x_(i) for sorted x (0-based).
	var acc float64
	for i, v := range s {
		acc += float64(2*i-n+1) * v
	}
	return acc / (float64(n) * sum)
}

// FourierLosses are Nanda et al.'s restricted and excluded losses.
type FourierLosses struct {
	Full       float64 // mean loss of the logits as they are, over all pairs
	Restricted float64 // over all pairs, keeping only the key-frequency cos/sin(w_k(a+b)) components of the logits
	Excluded   float64 // over the training pairs, with those components removed
}

// RestrictedExcluded computes FourierLosses from logits (p, p, p), index
// (a·p + b)·p + c = the logit of answer c for the pair (a, b) (only the
// answers' logits; any per-(a, b) constant is irrelevant), the key
// frequencies, and train (p·p, true where (a, b) is a training pair). For
// each answer c the logits as a function of (a, b) are projected on cos(w_k
// (a+b)) and sin(w_k(a+b)), orthogonal over the p×p grid with squared norm
// p²/2 each. Loss is the cross-entropy of the true answer (a+b) mod p
// under the softmax over c, in nats. It fails when no pair is a training
// pair.
func RestrictedExcluded(logits []float64, p int, keys []int, train []bool) (FourierLosses, error) {
	if p < 3 || len(logits) != p*p*p || len(train) != p*p {
		return FourierLosses{}, fmt.Errorf("fourier losses: %d logits and %d train flags for p=%d", len(logits), len(train), p)
	}
	proj := make([]float64, p*p*p) // the key-frequency part, same layout
	for _, k := range keys {
		if k < 1 || k > (p-1)/2 {
			return FourierLosses{}, fmt.Errorf("fourier losses: key frequency %d outside [1, %d]", k, (p-1)/2)
		}
		w := 2 * math.Pi * float64(k) / float64(p)
		cs, sn := make([]float64, p), make([]float64, p) // by (a+b) mod p
		for s := range p {
			cs[s], sn[s] = math.Cos(w*float64(s)), math.Sin(w*float64(s))
		}
		// (a+b) mod p is kept as a running index s: a division per
		// term was the largest part of the grokking study's probe step.
		for c := range p {
			var alpha, beta float64
			for a := range p {
				s := a
				for b := range p {
					f := logits[(a*p+b)*p+c]
					alpha += f * cs[s]
					beta += f * sn[s]
					if s++; s == p {
						s = 0
					}
				}
			}
			alpha, beta = 2*alpha/float64(p*p), 2*beta/float64(p*p)
			for a := range p {
				s := a
				for b := range p {
					proj[(a*p+b)*p+c] += alpha*cs[s] + beta*sn[s]
					if s++; s == p {
						s = 0
					}
				}
			}
		}
	}
	ce := func(row []float64, y int) float64 {
		mx := math.Inf(-1) // the maximum by comparison, as logSumExp's
		for _, v := range row {
			if v != v {
				return v
			}
			if v > mx {
				mx = v
			}
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		return mx + math.Log(s) - row[y]
	}
	var out FourierLosses
	nTrain := 0
	ex := make([]float64, p)
	for a := range p {
		for b := range p {
			i := (a*p + b) * p
			y := (a + b) % p
			out.Full += ce(logits[i:i+p], y)
			out.Restricted += ce(proj[i:i+p], y)
			if train[a*p+b] {
				for c := range p {
					ex[c] = logits[i+c] - proj[i+c]
				}
				out.Excluded += ce(ex, y)
				nTrain++
			}
		}
	}
	if nTrain == 0 {
		return FourierLosses{}, fmt.Errorf("fourier losses: no training pairs")
	}
	out.Full /= float64(p * p)
	out.Restricted /= float64(p * p)
	out.Excluded /= float64(nTrain)
	return out, nil
}
