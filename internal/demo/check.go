package demo

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"emlab/internal/report"
	"emlab/internal/report/assemble"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

// ladderSweep is the demo's scale ladder; analysis.json analyses it.
const ladderSweep = "ladder"

// The demo's five findings are studies like the claims study's, each
// judged on its sweep: emergence and artifact on the ladder's analysis,
// induction, grokking and quanta on their own runs. Every judgement is the
// report's own (package assemble, thresholds from package rundir), so the
// findings and the report cannot disagree.
func init() {
	register(&Study{Name: "emergence", Demo: true, Sweeps: []string{ladderSweep}, Section: report.SecAbilities,
		Claim:      "Abilities appear suddenly once a model passes a critical scale.",
		Experiment: "a GPT ladder (1.8k–157k parameters, 1.8k–107k with --quick; steps growing with size; three seeds per rung, two with --quick) on 2-digit addition, in-context mapping and multiplication; x* of each ability's exact match against parameters",
		Judge: func(ctx context.Context, in *Input) (*Judged, error) {
			lines, err := in.LadderAnalysis(ctx)
			if err != nil {
				return nil, err
			}
			return &Judged{Findings: []Finding{checkEmergent(lines, in.Runs(ladderSweep))}}, nil
		}})
	register(&Study{Name: "artifact", Demo: true, Sweeps: []string{ladderSweep}, Section: report.SecAbilities,
		Claim:      "Some emergence is an artifact of the metric: a smooth metric of the same outputs rises smoothly.",
		Experiment: "the demo ladder's outputs scored by exact match and by token accuracy, log-prob and edit distance",
		Judge: func(ctx context.Context, in *Input) (*Judged, error) {
			lines, err := in.LadderAnalysis(ctx)
			if err != nil {
				return nil, err
			}
			return &Judged{Findings: []Finding{checkArtifact(lines, len(in.Runs(ladderSweep)) > 0)}}, nil
		}})
	register(&Study{Name: "induction", Demo: true, Sweeps: []string{"induction"}, Section: report.SecInduction,
		Claim:      "In-context learning forms in a phase change: induction heads appear abruptly during training.",
		Experiment: "attention-only transformers of 2 layers and the 1-layer control; prefix-matching score of the best head per checkpoint",
		Judge: func(_ context.Context, in *Input) (*Judged, error) {
			return &Judged{Findings: []Finding{checkInduction(in.Runs("induction"))}}, nil
		}})
	register(&Study{Name: "grokking", Demo: true, Sweeps: []string{"grokking"}, Section: report.SecGrokking,
		Claim:      "Generalisation can appear long after memorisation (grokking).",
		Experiment: "modular addition mod 53 with half the pairs held out, weight decay 2 and the no-decay control; train and held-out accuracy per checkpoint",
		Judge: func(_ context.Context, in *Input) (*Judged, error) {
			return &Judged{Findings: []Finding{checkGrokking(in.Runs("grokking"))}}, nil
		}})
	register(&Study{Name: "quanta", Demo: true, Sweeps: []string{"quanta"}, Section: report.SecQuanta,
		Claim:      "Abilities are learned as discrete quanta, the most frequent first.",
		Experiment: "multitask sparse parity (10 subtasks, Zipf frequencies) across MLP widths 16–128; subtasks solved per width",
		Judge: func(_ context.Context, in *Input) (*Judged, error) {
			return &Judged{Findings: []Finding{checkQuanta(in.Runs("quanta"))}}, nil
		}})
}

// shown sets a demo finding's verdict: supported when shown, not
// supported when its runs were there but did not show it, inconclusive
// without runs to judge.
func shown(f Finding, haveRuns bool) Finding {
	switch {
	case !haveRuns:
		f.verdict(VerdictInconclusive)
	case f.Pass:
		f.verdict(VerdictSupported)
	default:
		f.verdict(VerdictNotSupported)
	}
	return f
}

