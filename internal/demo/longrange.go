package demo

// longrange.go: attention against recurrence. The founding text says
// self-attention lets a model use any earlier position however far back,
// while small models such as RNNs struggle with long-range dependencies.
// The study trains GPTs and one-layer LSTMs matched in parameters on one
// value carried across a gap of filler characters and reads exact match
// against the gap.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

const (
	longrangeSweep = "longrange"
	// The sweep's task: training gaps uniform in [0, longrangeGap], the
	// variants evaluated at gaps longrangeGap/4, /2 and longrangeGap, and
	// longrangeEvalGap, never trained.
	longrangeGap     = 64
	longrangeEvalGap = 128
	// longrangeMargin is the change of exact match that counts: a fall of
	// at least this much with its interval above 0 is a fall, and an
	// interval within ±longrangeMargin is flat (the lab's Delta).
	longrangeMargin = 0.1
	// longrangeMatch is how far apart in parameters a GPT and an LSTM may
	// be and still count as matched (a ratio).
	longrangeMatch = 1.25
)

func init() {
	register(&Study{Name: "longrange",
		// measured alone from an empty directory on 2 cores (docs/demo.md)
		Minutes: 0.66, QuickMinutes: 0.3,
		Claim:      "Self-attention carries long-range dependencies that recurrent networks lose.",
		Experiment: fmt.Sprintf("GPTs and one-layer LSTMs matched in parameters, trained to carry one value across gaps of 0–%d filler characters; exact match at gaps %d, %d, %d and %d (never trained)", longrangeGap, longrangeGap/4, longrangeGap/2, longrangeGap, longrangeEvalGap),
		Sweeps:     []string{longrangeSweep},
		Judge:      judgeLongrange,
	})
}

// gapScore is one model's final score at one gap.
type gapScore struct {
	Gap     int
	Exact   float64
	N       int
	LogProb float64 // NaN when not evaluated
}

// lrModel is one run of the study at its final checkpoint.
type lrModel struct {
	Run    *rundir.Run
	Arch   string
	Params float64
	Gaps   map[int]gapScore
	Chance float64
}

func (m *lrModel) label() string {
	return fmt.Sprintf("%s %s (%s params)", strings.ToUpper(m.Arch), sizeName(m.Run), report.Num(m.Params))
}

// sizeName names a run's size: d<d_model>L<layers> for a GPT, H<hidden>
// for an LSTM.
func sizeName(r *rundir.Run) string {
	m := r.Config.Model
	if m.Arch == "lstm" {
		if m.NLayers > 1 {
			return fmt.Sprintf("H%dL%d", m.DModel, m.NLayers)
		}
		return fmt.Sprintf("H%d", m.DModel)
	}
	return fmt.Sprintf("d%dL%d", m.DModel, m.NLayers)
}

// gapOf reads the gap from a longrange variant name ("longrange/retrieve/gap=64").
func gapOf(task string) (int, bool) {
	i := strings.LastIndex(task, "/gap=")
	if !strings.HasPrefix(task, "longrange/") || i < 0 {
		return 0, false
	}
	g, err := strconv.Atoi(task[i+len("/gap="):])
	return g, err == nil
}

// lrModels reads each evaluated run's final scores by gap.
func lrModels(runs []*rundir.Run) []*lrModel {
	var out []*lrModel
	for _, r := range evaluated(runs) {
		last := -1
		for _, e := range r.Evals {
			last = max(last, e.Step)
		}
		m := &lrModel{Run: r, Arch: r.Config.Model.Arch, Params: float64(r.Config.Params), Gaps: map[int]gapScore{}, Chance: math.NaN()}
		if m.Arch == "" {
			m.Arch = "gpt"
		}
		for _, e := range r.Evals {
			g, ok := gapOf(e.Task)
			if !ok || e.Step != last || e.Breakdown() {
				continue
			}
			s, seen := m.Gaps[g]
			if !seen {
				s = gapScore{Gap: g, LogProb: math.NaN()}
			}
			switch e.Metric {
			case rundir.ExactMatch:
				s.Exact, s.N = e.Value, e.N
				if c, ok := e.ChanceOf(); ok {
					m.Chance = c
				}
			case rundir.LogProb:
				s.LogProb = e.Value
			}
			m.Gaps[g] = s
		}
		if len(m.Gaps) > 0 {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Params < out[j].Params })
	return out
}

