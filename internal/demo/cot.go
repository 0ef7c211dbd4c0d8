package demo

// cot.go: the chain-of-thought study. Nye et al. 2021 ("Show Your Work:
// Scratchpads for Intermediate Computation with Language Models") report
// that writing the intermediate steps makes addition learnable by smaller
// models and lets them add one more digit than trained; the founding text
// names chain-of-thought reasoning among the emergent abilities.

import (
	"context"
	"fmt"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

const (
	cotAddSweep      = "cot-add"
	cotMultihopSweep = "cot-multihop"
	// cotTrained is the longest addition trained; cotTrained+1 digits are
	// evaluated and never trained.
	cotTrained = 3
)

func init() {
	register(&Study{Name: "cot",
		// measured alone from an empty directory on 2 cores (docs/demo.md)
		Minutes: 3.26, QuickMinutes: 0.65,
		Claim:      "Chain of thought — writing the intermediate steps — lets a smaller model solve multi-step problems, and further than it was trained.",
		Experiment: "GPT ladders (4.6k–105k parameters, 3000 steps each) trained on addition of 1–3 digits with a scratchpad or with the plain answer, and on two-hop questions answered with the bridge entity written out or directly; 4-digit sums are evaluated, never trained",
		Sweeps:     []string{cotAddSweep, cotMultihopSweep},
		Judge:      judgeCoT,
	})
}

func judgeCoT(ctx context.Context, in *Input) (*Judged, error) {
	add, err := curvesByTask(evaluated(in.Runs(cotAddSweep)), rundir.AxisParams, rundir.ExactMatch)
	if err != nil {
		return nil, err
	}
	hop, err := curvesByTask(evaluated(in.Runs(cotMultihopSweep)), rundir.AxisParams, rundir.ExactMatch)
	if err != nil {
		return nil, err
	}
	reaches := map[string]*reach{}
	var notes []string
	for _, cs := range []map[string]*stats.Curve{add, hop} {
		for _, task := range sortedKeys(cs) {
			r, err := reachOf(ctx, cs[task], in.Stats)
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				notes = append(notes, fmt.Sprintf("%s: %v", task, err))
				continue
			}
			reaches[task] = r
		}
	}
	variant := func(format string, digits int) string { return fmt.Sprintf("add/%s/%d", format, digits) }

	// 1. The scratchpad makes 3-digit addition emerge at a smaller scale.
	f1 := compare(reaches, variant("scratchpad", cotTrained), variant("plain", cotTrained),
		"Writing the intermediate steps (a scratchpad) makes 3-digit addition emerge at a smaller model than writing the answer alone.")
	for d := 1; d < cotTrained; d++ {
		if a, b := reaches[variant("scratchpad", d)], reaches[variant("plain", d)]; a != nil && b != nil {
			f1.Items = append(f1.Items, fmt.Sprintf("%d digits (context): %s; %s", d, a, b))
		}
	}

	// 2. The scratchpad model adds one more digit than trained.
	f2 := Finding{Claim: fmt.Sprintf("A model trained with a scratchpad on sums of up to %d digits adds %d-digit numbers (one more digit than trained).", cotTrained, cotTrained+1)}
	sp, pl := reaches[variant("scratchpad", cotTrained+1)], reaches[variant("plain", cotTrained+1)]
	switch {
	case sp == nil || pl == nil:
		f2.verdict(VerdictInconclusive)
		f2.Detail = fmt.Sprintf("no curve of %d-digit exact match for both formats (missing runs or evaluations)", cotTrained+1)
	case sp.never():
		f2.verdict(VerdictNotSupported)
		f2.Detail = fmt.Sprintf("%s stays below %.1f at every size, up to %s params (%.2f there), and so does every bootstrap replicate",
			sp.Task, reachLevel, report.Num(sp.Largest), sp.Top)
	default:
		v, why := earlier(sp, pl)
		if v == VerdictNotSupported {
			v = VerdictInconclusive // it generalises, but the plain model does too
		}
		f2.verdict(v)
		f2.Detail = why
	}
	for _, r := range []*reach{sp, pl} {
		if r != nil {
			f2.Items = append(f2.Items, r.String())
		}
	}

	// 3. Two-hop questions with the bridge written out.
	f3 := compare(reaches, "multihop/cot", "multihop/direct",
		"Writing out the bridge entity (chain of thought) makes two-hop questions about a synthetic world emerge at a smaller model than answering directly.")

	sec := &report.StudySection{Title: "Chain of thought: scratchpad against plain answers",
		Intro: fmt.Sprintf("Exact match on held-out items against parameters, one curve per format. A dashed line marks where a curve first reaches %.1f "+
			"(interpolated in log parameters; its bootstrap interval over seeds and items decides the verdicts). Addition is trained on 1–%d digits; "+
			"%d digits is never trained.", reachLevel, cotTrained, cotTrained+1)}
	for d := 1; d <= cotTrained+1; d++ {
		a, b := reaches[variant("scratchpad", d)], reaches[variant("plain", d)]
		if a == nil && b == nil {
			continue
		}
		title := fmt.Sprintf("add, %d digits", d)
		if d == 1 {
			title = "add, 1 digit"
		}
		if d > cotTrained {
			title += " (never trained)"
		}
		sec.Figures = append(sec.Figures, report.StudyFigure{Caption: title,
			Plots: []*report.Plot{reachPlot(title, []*reach{a, b}, []string{"scratchpad", "plain"})}, Lines: reachLines(a, b)})
	}
	if a, b := reaches["multihop/cot"], reaches["multihop/direct"]; a != nil || b != nil {
		sec.Figures = append(sec.Figures, report.StudyFigure{Caption: "multihop: two-hop questions",
			Plots: []*report.Plot{reachPlot("multihop", []*reach{a, b}, []string{"chain of thought", "direct"})}, Lines: reachLines(a, b)})
	}
	if len(sec.Figures) == 0 {
		sec.Note = "No evaluated runs of the cot-add or cot-multihop sweeps in this directory."
	}
	for _, n := range notes {
		sec.Figures = append(sec.Figures, report.StudyFigure{Note: n})
	}
	return &Judged{Findings: []Finding{f1, f2, f3}, Section: sec}, nil
}

// compare applies the rule `earlier` to variant a (the chain of thought)
// against b (the direct answer).
func compare(reaches map[string]*reach, a, b, claim string) Finding {
	f := Finding{Claim: claim}
	ra, rb := reaches[a], reaches[b]
	if ra == nil || rb == nil {
		f.verdict(VerdictInconclusive)
		f.Detail = fmt.Sprintf("no curve for both %s and %s (missing runs or evaluations, or fewer than 4 sizes)", a, b)
		return f
	}
	v, why := earlier(ra, rb)
	f.verdict(v)
	f.Detail = why
	f.Items = []string{ra.String(), rb.String()}
	return f
}

func reachLines(rs ...*reach) []string {
	var out []string
	for _, r := range rs {
		if r != nil {
			out = append(out, r.String()+".")
		}
	}
	return out
}
