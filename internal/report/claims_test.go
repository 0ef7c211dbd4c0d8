package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestClaimsTable: the claims table comes first, each row links to its
// section, verdicts get their class, study sections render their plots
// and tables, and text from findings is escaped.
func TestClaimsTable(t *testing.T) {
	r := &Report{Title: "t",
		Claims: []Claim{
			{ID: "cot", Claim: "a scratchpad <helps>", Experiment: "two ladders", Verdict: VerdictSupported, Detail: "x* 8k vs > 105k", Section: "study-cot"},
			{ID: "longrange", Claim: "attention keeps long dependencies", Experiment: "GPT vs LSTM", Verdict: VerdictNotSupported, Section: "study-longrange"},
			{ID: "x", Claim: "no section", Verdict: VerdictInconclusive},
		},
		Studies: []StudySection{
			{ID: "study-cot", Title: "Chain of thought", Figures: []StudyFigure{{Caption: "add", Plots: []*Plot{{Title: "curve", Series: []Series{{Label: "s", X: []float64{1, 2}, Y: []float64{0, 1}}}}},
				Table: &Table{Head: []string{"rung", "x*"}, Rows: [][]string{{"d16L1", "8k"}}}}}},
			{ID: "study-longrange", Title: "Long range", Note: "no runs yet"},
		}}
	var b bytes.Buffer
	if err := Write(&b, r); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	claims := strings.Index(html, `<section id="claims">`)
	nav := strings.Index(html, "<nav>")
	study := strings.Index(html, `<section id="study-cot">`)
	abilities := strings.Index(html, `<section id="abilities">`)
	if claims < 0 || nav < claims || study < nav || abilities < study {
		t.Errorf("order: claims at %d, nav %d, study section %d, abilities %d; want claims table first, then the study sections", claims, nav, study, abilities)
	}
	for _, want := range []string{
		`<a href="#study-cot">cot</a>`, `<td class="supported">supported</td>`, `<td class="notsupported">not supported here</td>`,
		`<td class="inconclusive">inconclusive</td>`, "a scratchpad &lt;helps&gt;", `<section id="study-longrange">`, "no runs yet",
		"<th>rung</th>", "<td>d16L1</td>", "<svg",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, `href="#"`) {
		t.Error("a claim without a section got an empty link")
	}
	// No claims: no table.
	b.Reset()
	if err := Write(&b, &Report{Title: "t"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), `id="claims"`) {
		t.Error("a report without claims has a claims table")
	}
}
