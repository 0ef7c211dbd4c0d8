package report

import (
	"strings"
	"testing"
)

// TestBoundNoteShown: a panel whose fit or x* rests on a parameter at a
// bound prints the analysis' note under the fit line, and the bottom line
// marks such an x* with ‡ (defined under the table); a panel and row
// without one print neither.
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
		})
	}
}
