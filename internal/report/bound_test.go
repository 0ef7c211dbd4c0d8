package report

import (
	"strings"
	"testing"
)

// TestBoundNoteShown: a panel whose fit or x* rests on a parameter at a
// bound prints the analysis' note under the fit line, and the bottom line
// marks such an x* with ‡ (defined under the table); a panel and row
// without one print neither, and the glossary then leaves ‡ out.
func TestBoundNoteShown(t *testing.T) {
	const note = "At a bound: the chosen fit, sigmoid_log: its width is at the floor the fit imposes (0.001 decades): the rise is at least this sharp; the sampling cannot resolve the width."
	for _, c := range []struct {
		name  string
		note  string
		bound bool
	}{{"at a bound", note, true}, {"resolved", "", false}} {
		t.Run(c.name, func(t *testing.T) {
			p := &Panel{Metric: "exact_match", FitModel: "sigmoid_log", Verdict: "emergent", XStar: 3e4, XStarLo: 2e4, XStarHi: 4e4, BoundNote: c.note}
			lines := strings.Join(panelLines(p), "\n")
			if got := strings.Contains(lines, note); got != c.bound {
				t.Errorf("note shown %v, want %v:\n%s", got, c.bound, lines)
			}
			r := &Report{BottomLine: &BottomLine{Rows: []BottomRow{{Ability: "add", Verdict: "emergent", Emergent: true, XStar: 3e4, XStarLo: 2e4, XStarHi: 4e4, XStarAtBound: c.bound}}}}
			rows := bottomRows(r)
			if got := strings.HasSuffix(rows[0].XStar, "‡"); got != c.bound {
				t.Errorf("x* %q marked %v, want %v", rows[0].XStar, got, c.bound)
			}
			var b strings.Builder
			if err := Write(&b, r); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(b.String(), "<dt>‡</dt>"); got != c.bound {
				t.Errorf("the glossary defines ‡: %v, want %v (only when a row carries it)", got, c.bound)
			}
		})
	}
}

// TestForecastAndLossBoundNotes: the report prints a forecast's and a loss
// view's bound note under its numbers when the analysis gives one, and
// nothing of the kind when it does not.
func TestForecastAndLossBoundNotes(t *testing.T) {
	const fcNote = "At a bound: x* from the smaller rungs comes from the sigmoid_log: its width is unresolved."
	const ltNote = "At a limit: L* is within one sampled loss of the highest eval loss (3)."
	for _, c := range []struct {
		name  string
		bound bool
	}{{"at a bound", true}, {"resolved", false}} {
		t.Run(c.name, func(t *testing.T) {
			r := &Report{
				LossView:  &LossView{Panels: []LossPanel{{Task: "add/plain/2", Metric: "exact_match", Fraction: true, LStar: 3, LStarLo: 2.9, LStarHi: 3, R2All: 0.9, R2PerGroup: 0.93}}},
				Forecasts: []Forecast{{Task: "add/plain/2", Metric: "exact_match", Axis: "params", Model: "sigmoid_log", FitLevels: 6, Holdout: 2, MAE: 0.1, MAELo: 0.05, MAEHi: 0.2, XStarSmall: 5e4, XStarFull: 6e4, Fraction: true}},
			}
			if c.bound {
				r.LossView.Panels[0].BoundNote, r.Forecasts[0].BoundNote = ltNote, fcNote
			}
			var b strings.Builder
			if err := Write(&b, r); err != nil {
				t.Fatal(err)
			}
			html := b.String()
			for _, n := range []string{"x* from the smaller rungs comes from the sigmoid_log", "L* is within one sampled loss of the highest eval loss"} {
				if got := strings.Contains(html, n); got != c.bound {
					t.Errorf("%q shown %v, want %v", n, got, c.bound)
				}
			}
		})
	}
}