// checkEmergent: at least three abilities (task variants) whose sharp
// metric the analysis judged emergent against parameters (assemble.Verdicts,
// the report's own list), with an x* interval that excludes the smallest
// rung. A verdict resting on fewer than stats.MinItems items per
// evaluation is flagged in its item.
func checkEmergent(lines []assemble.Line, ladder []*rundir.Run) Finding {
	f := Finding{Claim: "at least three abilities emerge, with x* intervals above the smallest rung"}
	smallest := math.Inf(1)
	for _, r := range ladder {
		if r.Config != nil && r.Config.Params > 0 {
			smallest = math.Min(smallest, float64(r.Config.Params))
		}
	}
	few := 0
	for _, v := range assemble.Verdicts(lines) {
		j := v.Sharp.Judgement
		if !v.Emergent() || math.IsNaN(j.XStarLo) || j.XStarLo <= smallest {
			continue
		}
		item := fmt.Sprintf("%s %s x*=%s [%s, %s]", v.Task, j.Metric, report.Num(j.XStar), report.Num(j.XStarLo), report.Num(j.XStarHi))
		if j.FewItems {
			few++
			item += fmt.Sprintf(" (few items: %d per evaluation)", j.NMin)
		}
		f.Items = append(f.Items, item)
	}
	f.Pass = len(f.Items) >= 3
	f.Detail = fmt.Sprintf("%d emergent abilities (smallest rung %s params)", len(f.Items), report.Num(smallest))
	if few > 0 {
		f.Detail += fmt.Sprintf("; %d of them rest on fewer than %d items per evaluation", few, stats.MinItems)
	}
	return shown(f, len(ladder) > 0)
}

// checkArtifact: a task whose sharp metric is emergent while a smooth
// metric of the same outputs improves smoothly — the mirage of Schaeffer et
// al. 2023 — by the mirage test's own verdict (stats.JudgeMirage, read
// through assemble.Verdicts as the report's header counts it). A flat sharp
// metric beside a rising smooth one has nothing sharp to explain: it is
// named in the detail as hidden progress, not counted.
func checkArtifact(lines []assemble.Line, haveRuns bool) Finding {
	f := Finding{Claim: "at least one ability is shown to be a metric artifact (its smooth metric is smooth)"}
	var hidden []string
	for _, v := range assemble.Verdicts(lines) {
		m := v.Sharp.Judgement.Mirage
		switch {
		case v.Artifact():
			f.Items = append(f.Items, fmt.Sprintf("%s: %s %s while %s %s (%s)", v.Task, m.SharpMetric, m.SharpVerdict, m.SmoothMetric, m.SmoothVerdict, m.SmoothFit))
		case m != nil && m.HiddenProgress:
			hidden = append(hidden, v.Task)
		}
	}
	f.Pass = len(f.Items) > 0
	f.Detail = fmt.Sprintf("%d tasks where a smooth metric explains the sharp one", len(f.Items))
	if len(hidden) > 0 {
		f.Detail += fmt.Sprintf("; hidden progress (exact match flat while a smooth metric improves, nothing sharp to explain, not counted): %s", strings.Join(hidden, ", "))
	}
	return shown(f, haveRuns)
}

func layers(r *rundir.Run) int {
	if r.Config == nil {
		return 0
	}
	return r.Config.Model.NLayers
}

// checkInduction: in the induction study, the 2-layer model's best
// layer-2 head shows the phase change (assemble.Induction: from below
// rundir.NoInductionHead to rundir.InductionHead between checkpoints),
// and the 1-layer control has no head reaching NoInductionHead.
func checkInduction(runs []*rundir.Run) Finding {
	f := Finding{Claim: "the induction-head phase change is detected in the attention-only study"}
	var two, one []*rundir.Run
	for _, r := range runs {
		if sweepOf(r) != "induction" {
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
		return shown(f, false)
	}
	pass := true
	for _, r := range two {
		s := assemble.BestHead(r, rundir.ProbePrefixMatching, 1)
		ph := assemble.Induction(s)
		if !ph.Crossed {
			pass = false
			f.Items = append(f.Items, fmt.Sprintf("%s: no crossing from < %.1f to ≥ %.1f (best per step %v)", r.ID, rundir.NoInductionHead, rundir.InductionHead, round2(s.Y)))
			continue
		}
		f.Items = append(f.Items, fmt.Sprintf("%s: best layer-2 head < %.1f at step %.0f, ≥ %.1f at step %.0f (final %.2f)",
			r.ID, rundir.NoInductionHead, ph.Before, rundir.InductionHead, ph.After, s.Y[len(s.Y)-1]))
	}
	for _, r := range one {
		s := assemble.BestHead(r, rundir.ProbePrefixMatching, -1)
		if len(s.Y) == 0 {
			continue
		}
		mx := 0.0
		for _, v := range s.Y {
			mx = math.Max(mx, v)
		}
		if mx >= rundir.NoInductionHead {
			pass = false
		}
		f.Items = append(f.Items, fmt.Sprintf("%s (1-layer control): best head ever %.2f", r.ID, mx))
	}
	f.Pass = pass
	f.Detail = fmt.Sprintf("%d two-layer and %d one-layer runs", len(two), len(one))
	return shown(f, true)
}

func round2(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Round(x*100) / 100
	}
	return out
}

