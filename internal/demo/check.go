package demo

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"emlab/internal/report/assemble"
)

// Finding is one claim the demo must show, with the evidence for it.
type Finding struct {
	Claim  string   `json:"claim"`
	Pass   bool     `json:"pass"`
	Detail string   `json:"detail"`
	Items  []string `json:"items,omitempty"`
}

// Thresholds of the checks (issue 7): a head counts as an induction head
// at prefix-matching ≥ 0.5 and as none below 0.3; grokking means held-out
// accuracy from under 20% to over 90% after train accuracy passed 99%;
// a quanta subtask is solved at accuracy ≥ 0.95.
const (
	inductionOn   = 0.5
	inductionNone = 0.3
	grokLow       = 0.2
	grokHigh      = 0.9
	grokTrain     = 0.99
	quantaSolved  = 0.95
)

// sharpMetrics are the metrics whose emergence counts as an ability's.
var sharpMetrics = map[string]bool{"exact_match": true, "mc_grade": true}

// Check evaluates the demo's claims on the analysis of the ladder and on
// the study runs.
func Check(lines []assemble.Line, runs, ladder []*assemble.Run) []Finding {
	return []Finding{
		checkEmergent(lines, ladder),
		checkArtifact(lines),
		checkInduction(runs),
		checkGrokking(runs),
		checkQuanta(runs),
	}
}

// checkEmergent: at least three abilities (task variants) whose sharp
// metric is classified emergent against parameters with an x_star interval
// that excludes the smallest rung.
func checkEmergent(lines []assemble.Line, ladder []*assemble.Run) Finding {
	f := Finding{Claim: "at least three abilities emerge, with x* intervals above the smallest rung"}
	smallest := math.Inf(1)
	for _, r := range ladder {
		smallest = math.Min(smallest, r.Params)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		if l.Axis != "params" || !l.Emergent || !sharpMetrics[l.Metric] || seen[l.Task] {
			continue
		}
		lo := float64(l.XStarLo)
		if math.IsNaN(lo) || lo <= smallest {
			continue
		}
		seen[l.Task] = true
		f.Items = append(f.Items, fmt.Sprintf("%s %s x*=%.3g [%.3g, %.3g]", l.Task, l.Metric, float64(l.XStar), lo, float64(l.XStarHi)))
	}
	sort.Strings(f.Items)
	f.Pass = len(f.Items) >= 3
	f.Detail = fmt.Sprintf("%d emergent abilities (smallest rung %.3g params)", len(f.Items), smallest)
	return f
}

// checkArtifact: a task whose sharp metric looks emergent (or stays flat)
// while a smooth metric of the same outputs rises smoothly — the mirage of
// Schaeffer et al. 2023.
func checkArtifact(lines []assemble.Line) Finding {
	f := Finding{Claim: "at least one ability is shown to be a metric artifact (its smooth metric is smooth)"}
	smooth := map[string][]string{} // task → smooth metrics classified smooth
	sharp := map[string]string{}    // task → sharp verdict
	for _, l := range lines {
		if l.Axis != "params" {
			continue
		}
		switch {
		case sharpMetrics[l.Metric]:
			if _, ok := sharp[l.Task]; !ok {
				sharp[l.Task] = l.Verdict
			}
		case l.Metric == "token_accuracy" || l.Metric == "logprob":
			if l.Verdict == "smooth" {
				smooth[l.Task] = append(smooth[l.Task], l.Metric)
			}
		}
		if l.Mirage != nil && l.Mirage.Mirage {
			f.Items = append(f.Items, fmt.Sprintf("%s: %s %s while %s %s (%s)", l.Task, l.Mirage.SharpMetric, l.Mirage.SharpVerdict,
				l.Mirage.SmoothMetric, l.Mirage.SmoothVerdict, l.Mirage.SmoothFit))
		}
	}
	for task, v := range sharp {
		if v == "flat" && len(smooth[task]) > 0 {
			f.Items = append(f.Items, fmt.Sprintf("%s: exact match flat while %s rise smoothly", task, strings.Join(smooth[task], " and ")))
		}
	}
	sort.Strings(f.Items)
	f.Items = dedupe(f.Items)
	f.Pass = len(f.Items) > 0
	f.Detail = fmt.Sprintf("%d tasks where a smooth metric explains the sharp one", len(f.Items))
	return f
}