// lrDesign is what makes two longrange runs one experiment, so that a GPT
// and an LSTM compared by size rank were trained alike: the task (the gaps
// trained and evaluated), the training length and the context.
type lrDesign struct {
	Tasks       string
	Steps, NCtx int
}

func (d lrDesign) String() string {
	return fmt.Sprintf("%s for %d steps, n_ctx %d", d.Tasks, d.Steps, d.NCtx)
}

func designOf(c *rundir.RunConfig) lrDesign {
	return lrDesign{Tasks: c.Data.Tasks, Steps: c.Train.Steps, NCtx: c.Model.NCtx}
}

// longrangeDesign is the design of the study's embedded sweep (quick or
// full); every run it plans has it.
func longrangeDesign(quick bool) (lrDesign, error) {
	p, err := LoadPlan(longrangeSweep, quick)
	if err != nil {
		return lrDesign{}, err
	}
	var d lrDesign
	for i, r := range p.Runs {
		c := r.Config
		di := lrDesign{Tasks: c.Data.Tasks.String(), Steps: c.Train.Steps, NCtx: c.Model.NCtx}
		if i > 0 && di != d {
			return lrDesign{}, fmt.Errorf("the %s sweep plans runs of two designs: %s and %s", longrangeSweep, d, di)
		}
		d = di
	}
	if len(p.Runs) == 0 {
		return lrDesign{}, fmt.Errorf("the %s sweep plans no runs", longrangeSweep)
	}
	return d, nil
}

// ofDesign splits runs into those of design d and a reason for each other
// one: a run left in the sweep's directory by another design (an earlier
// training length, other gaps) would otherwise be paired by size rank
// with runs it was never meant to be compared with.
func ofDesign(runs []*rundir.Run, d lrDesign) (same []*rundir.Run, foreign []string) {
	for _, r := range runs {
		if r.Config == nil {
			continue // planned, not started: evaluated() leaves it out too
		}
		if got := designOf(r.Config); got != d {
			foreign = append(foreign, fmt.Sprintf("%s: trained on %s, not this study's %s", r.ID, got, d))
			continue
		}
		same = append(same, r)
	}
	return same, foreign
}

// lrPair is a GPT and an LSTM matched in parameters.
type lrPair struct{ GPT, LSTM *lrModel }

// matchPairs pairs the i-th smallest GPT with the i-th smallest LSTM when
// their parameter counts are within longrangeMatch of each other.
func matchPairs(models []*lrModel) (pairs []lrPair, unmatched []string) {
	var gpts, lstms []*lrModel
	for _, m := range models {
		switch m.Arch {
		case "lstm":
			lstms = append(lstms, m)
		default:
			gpts = append(gpts, m)
		}
	}
	for i := 0; i < max(len(gpts), len(lstms)); i++ {
		if i >= len(gpts) || i >= len(lstms) {
			for _, m := range append(gpts[min(i, len(gpts)):], lstms[min(i, len(lstms)):]...) {
				unmatched = append(unmatched, m.label())
			}
			break
		}
		g, l := gpts[i], lstms[i]
		if r := g.Params / l.Params; r > longrangeMatch || r < 1/longrangeMatch {
			unmatched = append(unmatched, fmt.Sprintf("%s and %s differ by more than %.2g× in parameters", g.label(), l.label(), longrangeMatch))
			continue
		}
		pairs = append(pairs, lrPair{g, l})
	}
	return pairs, unmatched
}

// gapChange is how one model's exact match changes from the short gap to
// the long one: the fall (short − long) with its interval, and its reading.
type gapChange struct {
	Fall    stats.DiffInterval
	Learned bool   // above chance + margin at the short gap
	Reading string // "falls", "flat", "unclear", "not learned", "not evaluated"
}