// checkGrokking: some grokking run groks (assemble.Grokking: train
// accuracy reaches rundir.TrainSolved, then held-out accuracy goes from
// below rundir.HeldoutLow to rundir.HeldoutSolved).
func checkGrokking(runs []*rundir.Run) Finding {
	f := Finding{Claim: fmt.Sprintf("modadd grokking: held-out accuracy from < %.0f%% to ≥ %.0f%% after train accuracy reached %.0f%%",
		100*rundir.HeldoutLow, 100*rundir.HeldoutSolved, 100*rundir.TrainSolved)}
	found := false
	for _, r := range runs {
		if sweepOf(r) != "grokking" {
			continue
		}
		train, held := assemble.ProbeSeries(r, rundir.ProbeTrainAcc), assemble.ProbeSeries(r, rundir.ProbeHeldoutAcc)
		if len(held.X) == 0 {
			continue
		}
		found = true
		g := assemble.Grokking(train, held)
		if g.Grokked {
			f.Pass = true
		}
		f.Items = append(f.Items, fmt.Sprintf("%s: train ≥ %.0f%% at step %s, held-out ≥ %.0f%% at step %s (from < %.0f%%: %v) → %s",
			r.ID, 100*rundir.TrainSolved, stepOrNever(g.TrainAt), 100*rundir.HeldoutSolved, stepOrNever(g.HeldoutAt), 100*rundir.HeldoutLow,
			g.LowFirst, map[bool]string{true: "grokked", false: "no"}[g.Grokked]))
	}
	if !found {
		f.Detail = "no grokking run with train/held-out accuracy probes"
		return shown(f, false)
	}
	f.Detail = report.Count(len(f.Items), "run", "runs")
	return shown(f, true)
}

func stepOrNever(s float64) string {
	if math.IsNaN(s) {
		return "never"
	}
	return fmt.Sprintf("%.0f", s)
}

// checkQuanta: the subtasks each width of the quanta study solves
// (assemble.SolvedSubtasks) grow with width in order of frequency
// (subtask index = frequency rank, most frequent first).
func checkQuanta(runs []*rundir.Run) Finding {
	f := Finding{Claim: "quanta: per-subtask transitions are ordered by frequency"}
	var quantaRuns []*rundir.Run
	for _, r := range runs {
		if sweepOf(r) == "quanta" {
			quantaRuns = append(quantaRuns, r)
		}
	}
	task := assemble.QuantaTask(quantaRuns)
	type width struct {
		params float64
		solved []int
	}
	var ws []width
	for _, r := range quantaRuns {
		solved, step := assemble.SolvedSubtasks(r, task)
		if step < 0 || r.Config == nil {
			continue
		}
		ws = append(ws, width{float64(r.Config.Params), solved})
	}
	if len(ws) < 2 {
		f.Detail = "fewer than two quanta runs with per-subtask evaluations"
		return shown(f, false)
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
		f.Items = append(f.Items, fmt.Sprintf("%s params: %d solved %v", report.Num(w.params), len(w.solved), w.solved))
	}
	frac := 1.0
	if total > 0 {
		frac = float64(inOrder) / float64(total)
	}
	first, last := len(ws[0].solved), len(ws[len(ws)-1].solved)
	f.Pass = grows && last > first && frac >= 0.8
	f.Detail = fmt.Sprintf("%d widths; solved %d → %d; %.0f%% of solved subtasks are the most frequent ones", len(ws), first, last, 100*frac)
	return shown(f, true)
}
