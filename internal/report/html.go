package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"emlab/internal/numfmt"
)

// Section ids, in the order the report prints them; SectionNotes is keyed
// by them.
const (
	SecAbilities = "abilities"
	SecLossView  = "loss-view"
	SecInduction = "induction"
	SecGrokking  = "grokking"
	SecQuanta    = "quanta"
	SecScaling   = "scaling"
	SecForecasts = "forecasts"
	SecRuns      = "runs"
	SecNotes     = "notes"
)

// Num is the one number format of emlab's report, dashboard and demo
// findings (numfmt.Num, which the statistics' reasons use too: stats
// cannot import report).
func Num(v float64) string { return numfmt.Num(v) }

// Interval formats [lo, hi].
func Interval(lo, hi float64) string {
	if math.IsNaN(lo) && math.IsNaN(hi) {
		return "no interval"
	}
	return "[" + Num(lo) + ", " + Num(hi) + "]"
}

// PanelPlot is the plot of one ability metric against scale: observed
// levels, the fitted curve, x_star as a dashed line with its interval as a
// shaded band, and the chance rate.
func PanelPlot(task string, p *Panel) *Plot {
	pl := &Plot{
		Title:  task + " — " + p.Metric,
		XLabel: axisLabel(p.Axis), YLabel: metricLabel(p.Metric, p.LowerIsBetter),
		XLog: p.XLog, YFixed: p.Fraction, YMin: 0, YMax: 1,
	}
	obs := p.Observed
	obs.Style = Points
	if obs.Label == "" {
		obs.Label = "observed"
	}
	pl.Series = append(pl.Series, obs)
	if p.NotApplicable != "" {
		// Nothing was fitted (a constant curve): no fit, no x*.
		if finite(p.Chance) {
			pl.HLines = append(pl.HLines, Marker{At: p.Chance, Label: "chance " + Num(p.Chance)})
		}
		return pl
	}
	if len(p.Fitted.X) > 0 {
		f := p.Fitted
		f.Style = Line
		if f.Label == "" {
			f.Label = "fit: " + p.FitModel
		}
		pl.Series = append(pl.Series, f)
	}
	if !math.IsNaN(p.XStarLo) && !math.IsNaN(p.XStarHi) {
		pl.XBands = append(pl.XBands, Band{Lo: p.XStarLo, Hi: p.XStarHi, Label: "x* interval"})
	}
	if finite(p.XStar) {
		pl.VLines = append(pl.VLines, Marker{At: p.XStar, Label: "x* = " + Num(p.XStar)})
	}
	if finite(p.Chance) {
		pl.HLines = append(pl.HLines, Marker{At: p.Chance, Label: "chance " + Num(p.Chance)})
	}
	return pl
}

// metricLabel is a metric's axis label, saying so when lower is better.
func metricLabel(metric string, lowerIsBetter bool) string {
	if lowerIsBetter {
		return metric + " (lower is better)"
	}
	return metric
}

// axisLabel names an axis with its unit.
func axisLabel(axis string) string {
	switch axis {
	case "params":
		return "parameters (log scale)"
	case "non_embedding_params":
		return "non-embedding parameters (log scale)"
	case "tokens":
		return "training tokens (log scale)"
	case "flops":
		return "training FLOPs (log scale)"
	case "step":
		return "step (log scale)"
	case "eval_loss":
		return "eval loss (nats/token)"
	}
	return axis
}

// LossPanelPlot is one metric against eval loss for every size and
// checkpoint, with the fitted threshold L*.
func LossPanelPlot(lp *LossPanel) *Plot {
	pl := &Plot{Title: lp.Task + " — " + lp.Metric + " against eval loss", XLabel: "eval loss (nats/token; lower is better)", YLabel: lp.Metric,
		YFixed: lp.Fraction, YMin: 0, YMax: 1}
	for _, s := range lp.Series {
		s.Style = Points
		pl.Series = append(pl.Series, s)
	}
	if !math.IsNaN(lp.LStarLo) && !math.IsNaN(lp.LStarHi) {
		pl.XBands = append(pl.XBands, Band{Lo: lp.LStarLo, Hi: lp.LStarHi, Label: "L* interval"})
	}
	if finite(lp.LStar) {
		pl.VLines = append(pl.VLines, Marker{At: lp.LStar, Label: "L* = " + Num(lp.LStar)})
	}
	return pl
}

