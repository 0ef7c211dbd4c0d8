package demo

// robustness.go: robustness to perturbed inputs. add, icl and stories,
// each trained alone on clean documents at two sizes, scored on clean
// items and on the same items perturbed in ways that keep the answer
// (extra spaces, leading zeros, distracting examples or sentences,
// reordered examples): does the gap between clean and perturbed accuracy
// close as models grow?

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
	"emlab/internal/tasks"
)

const (
	robustnessSweep = "robustness"
	// robustLearned is how far above chance a task's clean accuracy must
	// be at both sizes for its gap to count: a gap means something only
	// where there is an ability to lose.
	robustLearned = 0.2
	// robustSame is the shrinkage of the gap below which it counts as not
	// closing (point estimates).
	robustSame = 0.05
)

// robustUntrained are the clean variants of the sweep's tasks that
// training never shows (3-digit sums for add(digits=2)): their scores are
// near zero clean and perturbed alike and would dilute the gap.
var robustUntrained = []string{"add/plain/3"}

func init() {
	register(&Study{Name: "robustness",
		// measured alone from an empty directory on 2 cores (docs/demo.md)
		Minutes: 1.38, QuickMinutes: 0.83,
		Claim:      "Larger models are more robust: perturbations of the input that keep the answer cost them less accuracy.",
		Experiment: "GPTs of two sizes (20k–67k parameters, 3000 steps) trained alone on 2-digit addition, in-context label mapping and a story grammar; accuracy on held-out items clean and perturbed (spaces, leading zeros, distracting examples or sentences, reordered examples)",
		Sweeps:     []string{robustnessSweep},
		Judge:      judgeRobustness,
	})
}

// pertGap is one run's pooled clean and perturbed accuracy over its
// in-vocabulary perturbations, and apart from it the same over its
// out-of-vocabulary probes (tasks.Variant.OutOfVocab: a perturbation
// writing a character no training document holds, add's spaces). A probe
// fails by construction — the model never trained that token's embedding,
// at any size — so it says nothing about robustness growing with scale and
// stays out of the gap the verdict compares.
type pertGap struct {
	run            *rundir.Run
	family         string
	cleanK, cleanN int
	pertK, pertN   int
	chance         float64 // pooled clean chance
	d              stats.DiffInterval
	perVariant     []string
	// probe is the pooled gap of the out-of-vocabulary probes (nil
	// without any), probes their perturbations' names.
	probe  *stats.DiffInterval
	probes []string
}

func (g *pertGap) clean() float64 { return float64(g.cleanK) / float64(g.cleanN) }

func (g *pertGap) String() string {
	return fmt.Sprintf("%s %s (%s): clean %.2f, perturbed %.2f, gap %+.2f %s (chance %.2f)", g.family, runLabel(g.run), paramsText(g.run),
		g.d.P1, g.d.P2, g.d.Diff, report.Interval(g.d.Lo, g.d.Hi), g.chance)
}

// probeString states the out-of-vocabulary probes' gap ("" without any).
func (g *pertGap) probeString() string {
	if g.probe == nil {
		return ""
	}
	return fmt.Sprintf("%s %s (%s), out-of-vocabulary probe (%s: a character no training document holds; not in the gap): clean %.2f, perturbed %.2f, gap %+.2f %s",
		g.family, runLabel(g.run), paramsText(g.run), strings.Join(g.probes, ", "), g.probe.P1, g.probe.P2, g.probe.Diff, report.Interval(g.probe.Lo, g.probe.Hi))
}

// outOfVocab names the run's perturbed variants that are out-of-vocabulary
// probes, as the run's own tasks declare them (rebuilt from the mixture in
// its configuration; none without one).
func outOfVocab(r *rundir.Run) (map[string]bool, error) {
	out := map[string]bool{}
	spec := r.Config.Data.Tasks
	if spec == "" {
		return out, nil
	}
	m, err := tasks.ParseMixture(spec)
	if err != nil {
		return nil, fmt.Errorf("robustness %s: the tasks of its %s: %w", r.ID, rundir.ConfigFile, err)
	}
	for _, t := range m.Tasks() {
		for _, v := range t.Variants() {
			if v.OutOfVocab {
				out[v.Name] = true
			}
		}
	}
	return out, nil
}