// change applies the rule: a model falls when exact match at the long gap
// is lower by at least longrangeMargin with the interval of the
// difference above 0; it is flat when that interval lies within
// ±longrangeMargin; a model at chance at the short gap has learned
// nothing to lose.
func change(m *lrModel, short, long int, level float64) gapChange {
	a, okA := m.Gaps[short]
	b, okB := m.Gaps[long]
	if !okA || !okB || a.N == 0 || b.N == 0 {
		return gapChange{Reading: "not evaluated"}
	}
	d, err := stats.DiffProportions(int(math.Round(a.Exact*float64(a.N))), a.N, int(math.Round(b.Exact*float64(b.N))), b.N, level)
	if err != nil {
		return gapChange{Reading: "not evaluated"}
	}
	c := gapChange{Fall: d}
	chance := m.Chance
	if math.IsNaN(chance) {
		chance = 0
	}
	c.Learned = a.Exact >= chance+longrangeMargin
	switch {
	case !c.Learned:
		c.Reading = "not learned"
	case d.Diff >= longrangeMargin-1e-9 && d.Lo > 0: // 1e-9: 1 − 0.9 is a hair below 0.1 in floating point
		c.Reading = "falls"
	case d.Lo > -longrangeMargin && d.Hi < longrangeMargin:
		c.Reading = "flat"
	default:
		c.Reading = "unclear"
	}
	return c
}

func (c gapChange) String() string {
	if c.Reading == "not evaluated" {
		return c.Reading
	}
	return fmt.Sprintf("%.2f → %.2f, fall %.2f [%.2f, %.2f]: %s", c.Fall.P1, c.Fall.P2, c.Fall.Diff, c.Fall.Lo, c.Fall.Hi, c.Reading)
}

// judgeGaps is the rule over matched pairs for one pair of gaps:
// supported when in every pair where both models learned the dependency
// the GPT is flat and the LSTM falls; not supported here when in some
// such pair the LSTM is flat, or the GPT falls while the LSTM does not;
// inconclusive otherwise (no pair where both learned, or an unclear
// change).
func judgeGaps(pairs []lrPair, short, long int, level float64, claim string) Finding {
	f := Finding{Claim: claim}
	both, support, against := 0, 0, 0
	var why []string
	for _, p := range pairs {
		g, l := change(p.GPT, short, long, level), change(p.LSTM, short, long, level)
		f.Items = append(f.Items, fmt.Sprintf("gap %d → %d: %s %s; %s %s", short, long, p.GPT.label(), g, p.LSTM.label(), l))
		if !g.Learned || !l.Learned {
			continue
		}
		both++
		switch {
		case g.Reading == "flat" && l.Reading == "falls":
			support++
		case l.Reading == "flat":
			against++
			why = append(why, fmt.Sprintf("the LSTM at %s params keeps the dependency (%.2f → %.2f)", report.Num(p.LSTM.Params), l.Fall.P1, l.Fall.P2))
		case g.Reading == "falls" && l.Reading != "falls":
			against++
			why = append(why, fmt.Sprintf("the GPT at %s params loses it (%.2f → %.2f) while the LSTM does not (%.2f → %.2f)",
				report.Num(p.GPT.Params), g.Fall.P1, g.Fall.P2, l.Fall.P1, l.Fall.P2))
		}
	}
	switch {
	case len(pairs) == 0:
		f.verdict(VerdictInconclusive)
		f.Detail = "no GPT and LSTM matched in parameters with evaluations at both gaps"
	case both == 0:
		f.verdict(VerdictInconclusive)
		f.Detail = fmt.Sprintf("in no matched pair did both models learn the dependency at gap %d", short)
	case against > 0:
		f.verdict(VerdictNotSupported)
		f.Detail = strings.Join(why, "; ")
	case support == both:
		f.verdict(VerdictSupported)
		f.Detail = fmt.Sprintf("in all %d matched pairs the GPT is flat from gap %d to %d while the LSTM falls", both, short, long)
	default:
		f.verdict(VerdictInconclusive)
		f.Detail = fmt.Sprintf("%d of %d matched pairs show a flat GPT and a falling LSTM; the others' changes are unclear", support, both)
	}
	return f
}