func dedupe(xs []string) []string {
	var out []string
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// bestByStep returns, per step, the largest value of probe among heads of
// layer (any layer when layer < 0).
func bestByStep(r *assemble.Run, probe string, layer int) (steps []int, best []float64) {
	m := map[int]float64{}
	for _, p := range r.Probes {
		if p.Probe != probe || (layer >= 0 && p.Layer != layer) || p.Head < 0 {
			continue
		}
		if v, ok := m[p.Step]; !ok || p.Value > v {
			m[p.Step] = p.Value
		}
	}
	for s := range m {
		steps = append(steps, s)
	}
	sort.Ints(steps)
	for _, s := range steps {
		best = append(best, m[s])
	}
	return steps, best
}

func layers(r *assemble.Run) int {
	if m, ok := r.Config["model"].(map[string]any); ok {
		if v, ok := m["n_layers"].(float64); ok {
			return int(v)
		}
	}
	return 0
}

// checkInduction: in the induction study, the 2-layer model's best
// layer-2 head crosses prefix-matching 0.5 from below 0.3 (a phase change
// between two checkpoints), and the 1-layer control has no head above 0.3.
func checkInduction(runs []*assemble.Run) Finding {
	f := Finding{Claim: "the induction-head phase change is detected in the attention-only study"}
	var two, one []*assemble.Run
	for _, r := range runs {
		if study(r) != "induction" {
			continue
		}
		switch layers(r) {
		case 2:
			two = append(two, r)
		case 1:
			one = append(one, r)
		}
	}
	if len(two) == 0 {
		f.Detail = "no 2-layer attention-only run"
		return f
	}
	pass := true
	for _, r := range two {
		steps, best := bestByStep(r, "prefix_matching", 1)
		before, after := -1, -1
		for i, v := range best {
			if v < inductionNone {
				before = steps[i]
			}
			if v >= inductionOn && after < 0 && before >= 0 {
				after = steps[i]
			}
		}
		if before < 0 || after < 0 {
			pass = false
			f.Items = append(f.Items, fmt.Sprintf("%s: no crossing from < %.1f to ≥ %.1f (best per step %v)", r.ID, inductionNone, inductionOn, round2(best)))
			continue
		}
		f.Items = append(f.Items, fmt.Sprintf("%s: best layer-2 head < %.1f at step %d, ≥ %.1f at step %d (final %.2f)",
			r.ID, inductionNone, before, inductionOn, after, best[len(best)-1]))
	}
	for _, r := range one {
		_, best := bestByStep(r, "prefix_matching", -1)
		if len(best) == 0 {
			continue
		}
		mx := 0.0
		for _, v := range best {
			mx = math.Max(mx, v)
		}
		if mx >= inductionNone {
			pass = false
		}
		f.Items = append(f.Items, fmt.Sprintf("%s (1-layer control): best head ever %.2f", r.ID, mx))
	}
	f.Pass = pass
	f.Detail = fmt.Sprintf("%d two-layer and %d one-layer runs", len(two), len(one))
	return f
}

func round2(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Round(x*100) / 100
	}
	return out
}

// series returns a probe's per-step value (layer −1, head −1 rows, or the
// first row per step).
func series(r *assemble.Run, probe string) (steps []int, vals []float64) {
	m := map[int]float64{}
	for _, p := range r.Probes {
		if p.Probe == probe {
			if _, ok := m[p.Step]; !ok {
				m[p.Step] = p.Value
			}
		}
	}
	for s := range m {
		steps = append(steps, s)
	}
	sort.Ints(steps)
	for _, s := range steps {
		vals = append(vals, m[s])
	}
	return steps, vals
}