// ForecastPlot shows all rungs and the forecast of the held-out ones.
func ForecastPlot(f *Forecast) *Plot {
	obs, pred := f.Observed, f.Predicted
	obs.Style, pred.Style = Points, LinePoints
	pred.Dashed = true
	if obs.Label == "" {
		obs.Label = "observed"
	}
	if pred.Label == "" {
		pred.Label = "forecast (" + f.Model + ")"
	}
	return &Plot{Title: f.Task + " — " + f.Metric + ": forecast of the " + strconv.Itoa(f.Holdout) + " largest rungs",
		XLabel: axisLabel(f.Axis), YLabel: f.Metric, XLog: f.Axis != "eval_loss",
		Series: []Series{obs, pred}, YFixed: f.Fraction, YMin: 0, YMax: 1}
}

// ScalingPlot is observed loss against scale with the fitted law.
func ScalingPlot(s *Scaling) *Plot {
	obs, fit := s.Observed, s.Fitted
	obs.Style, fit.Style = Points, Line
	if obs.Label == "" {
		obs.Label = "final eval loss"
	}
	if fit.Label == "" {
		fit.Label = "fit"
	}
	series := []Series{obs}
	if len(fit.X) > 0 {
		series = append(series, fit)
	}
	return &Plot{Title: "Scaling law", XLabel: s.XLabel, YLabel: "eval loss (nats/token, log; lower is better)", XLog: true, YLog: true,
		Series: series}
}