func judgeLongrange(_ context.Context, in *Input) (*Judged, error) {
	design, err := longrangeDesign(in.Quick)
	if err != nil {
		return nil, err
	}
	runs, foreign := ofDesign(in.Runs(longrangeSweep), design)
	models := lrModels(runs)
	pairs, unmatched := matchPairs(models)
	short := longrangeGap / 4
	f1 := judgeGaps(pairs, short, longrangeGap, in.Stats.Level,
		fmt.Sprintf("Within the gaps it was trained on (up to %d characters), a GPT keeps a dependency across the gap while an LSTM of the same size loses it.", longrangeGap))
	f2 := judgeGaps(pairs, short, longrangeEvalGap, in.Stats.Level,
		fmt.Sprintf("Beyond the longest gap it was trained on (%d characters, trained up to %d), a GPT keeps the dependency while an LSTM of the same size loses it.", longrangeEvalGap, longrangeGap))
	for _, u := range unmatched {
		f1.Items = append(f1.Items, "not compared: "+u)
	}
	for _, u := range foreign {
		f1.Items = append(f1.Items, "not compared, another design: "+u)
		f2.Items = append(f2.Items, "not compared, another design: "+u)
	}

	sec := &report.StudySection{Title: "Attention against recurrence: one value across a gap",
		Intro: fmt.Sprintf("Exact match (and the log-probability of the right answer) against the gap between the value and the question, for each GPT and LSTM; "+
			"gaps up to %d were trained, %d never was. The claim holds if the GPT stays flat while the LSTM of the same size falls.", longrangeGap, longrangeEvalGap)}
	if len(foreign) > 0 {
		sec.Intro += fmt.Sprintf(" Left out, being of another design than this study's (%s): %s.", design, strings.Join(foreign, "; "))
	}
	if len(models) == 0 {
		sec.Note = "No evaluated runs of the longrange sweep's design in this directory."
		return &Judged{Findings: []Finding{f1, f2}, Section: sec}, nil
	}
	em := &report.Plot{Title: "exact match against the gap", XLabel: "gap (filler characters, log scale)", YLabel: "exact match", XLog: true,
		YFixed: true, YMin: 0, YMax: 1, VLines: []report.Marker{{At: longrangeGap, Label: "longest trained gap"}}}
	lp := &report.Plot{Title: "log-probability of the answer against the gap", XLabel: "gap (filler characters, log scale)",
		YLabel: "log-prob (nats)", XLog: true, VLines: []report.Marker{{At: longrangeGap, Label: "longest trained gap"}}}
	tab := &report.Table{Head: []string{"model", "params"}}
	var gaps []int
	for _, m := range models {
		for g := range m.Gaps {
			if !slices.Contains(gaps, g) {
				gaps = append(gaps, g)
			}
		}
	}
	sort.Ints(gaps)
	for _, g := range gaps {
		tab.Head = append(tab.Head, fmt.Sprintf("gap %d", g))
	}
	for _, m := range models {
		se, sl := report.Series{Label: m.label()}, report.Series{Label: m.label()}
		row := []string{strings.ToUpper(m.Arch) + " " + sizeName(m.Run), report.Num(m.Params)}
		for _, g := range gaps {
			s, ok := m.Gaps[g]
			if !ok {
				row = append(row, "—")
				continue
			}
			se.X, se.Y = append(se.X, float64(g)), append(se.Y, s.Exact)
			sl.X, sl.Y = append(sl.X, float64(g)), append(sl.Y, s.LogProb)
			row = append(row, fmt.Sprintf("%.2f (n=%d)", s.Exact, s.N))
		}
		em.Series, lp.Series = append(em.Series, se), append(lp.Series, sl)
		tab.Rows = append(tab.Rows, row)
	}
	sec.Figures = []report.StudyFigure{{Caption: "GPT and LSTM against the gap", Plots: []*report.Plot{em, lp}, Table: tab,
		Lines: []string{fmt.Sprintf("Gaps %d → %d (trained): %s: %s.", short, longrangeGap, f1.Verdict, f1.Detail),
			fmt.Sprintf("Gaps %d → %d (beyond training): %s: %s.", short, longrangeEvalGap, f2.Verdict, f2.Detail)}}}
	return &Judged{Findings: []Finding{f1, f2}, Section: sec}, nil
}