// sharpOf returns the first sharp metric with an aggregate line for the
// variant at step.
func sharpOf(r *rundir.Run, step int, variant string) (rundir.Eval, bool) {
	for _, m := range rundir.SharpMetrics() {
		if e, ok := evalLine(r, step, variant, m); ok {
			return e, true
		}
	}
	return rundir.Eval{}, false
}

// pertGapOf pools, at a run's last evaluated step, every (clean, perturbed)
// pair of variants: each perturbed variant's sharp score against its
// clean variant's, counts summed over pairs.
func pertGapOf(r *rundir.Run) (*pertGap, error) {
	step := lastEvalStep(r)
	g := &pertGap{run: r}
	var chanceSum float64
	seen := map[string]bool{}
	oov, err := outOfVocab(r)
	if err != nil {
		return nil, err
	}
	var probeCK, probeCN, probePK, probePN int
	for _, e := range r.Evals {
		i := strings.Index(e.Task, "/perturbed=")
		if e.Step != step || i < 0 || seen[e.Task] {
			continue
		}
		seen[e.Task] = true
		clean := e.Task[:i]
		if slices.Contains(robustUntrained, clean) {
			continue
		}
		p, ok1 := sharpOf(r, step, e.Task)
		c, ok2 := sharpOf(r, step, clean)
		if !ok1 || !ok2 || p.Metric != c.Metric {
			continue
		}
		g.family, _, _ = strings.Cut(clean, "/")
		ck, pk := int(math.Round(c.Value*float64(c.N))), int(math.Round(p.Value*float64(p.N)))
		if oov[e.Task] {
			probeCK, probeCN, probePK, probePN = probeCK+ck, probeCN+c.N, probePK+pk, probePN+p.N
			if pert := e.Task[i+len("/perturbed="):]; !slices.Contains(g.probes, pert) {
				g.probes = append(g.probes, pert)
			}
			g.perVariant = append(g.perVariant, fmt.Sprintf("%s %.2f → %s %.2f (out-of-vocabulary probe)", clean, c.Value, e.Task[i+1:], p.Value))
			continue
		}
		g.cleanK, g.cleanN, g.pertK, g.pertN = g.cleanK+ck, g.cleanN+c.N, g.pertK+pk, g.pertN+p.N
		chanceSum += c.Chance * float64(c.N)
		g.perVariant = append(g.perVariant, fmt.Sprintf("%s %.2f → %s %.2f", clean, c.Value, e.Task[i+1:], p.Value))
	}
	if probeCN > 0 && probePN > 0 {
		d, err := stats.DiffProportions(probeCK, probeCN, probePK, probePN, 0.95)
		if err != nil {
			return nil, fmt.Errorf("robustness %s: out-of-vocabulary probe: %w", r.ID, err)
		}
		g.probe = &d
	}
	if g.cleanN == 0 || g.pertN == 0 {
		if g.probe != nil {
			return g, nil // probes only: reported, never compared
		}
		return nil, nil
	}
	g.chance = chanceSum / float64(g.cleanN)
	d, err := stats.DiffProportions(g.cleanK, g.cleanN, g.pertK, g.pertN, 0.95)
	if err != nil {
		return nil, fmt.Errorf("robustness %s: %w", r.ID, err)
	}
	g.d = d
	return g, nil
}

// compared is true when the run has an in-vocabulary gap to compare.
func (g *pertGap) compared() bool { return g.cleanN > 0 && g.pertN > 0 }