// checkGrokking: some grokking run's held-out accuracy goes from under 20%
// to over 90%, and train accuracy passed 99% before held-out passed 90%.
func checkGrokking(runs []*assemble.Run) Finding {
	f := Finding{Claim: "modadd grokking: held-out accuracy from < 20% to > 90% after train accuracy passed 99%"}
	found := false
	for _, r := range runs {
		if study(r) != "grokking" {
			continue
		}
		ts, tv := series(r, "train_acc")
		hs, hv := series(r, "heldout_acc")
		if len(hs) == 0 {
			continue
		}
		found = true
		trainAt, lowSeen, highAt := -1, false, -1
		for i, v := range tv {
			if v > grokTrain && trainAt < 0 {
				trainAt = ts[i]
			}
		}
		for i, v := range hv {
			if v < grokLow {
				lowSeen = true
			}
			if v > grokHigh && lowSeen && highAt < 0 {
				highAt = hs[i]
			}
		}
		ok := trainAt >= 0 && highAt >= 0 && trainAt < highAt
		if ok {
			f.Pass = true
		}
		f.Items = append(f.Items, fmt.Sprintf("%s: train > 99%% at step %d, held-out > 90%% at step %d (from < 20%%: %v) → %v",
			r.ID, trainAt, highAt, lowSeen, map[bool]string{true: "grokked", false: "no"}[ok]))
	}
	if !found {
		f.Detail = "no grokking run with train/held-out accuracy probes"
		return f
	}
	f.Detail = fmt.Sprintf("%d runs", len(f.Items))
	return f
}

// checkQuanta: per-subtask accuracies of the quanta study's widths; the
// subtasks solved grow with width in order of frequency (subtask index =
// frequency rank, most frequent first).
func checkQuanta(runs []*assemble.Run) Finding {
	f := Finding{Claim: "quanta: per-subtask transitions are ordered by frequency"}
	type width struct {
		params float64
		solved []int
	}
	var ws []width
	for _, r := range runs {
		if study(r) != "quanta" {
			continue
		}
		last := -1
		for _, e := range r.Evals {
			if e.Subtask >= 0 && e.Step > last {
				last = e.Step
			}
		}
		if last < 0 {
			continue
		}
		var solved []int
		for _, e := range r.Evals {
			if e.Step == last && e.Subtask >= 0 && e.Position < 0 && (e.Metric == "exact_match" || e.Metric == "mc_grade") && e.Value >= quantaSolved {
				if !contains(solved, e.Subtask) {
					solved = append(solved, e.Subtask)
				}
			}
		}
		sort.Ints(solved)
		ws = append(ws, width{r.Params, solved})
	}
	if len(ws) < 2 {
		f.Detail = "fewer than two quanta runs with per-subtask evaluations"
		return f
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].params < ws[j].params })
	// Order score: the fraction of solved subtasks that are within the
	// most frequent |solved| ones (1 when solved = {0..k−1}), pooled over
	// widths; and the solved count must not fall as width grows (one
	// subtask of slack for noise).
	inOrder, total, grows := 0, 0, true
	prev := 0
	for _, w := range ws {
		for _, s := range w.solved {
			total++
			if s < len(w.solved) {
				inOrder++
			}
		}
		if len(w.solved) < prev-1 {
			grows = false
		}
		prev = len(w.solved)
		f.Items = append(f.Items, fmt.Sprintf("%.3g params: %d solved %v", w.params, len(w.solved), w.solved))
	}
	frac := 1.0
	if total > 0 {
		frac = float64(inOrder) / float64(total)
	}
	first, last := len(ws[0].solved), len(ws[len(ws)-1].solved)
	f.Pass = grows && last > first && frac >= 0.8
	f.Detail = fmt.Sprintf("%d widths; solved %d → %d; %.0f%% of solved subtasks are the most frequent ones", len(ws), first, last, 100*frac)
	return f
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