// panelLines are the sentences under a sharp panel: the verdict and why,
// the fit and x* (or why nothing was fitted), the levels with their seeds
// and items, and each seed's own x*.
func panelLines(p *Panel) []string {
	v := fmt.Sprintf("Verdict (%s): %s", p.Metric, strings.ToUpper(p.Verdict))
	if p.Reason != "" {
		v += " — " + p.Reason
	}
	out := []string{v + "."}
	if p.NotApplicable != "" {
		out = append(out, "Fit: not applicable — "+p.NotApplicable+"; no fit or x* is drawn.")
	} else {
		fit := "Fit: " + orDash(p.FitModel) + "."
		if !math.IsNaN(p.XStar) {
			fit += fmt.Sprintf(" x* = %s, interval %s.", Num(p.XStar), Interval(p.XStarLo, p.XStarHi))
		}
		out = append(out, fit+fmt.Sprintf(" Breakthroughness %s, linearity %s.", Num(p.Breakthroughness), Num(p.Linearity)))
		if p.BoundNote != "" {
			out = append(out, p.BoundNote)
		}
	}
	if len(p.XStarSeeds) > 0 {
		var parts []string
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range p.XStarSeeds {
			parts = append(parts, "seed "+s.Seed+" "+Num(s.X))
			if finite(s.X) && s.X > 0 {
				lo, hi = math.Min(lo, s.X), math.Max(hi, s.X)
			}
		}
		line := "x* of each seed's own curve: " + strings.Join(parts, ", ")
		if hi >= lo {
			line += fmt.Sprintf(" (spread %s decades)", Num(math.Log10(hi/lo)))
		}
		out = append(out, line+".")
	}
	if len(p.Levels) > 0 {
		var parts []string
		for _, l := range p.Levels {
			s := Num(l.X) + ": " + Num(l.Mean)
			if l.Seeds > 1 {
				s += " ± " + Num(l.SD)
			}
			s += fmt.Sprintf(" (%d seed%s", l.Seeds, plural(l.Seeds))
			if l.Items > 0 {
				s += fmt.Sprintf(", n = %d", l.Items)
			}
			parts = append(parts, s+")")
		}
		out = append(out, "Levels (mean ± SD over seeds; n = items per evaluation): "+strings.Join(parts, "; ")+".")
	}
	if p.FewItems {
		out = append(out, fmt.Sprintf("Few items: this verdict rests on %d items per evaluation at some level (fewer than %d); treat it with caution.", p.NMin, p.MinItems))
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Count is n with its noun, singular for one: Count(1, "run", "runs") is
// "1 run", Count(3, "run", "runs") "3 runs".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// And lists words as a sentence does: "a", "a and b", "a, b and c".
func And(words []string) string {
	if len(words) <= 2 {
		return strings.Join(words, " and ")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// mirageWord is the mirage verdict as the report prints it.
func mirageWord(m *Mirage) string {
	switch m.Verdict {
	case "artifact":
		return "METRIC ARTIFACT (mirage)"
	case "not_artifact":
		return "not a metric artifact"
	case "inconclusive":
		return "inconclusive"
	case "not_applicable":
		return "not applicable"
	}
	if m.IsMirage {
		return "METRIC ARTIFACT (mirage)"
	}
	return "not a metric artifact"
}

// view is what the template renders.
type view struct {
	R        *Report
	Bottom   []bottomRow
	Reading  string
	Terms    []term
	Sections []section
}

// bottomRow is a row of the bottom-line table as printed: an ability or
// a claim, with links to the figure or section that shows it.
type bottomRow struct {
	// What names the row; LinkText, when set, follows it, linked to Link
	// when that is set.
	What, Link, LinkText   string
	Verdict, VerdictClass  string
	XStar, Mirage, Support string
	Reading                string
}

// term is a word the report uses and its definition.
type term struct{ Word, Def string }

// terms are defined under the bottom-line table, where they are first used.
var terms = []term{
	{"EMERGENT", "the analysis' verdict on the sharp metric (exact match) against parameters: a sigmoid in log parameters that is flat near chance at the two smallest sizes, rises sharply (10–90 % within a third of the sampled decades) and beats the smooth fits (line, power law) both by BIC and in predicting left-out sizes. Other verdicts: smooth (improves without a jump), flat, worsens, non-monotone, insufficient (too few sizes)."},
	{"x*", "where the jump happens: the midpoint of the fitted sigmoid, in parameters, with its bootstrap interval (resampling items and seeds) in brackets; an open end (∞) means the resamples do not pin it on that side. Defined only for an EMERGENT curve."},
	{"mirage test", "after Schaeffer et al. (2023): the same model outputs scored with a smooth metric (per-token accuracy, log-probability of the answer). METRIC ARTIFACT: the sharp metric jumps while the smooth metric improves smoothly, so the jump comes from the all-or-nothing metric, not the model. Not a metric artifact: the smooth metric jumps too. Inconclusive: the smooth metric is neither clearly smooth nor sharp. Only an emergence that is not an artifact survives."},
	{"p^L", "if an answer of L tokens is right only when all L are, and each is right with probability p, exact match is about p^L, which rises steeply even while p rises steadily; the check fits L and says whether exact match matches the per-token accuracy to the power L."},
	{"breakthroughness, linearity", "BIG-bench's descriptive measures (Srivastava et al. 2022, appendix B) of the normalised curve: breakthroughness is large when the improvement comes in a jump between neighbouring sizes, linearity when it comes steadily across them. They describe the curve; the verdict does not use them."},
	{"items × seeds", "the fewest test items behind one evaluation and the fewest seeds (independently trained models) behind one size; error bars are ±1 standard error of a size's mean from both. † marks a verdict resting on fewer items than the analysis asks for."},
	{xStarBoundMark, "beside x*: the sigmoid x* comes from has a parameter at a limit its fit imposes (a width at its floor or narrower than the sampling resolves, a floor or ceiling on the edge of its allowed range, which the data stay short of by more than their sampling error); x* is then conditional on that limit, and the ability's panel says which."},
}

// termsFor is the glossary for the bottom-line rows: every term, less
// the mark ‡ when no row carries it (a definition of a mark the reader
// never meets makes them look for it).
func termsFor(rows []bottomRow) []term {
	marked := false
	for _, r := range rows {
		marked = marked || strings.HasSuffix(r.XStar, xStarBoundMark)
	}
	out := make([]term, 0, len(terms))
	for _, t := range terms {
		if t.Word != xStarBoundMark || marked {
			out = append(out, t)
		}
	}
	return out
}

// xStarBoundMark follows an x* in the bottom line whose sigmoid has a
// parameter at a bound.
const xStarBoundMark = "‡"

// abilityID is the anchor of an ability's figure.
func abilityID(task string) string {
	var b strings.Builder
	b.WriteString("ability-")
	for _, r := range task {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// bottomRows are the bottom-line table's rows: the abilities, then the
// claims.
func bottomRows(r *Report) []bottomRow {
	var out []bottomRow
	if bl := r.BottomLine; bl != nil {
		for _, a := range bl.Rows {
			row := bottomRow{LinkText: a.Ability, Link: "#" + abilityID(a.Ability), Verdict: strings.ToUpper(a.Verdict), XStar: "—", Mirage: "not run", Reading: a.Reading}
			row.VerdictClass = "inconclusive"
			if a.Emergent {
				row.VerdictClass = "emergent"
			}
			if a.FewItems {
				row.Verdict += " †"
			}
			if finite(a.XStar) {
				row.XStar = Num(a.XStar) + " " + Interval(a.XStarLo, a.XStarHi)
				if a.XStarAtBound {
					row.XStar += " " + xStarBoundMark
				}
			}
			if a.Mirage != "" {
				row.Mirage = mirageWord(&Mirage{Verdict: a.Mirage})
			}
			var sup []string
			if a.Items > 0 {
				sup = append(sup, fmt.Sprintf("%d items", a.Items))
			}
			if a.Seeds > 0 {
				sup = append(sup, fmt.Sprintf("%d seed%s", a.Seeds, plural(a.Seeds)))
			}
			row.Support = orDash(strings.Join(sup, " × "))
			out = append(out, row)
		}
	}
	for _, c := range r.Claims {
		row := bottomRow{What: c.Claim, LinkText: c.ID, Verdict: c.Verdict, VerdictClass: verdictClass(c.Verdict), XStar: "—", Mirage: "—", Support: "—", Reading: c.Detail}
		if c.Experiment != "" {
			row.Reading = c.Experiment + ": " + c.Detail
		}
		if c.Section != "" {
			row.Link = "#" + c.Section
		}
		out = append(out, row)
	}
	return out
}

func verdictClass(v string) string {
	switch v {
	case VerdictSupported:
		return "supported"
	case VerdictNotSupported:
		return "notsupported"
	}
	return "inconclusive"
}

type section struct {
	ID, Title string
	Intro     string
	Figures   []figure
	Lines     []string
	Table     *table
	Note      string
}

type figure struct {
	ID      string
	SVGs    []template.HTML
	Caption string
	Lines   []string
	Items   []evidenceItem
	Table   *table
	Note    string
}

type evidenceItem struct {
	Pass         bool
	Test, Detail string
}

type table struct {
	Head []string
	Rows [][]string
}

func svg(s string) template.HTML {
	// The plot writers escape every piece of text they place, so their
	// output is safe to insert as markup.
	return template.HTML(s)
}

// Write renders the report as one self-contained HTML document.
func Write(w io.Writer, r *Report) error {
	v := view{R: r, Bottom: bottomRows(r)}
	if r.BottomLine != nil {
		v.Reading = r.BottomLine.Reading
	}
	if len(v.Bottom) > 0 {
		v.Terms = termsFor(v.Bottom)
	}
	for _, st := range r.Studies {
		sec := section{ID: st.ID, Title: st.Title, Intro: st.Intro, Note: st.Note}
		for _, f := range st.Figures {
			fig := figure{Caption: f.Caption, Lines: f.Lines, Note: f.Note}
			for _, p := range f.Plots {
				fig.SVGs = append(fig.SVGs, svg(p.SVG()))
			}
			if f.Table != nil {
				fig.Table = &table{Head: f.Table.Head, Rows: f.Table.Rows}
			}
			sec.Figures = append(sec.Figures, fig)
		}
		v.Sections = append(v.Sections, sec)
	}
	note := func(id, fallback string) string {
		if n := r.SectionNotes[id]; n != "" {
			return n
		}
		return fallback
	}

	// Abilities.
	intro := "Each ability's sharp metric against scale with the fitted curve, the sigmoid midpoint x* (dashed line) and its bootstrap interval (shaded); the smooth metric of the same outputs beside it, and the mirage test comparing the two. Error bars are ±1 standard error of each size's mean (items and seeds). Under each verdict, every test the analysis ran: ✓ passed, a red ✗ failed. An EMERGENT verdict needs every test its rule requires to pass, so a red ✗ beside it is on a test that informs without deciding (model_choice: another model predicts left-out sizes best; items: few items per evaluation) and marks a reason for caution, not a contradiction."
	if r.Ladder != "" {
		intro = r.Ladder + " " + intro
	}
	sec := section{ID: SecAbilities, Title: "Abilities against scale", Intro: intro}
	for _, a := range r.Abilities {
		f := figure{ID: abilityID(a.Task), Caption: a.Task, Note: a.Note}
		for _, p := range []*Panel{a.Sharp, a.Smooth} {
			if p == nil {
				continue
			}
			f.SVGs = append(f.SVGs, svg(PanelPlot(a.Task, p).SVG()))
		}
		if p := a.Sharp; p != nil {
			f.Lines = append(f.Lines, panelLines(p)...)
			for _, e := range p.Evidence {
				f.Items = append(f.Items, evidenceItem{e.Pass, e.Test, e.Detail})
			}
		}
		if p := a.Smooth; p != nil {
			line := fmt.Sprintf("Smooth metric %s: %s", p.Metric, p.Verdict)
			if p.NotApplicable != "" {
				line += " (fit not applicable: " + p.NotApplicable + ")"
			} else {
				line += " (fit " + orDash(p.FitModel) + ")"
			}
			if p.FewItems {
				line += fmt.Sprintf("; rests on %d items per evaluation", p.NMin)
			}
			f.Lines = append(f.Lines, line+".")
		}
		if m := a.Mirage; m != nil {
			pair := m.SharpMetric + " " + m.SharpVerdict
			if m.SmoothMetric != "" {
				pair += ", " + m.SmoothMetric + " " + orDash(m.SmoothVerdict)
			}
			f.Lines = append(f.Lines, fmt.Sprintf("Mirage test: %s — %s. %s", mirageWord(m), pair, m.Detail))
			if m.PowerL != "" {
				f.Lines = append(f.Lines, m.PowerL)
			}
		} else if a.Sharp != nil {
			f.Lines = append(f.Lines, "Mirage test: not run (needs a sharp and a smooth metric with enough levels).")
		}
		sec.Figures = append(sec.Figures, f)
	}
	if len(r.Abilities) == 0 {
		sec.Note = note(SecAbilities, "No ability curves: the runs have no evaluations on a scale ladder.")
	}
	v.Sections = append(v.Sections, sec)

	// Loss view.
	sec = section{ID: SecLossView, Title: "The loss view",
		Intro: "Metrics against eval loss for every model size and checkpoint (Du et al. 2024), with ±1 standard error over the items: if points from all sizes fall on one curve, the ability tracks the pre-training loss rather than the size that reached it. L* is the fitted loss threshold (flat, then linear below L*)."}
	if lv := r.LossView; lv != nil && len(lv.Panels) > 0 {
		for i := range lv.Panels {
			lp := &lv.Panels[i]
			f := figure{Caption: lp.Task + " / " + lp.Metric, SVGs: []template.HTML{svg(LossPanelPlot(lp).SVG())}, Note: lp.Note}
			if finite(lp.LStar) {
				f.Lines = append(f.Lines, fmt.Sprintf("L* = %s, interval %s; R² one hinge for all sizes %s, one per size %s.", Num(lp.LStar), Interval(lp.LStarLo, lp.LStarHi), Num(lp.R2All), Num(lp.R2PerGroup)))
				if lp.BoundNote != "" {
					f.Lines = append(f.Lines, lp.BoundNote)
				}
			}
			sec.Figures = append(sec.Figures, f)
		}
		sec.Note = lv.Note
	} else {
		sec.Note = note(SecLossView, "No loss view: no run has evaluations joined to an eval loss.")
	}
	v.Sections = append(v.Sections, sec)

	// Induction heads.
	sec = section{ID: SecInduction, Title: "Induction-head formation",
		Intro: "The best head's prefix-matching score (Olsson et al. 2022: attention from a repeated token to the token after its earlier copy; 1 is a perfect induction head, uniform attention scores ≈ 1/t) and the in-context-learning score (loss on late tokens of a sequence minus loss on early ones, in nats: more negative is better) against training step, one line per model size. A probe is one measurement of one run on fixed inputs, so these curves carry no error bars."}
	if in := r.Induction; in != nil && (len(in.PrefixMatching) > 0 || len(in.ICL) > 0) {
		pm := &Plot{Title: "Best head's prefix-matching score", XLabel: axisLabel("step"), YLabel: "prefix-matching score", XLog: true,
			Series: in.PrefixMatching, YFixed: true, YMin: 0, YMax: 1, HLines: []Marker{{At: 0.5, Label: "0.5 (phase change)"}}}
		icl := in.ICLLabel
		if icl == "" {
			icl = "ICL score"
		}
		ip := &Plot{Title: "In-context-learning score", XLabel: axisLabel("step"), YLabel: icl, XLog: true, Series: in.ICL}
		sec.Figures = append(sec.Figures, figure{SVGs: []template.HTML{svg(pm.SVG()), svg(ip.SVG())}, Lines: in.PhaseChange, Note: in.Note})
	} else {
		sec.Note = note(SecInduction, "No induction data: no run has prefix_matching probes (run emlab probe on an attention model).")
	}
	v.Sections = append(v.Sections, sec)

	// Grokking.
	sec = section{ID: SecGrokking, Title: "Grokking",
		Intro: "Train and held-out accuracy, the restricted and excluded losses (Nanda et al. 2023: loss with only the key Fourier frequencies kept, and with them removed) and the weight norm against step: memorisation first, then the clean-up that generalises. Every run with both accuracies is shown, the weight-decay run and its control, each trained for its full length; a probe is one measurement on a fixed set, so no error bars."}
	if g := r.Grokking; g != nil && (len(g.Accuracy) > 0 || len(g.Loss) > 0 || len(g.WeightNorm) > 0) {
		title := g.Title
		if title == "" {
			title = "modular addition"
		}
		acc := &Plot{Title: "Accuracy — " + title, XLabel: axisLabel("step"), YLabel: "accuracy", XLog: true, Series: g.Accuracy, YFixed: true, YMin: 0, YMax: 1}
		loss := &Plot{Title: "Losses — " + title, XLabel: axisLabel("step"), YLabel: "loss (nats, log; lower is better)", XLog: true, YLog: true, Series: g.Loss}
		wn := &Plot{Title: "Weight norm — " + title, XLabel: axisLabel("step"), YLabel: "weight norm (L2)", XLog: true, Series: g.WeightNorm}
		sec.Figures = append(sec.Figures, figure{SVGs: []template.HTML{svg(acc.SVG()), svg(loss.SVG()), svg(wn.SVG())}, Lines: g.Summary, Note: g.Note})
	} else {
		sec.Note = note(SecGrokking, "No grokking data: no run logged train and held-out accuracy over steps.")
	}
	v.Sections = append(v.Sections, sec)

	// Quanta.
	sec = section{ID: SecQuanta, Title: "Quanta",
		Intro: "Per-subtask loss by model size (Michaud et al. 2023): if abilities are discrete quanta, each subtask switches from unsolved to solved at its own size, the most frequent first."}
	if q := r.Quanta; q != nil && len(q.Map.Rows) > 0 {
		sec.Figures = append(sec.Figures, figure{SVGs: []template.HTML{svg(q.Map.SVG())}, Lines: q.Order, Note: q.Note})
	} else {
		sec.Note = note(SecQuanta, "No quanta data: no run has per-subtask evaluations.")
	}
	v.Sections = append(v.Sections, sec)

	// Scaling law.
	sec = section{ID: SecScaling, Title: "Scaling law", Intro: "Final eval loss against scale and the fitted law (Huber loss on log loss, bootstrap intervals)."}
	if s := r.Scaling; s != nil && len(s.Observed.X) > 0 {
		f := figure{SVGs: []template.HTML{svg(ScalingPlot(s).SVG())}, Note: s.Note}
		if s.Formula != "" {
			f.Lines = append(f.Lines, s.Formula)
		}
		if len(s.Params) > 0 {
			sec.Table = &table{Head: []string{"parameter", "value", "interval"}}
		}
		for _, p := range s.Params {
			sec.Table.Rows = append(sec.Table.Rows, []string{p.Name, Num(p.Value), Interval(p.Lo, p.Hi)})
		}
		sec.Figures = append(sec.Figures, f)
	} else {
		sec.Note = note(SecScaling, "No scaling-law fit: it needs final losses from at least four model sizes.")
	}
	v.Sections = append(v.Sections, sec)

	// Forecasts.
	sec = section{ID: SecForecasts, Title: "Forecasts", Intro: "Could the emergence have been predicted? Each curve is fitted on its smaller rungs only and extrapolated to the held-out larger ones."}
	for i := range r.Forecasts {
		fc := &r.Forecasts[i]
		f := figure{Caption: fc.Task + " / " + fc.Metric, SVGs: []template.HTML{svg(ForecastPlot(fc).SVG())},
			Lines: []string{fmt.Sprintf("Fitted on %d rungs with %s; mean absolute error on the %d held-out rungs %s, interval %s. x* from the small rungs %s, from all rungs %s.",
				fc.FitLevels, orDash(fc.Model), fc.Holdout, Num(fc.MAE), Interval(fc.MAELo, fc.MAEHi), Num(fc.XStarSmall), Num(fc.XStarFull))}}
		if fc.BoundNote != "" {
			f.Lines = append(f.Lines, fc.BoundNote)
		}
		sec.Figures = append(sec.Figures, f)
	}
	if len(r.Forecasts) == 0 {
		sec.Note = note(SecForecasts, "No forecasts: they need at least four rungs below the held-out ones.")
	}
	v.Sections = append(v.Sections, sec)

	// Runs and provenance.
	sec = section{ID: SecRuns, Title: "Runs: command, seed, configuration, code version"}
	sec.Table = &table{Head: []string{"run", "role", "status", "params", "non-emb.", "seed", "steps", "tokens", "FLOPs", "loss", "eval loss", "code version"}}
	for _, ru := range r.Runs {
		sec.Table.Rows = append(sec.Table.Rows, []string{ru.ID, ru.Role, ru.Status, Num(ru.Params), Num(ru.NonEmb), ru.Seed, strconv.Itoa(ru.Steps),
			Num(ru.Tokens), Num(ru.FLOPs), Num(ru.FinalLoss), Num(ru.FinalEvalLoss), ru.CodeVersion})
	}
	if len(r.Runs) == 0 {
		sec.Note = note(SecRuns, "No runs.")
	}
	v.Sections = append(v.Sections, sec)

	sec = section{ID: SecNotes, Title: "Notes on the data", Lines: r.Notes}
	if len(r.Notes) == 0 {
		sec.Note = "Nothing missing."
	}
	v.Sections = append(v.Sections, sec)

	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.R.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:0 auto;padding:1em 1.5em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}h3{margin:.8em 0 .3em}
.subtitle{color:#555;font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}
nav ul{columns:3;list-style:none;padding:0}nav a{color:#0072B2}
figure{margin:1em 0;padding:.5em;border:1px solid #e4e4e4;border-radius:4px}
.plots{display:flex;flex-wrap:wrap;gap:8px}.plots svg{max-width:100%;height:auto}
figcaption{font-weight:bold;margin-bottom:.3em}
.note{color:#8a4b00;background:#fff6e5;padding:.4em .6em;border-left:3px solid #E69F00}
ul.evidence{font-size:.9em;padding-left:1.2em}li.pass::marker{content:"✓ ";color:#009E73}li.fail::marker{content:"✗ ";color:#D55E00}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}th,td{border:1px solid #ddd;padding:2px 6px;text-align:left}th{background:#f3f3f3}
details pre{font-size:.8em;background:#f8f8f8;padding:.5em;overflow-x:auto;white-space:pre-wrap}
code{font-family:ui-monospace,monospace}
table.claims td{vertical-align:top}td.emergent{color:#a63d00;font-weight:bold}dl.terms{font-size:.9em}dl.terms dt{font-weight:bold;margin-top:.3em}dl.terms dd{margin-left:1.5em}.reading{font-size:1.1em}td.supported{color:#006b4f;font-weight:bold}td.notsupported{color:#a63d00;font-weight:bold}td.inconclusive{color:#555;font-weight:bold}
@media print{
 body{max-width:none;padding:0;font-size:10pt}
 nav{display:none}
 figure{break-inside:avoid;page-break-inside:avoid;border:none}
 h2{break-after:avoid;page-break-after:avoid}
 details{display:block}details>summary{display:none}
 a{color:inherit;text-decoration:none}
}
</style>
</head>
<body>
<h1>{{.R.Title}}</h1>
{{if .R.Subtitle}}<p class="subtitle">{{.R.Subtitle}}</p>{{end}}
{{if .Bottom}}<section id="claims">
<h2>Bottom line</h2>
{{if .Reading}}<p class="reading">{{.Reading}}</p>{{end}}
<table class="claims"><thead><tr><th>ability or claim</th><th>verdict</th><th>x* [interval]</th><th>mirage test</th><th>items × seeds</th><th>reading</th></tr></thead><tbody>
{{range .Bottom}}<tr><td>{{.What}}{{if .LinkText}}{{if .What}} {{end}}{{if .Link}}<a href="{{.Link}}">{{.LinkText}}</a>{{else}}{{.LinkText}}{{end}}{{end}}</td><td class="{{.VerdictClass}}">{{.Verdict}}</td><td>{{.XStar}}</td><td>{{.Mirage}}</td><td>{{.Support}}</td><td>{{.Reading}}</td></tr>
{{end}}</tbody></table>
<dl class="terms">{{range .Terms}}<dt>{{.Word}}</dt><dd>{{.Def}}</dd>{{end}}</dl>
</section>{{end}}
{{range .R.Summary}}<p class="summary">{{.}}</p>{{end}}
<nav><ul>{{range .Sections}}<li><a href="#{{.ID}}">{{.Title}}</a></li>{{end}}</ul></nav>
{{range .Sections}}
<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{if .Intro}}<p class="intro">{{.Intro}}</p>{{end}}
{{range .Figures}}<figure{{if .ID}} id="{{.ID}}"{{end}}>
{{if .Caption}}<figcaption>{{.Caption}}</figcaption>{{end}}
{{if .SVGs}}<div class="plots">{{range .SVGs}}{{.}}{{end}}</div>{{end}}
{{range .Lines}}<p>{{.}}</p>{{end}}
{{if .Items}}<ul class="evidence">{{range .Items}}<li class="{{if .Pass}}pass{{else}}fail{{end}}"><b>{{.Test}}</b>: {{.Detail}}</li>{{end}}</ul>{{end}}
{{with .Table}}<table><thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead><tbody>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>{{end}}
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
</figure>
{{end}}
{{range .Lines}}<p>{{.}}</p>{{end}}
{{with .Table}}<table><thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead><tbody>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>{{end}}
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{if eq .ID "runs"}}{{range $.R.Runs}}<details><summary>{{.ID}}: command, configuration</summary>
<p>Command: <code>{{if .Command}}{{.Command}}{{else}}(not recorded){{end}}</code></p>
<p>Seed {{.Seed}}, code version <code>{{.CodeVersion}}</code></p>
{{if .ConfigParseProblem}}<p class="note">{{.ConfigParseProblem}}</p>{{end}}
<pre>{{.Config}}</pre></details>
{{end}}{{end}}
</section>
{{end}}
</body>
</html>
`))