func judgeRobustness(_ context.Context, in *Input) (*Judged, error) {
	f := Finding{Claim: fmt.Sprintf("The gap between clean and perturbed accuracy (perturbations written in the training vocabulary) closes as models grow (by more than %.2f, intervals apart) for at least two of add, icl and stories.", robustSame)}
	sec := &report.StudySection{Title: "Robustness to perturbed inputs",
		Intro: "Sharp scores (exact match; minimal pairs for stories) on held-out items, clean and perturbed, pooled over each task's variants and perturbations; the gap is clean − perturbed with Newcombe's 95% interval. " +
			"A perturbation that writes a character no training document holds (add's spaces) is an out-of-vocabulary probe: shown apart, never in the gap."}
	byFamily := map[string][]*pertGap{}
	var probes []string
	for _, r := range bySize(evaluated(in.Runs(robustnessSweep))) {
		g, err := pertGapOf(r)
		if err != nil {
			return nil, err
		}
		if g == nil {
			continue
		}
		if p := g.probeString(); p != "" {
			probes = append(probes, p)
		}
		if g.compared() {
			byFamily[g.family] = append(byFamily[g.family], g)
		}
	}
	var grows, same []string
	tab := &report.Table{Head: []string{"task", "run", "params", "clean", "perturbed", "gap", "95% interval"}}
	plot := &report.Plot{Title: "clean − perturbed", XLabel: "parameters (log scale)", YLabel: "accuracy lost", XLog: true}
	for _, fam := range sortedKeys(byFamily) {
		gs := byFamily[fam]
		s := report.Series{Label: fam}
		for _, g := range gs {
			f.Items = append(f.Items, g.String())
			s.X, s.Y = append(s.X, float64(g.run.Config.Params)), append(s.Y, g.d.Diff)
			s.Lo, s.Hi = append(s.Lo, g.d.Lo), append(s.Hi, g.d.Hi)
			tab.Rows = append(tab.Rows, []string{fam, runLabel(g.run), report.Num(float64(g.run.Config.Params)), fmt.Sprintf("%.2f", g.d.P1),
				fmt.Sprintf("%.2f", g.d.P2), fmt.Sprintf("%+.2f", g.d.Diff), report.Interval(g.d.Lo, g.d.Hi)})
		}
		plot.Series = append(plot.Series, s)
		if len(gs) < 2 {
			f.Items = append(f.Items, fmt.Sprintf("%s: one size only, no comparison", fam))
			continue
		}
		sm, lg := gs[0], gs[len(gs)-1]
		switch {
		case sm.clean() < sm.chance+robustLearned || lg.clean() < lg.chance+robustLearned:
			f.Items = append(f.Items, fmt.Sprintf("%s: clean accuracy within %.1f of chance at a size (%.2f, %.2f): no comparison", fam, robustLearned, sm.clean(), lg.clean()))
		case sm.d.Lo <= 0:
			// A gap whose interval reaches 0 at the smaller size is no gap
			// to close: the task cannot show the claim either way.
			f.Items = append(f.Items, fmt.Sprintf("%s: no gap to close at %s (%+.2f %s): no comparison", fam, paramsText(sm.run), sm.d.Diff, report.Interval(sm.d.Lo, sm.d.Hi)))
		case lg.d.Hi < sm.d.Lo:
			grows = append(grows, fam)
			f.Items = append(f.Items, fmt.Sprintf("%s: the gap closes from %+.2f to %+.2f (intervals apart)", fam, sm.d.Diff, lg.d.Diff))
		case lg.d.Diff >= sm.d.Diff-robustSame:
			same = append(same, fam)
			f.Items = append(f.Items, fmt.Sprintf("%s: the gap does not close (%+.2f at %s, %+.2f at %s)", fam, sm.d.Diff, paramsText(sm.run), lg.d.Diff, paramsText(lg.run)))
		default:
			f.Items = append(f.Items, fmt.Sprintf("%s: the gap shrinks from %+.2f to %+.2f, but the intervals overlap", fam, sm.d.Diff, lg.d.Diff))
		}
	}
	switch {
	case len(grows) >= 2:
		f.verdict(VerdictSupported)
		f.Detail = fmt.Sprintf("the gap closes with size for %s", report.And(grows))
	case len(same) >= 2:
		f.verdict(VerdictNotSupported)
		f.Detail = fmt.Sprintf("the gap does not close with size for %s", report.And(same))
		if len(grows) > 0 {
			f.Detail += fmt.Sprintf(" (it does for %s)", strings.Join(grows, ", "))
		}
	default:
		f.verdict(VerdictInconclusive)
		f.Detail = fmt.Sprintf("%d tasks whose gap closes, %d whose gap does not, of %d compared", len(grows), len(same), len(byFamily))
	}
	f.Items = append(f.Items, probes...)
	if len(byFamily) == 0 {
		sec.Note = "No evaluated runs of the robustness sweep in this directory."
	} else {
		var lines []string
		for _, fam := range sortedKeys(byFamily) {
			for _, g := range byFamily[fam] {
				lines = append(lines, fmt.Sprintf("%s %s: %s", fam, runLabel(g.run), strings.Join(g.perVariant, "; ")))
			}
		}
		sec.Figures = []report.StudyFigure{{Caption: "Accuracy lost to perturbations, by size", Plots: []*report.Plot{plot}, Table: tab, Lines: append([]string{f.Detail + "."}, lines...)}}
	}
	return &Judged{Findings: []Finding{f}, Section: sec}, nil
}
