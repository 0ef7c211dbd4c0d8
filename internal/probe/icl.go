package probe

import (
	"fmt"
	"math"

	"emlab/internal/nn"
)

// PerPositionLoss runs m on tokens (B, T) and returns, for each position t,
// the mean next-token loss (nats) over the sequences whose target at t is
// counted (targets ≥ 0), and how many were counted (loss NaN where none).
func PerPositionLoss(m nn.Model, tokens, targets []int32, B, T int) (loss []float64, count []int, err error) {
	if len(tokens) != B*T || len(targets) != B*T {
		return nil, nil, fmt.Errorf("per-position loss: %d tokens, %d targets for (B=%d, T=%d)", len(tokens), len(targets), B, T)
	}
	m.Forward(tokens, nil, B, T)
	V := m.Config().DVocab
	logits := m.Logits()
	loss, count = make([]float64, T), make([]int, T)
	for b := range B {
		for t := range T {
			y := targets[b*T+t]
			if y < 0 {
				continue
			}
			row := logits[(b*T+t)*V : (b*T+t+1)*V]
			loss[t] += logSumExp(row) - float64(row[y])
			count[t]++
		}
	}
	for t := range loss {
		if count[t] == 0 {
			loss[t] = math.NaN()
		} else {
			loss[t] /= float64(count[t])
		}
	}
	return loss, count, nil
}

// logSumExp is log Σ exp(row), shifted by the row's maximum. The maximum
// is found with comparisons rather than math.Max (a call per element, a
// noticeable share of the icl probe): they differ only at NaN, +Inf and
// signed zeros, where the sum comes out the same (NaN, NaN, and the same
// exponentials), as fastpaths_test.go checks against the math.Max form.
func logSumExp(row []float32) float64 {
	mx := math.Inf(-1)
	for _, x := range row {
		v := float64(x)
		if v != v {
			return v
		}
		if v > mx {
			mx = v
		}
	}
	var s float64
	for _, x := range row {
		s += math.Exp(float64(x) - mx)
	}
	return mx + math.Log(s)
}

// ICLPositions are the early and late positions of the in-context learning
// score for a context of nctx tokens: Olsson et al. 2022 (§ "In-context
// learning score") take the loss at the 500th token minus the loss at the
// 50th in a 512-token context, so here early = round(50·nctx/512) − 1 and
// late = round(500·nctx/512) − 1 (0-based), at least 0 and 1 apart.
func ICLPositions(nctx int) (early, late int) {
	early = max(int(math.Round(50*float64(nctx)/512))-1, 0)
	late = max(int(math.Round(500*float64(nctx)/512))-1, early+1)
	return early, late
}

// ICLScore is loss[late] − loss[early] for the positions of ICLPositions
// (len(curve) = nctx): negative when later tokens are predicted better,
// i.e. the model uses its context; ≈ 0 for a model that ignores it (a
// unigram model, or random weights). It fails when the curve is too short
// or a needed position has no loss.
func ICLScore(curve []float64) (score float64, early, late int, err error) {
	early, late = ICLPositions(len(curve))
	if late >= len(curve) {
		return 0, early, late, fmt.Errorf("icl score: a curve of %d positions is too short", len(curve))
	}
	if math.IsNaN(curve[early]) || math.IsNaN(curve[late]) {
		return 0, early, late, fmt.Errorf("icl score: no loss measured at position %d or %d", early, late)
	}
	return curve[late] - curve[early], early, late, nil
}
