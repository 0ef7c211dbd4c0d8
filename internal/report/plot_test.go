package report

import (
	"bytes"
	"encoding/xml"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// node is a parsed XML element, enough to check a plot's structure.
type node struct {
	Name     string
	Attr     map[string]string
	Text     string
	Children []*node
}

func parseXML(t *testing.T, s string) *node {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(s))
	dec.Strict = true
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("SVG does not parse as XML: %v\n%s", err, s)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &node{Name: tk.Name.Local, Attr: map[string]string{}}
			for _, a := range tk.Attr {
				n.Attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tk)
			}
		}
	}
	if root == nil {
		t.Fatalf("empty SVG")
	}
	return root
}

func (n *node) hasClass(c string) bool {
	return slices.Contains(strings.Fields(n.Attr["class"]), c)
}

// find returns every descendant (and n itself) that matches.
func (n *node) find(match func(*node) bool) []*node {
	var out []*node
	if match(n) {
		out = append(out, n)
	}
	for _, c := range n.Children {
		out = append(out, c.find(match)...)
	}
	return out
}

func (n *node) byClass(c string) []*node {
	return n.find(func(m *node) bool { return m.hasClass(c) })
}

// allText is the concatenated character data of n and its descendants.
func (n *node) allText() string {
	s := n.Text
	for _, c := range n.Children {
		s += c.allText()
	}
	return s
}

func tickLabels(ax *node) []string {
	var out []string
	for _, tk := range ax.byClass("tick") {
		for _, c := range tk.Children {
			if c.Name == "text" {
				out = append(out, c.Text)
			}
		}
	}
	return out
}

func ladderPlot() *Plot {
	return &Plot{
		Title: "add — exact_match", XLabel: "parameters (log scale)", YLabel: "exact_match", XLog: true,
		Series: []Series{
			{Label: "observed", X: []float64{16500, 29000, 62000, 108000, 347000, 808000}, Y: []float64{0.01, 0.06, 0.86, 0.99, 1, 1},
				Lo: []float64{0, 0.03, 0.8, 0.97, 1, 1}, Hi: []float64{0.02, 0.09, 0.92, 1, 1, 1}, Style: Points},
			{Label: "fit: sigmoid_log", X: []float64{16500, 40000, 62000, 100000, 808000}, Y: []float64{0.01, 0.3, 0.8, 0.98, 1}, Style: Line},
		},
		XBands: []Band{{Lo: 40000, Hi: 60000, Label: "x* interval"}},
		VLines: []Marker{{At: 50000, Label: "x* = 50k"}},
		HLines: []Marker{{At: 0.01, Label: "chance"}},
		YFixed: true, YMin: 0, YMax: 1,
	}
}

func TestPlotStructure(t *testing.T) {
	svg := ladderPlot().SVG()
	root := parseXML(t, svg)
	if root.Name != "svg" {
		t.Fatalf("root element %q, want svg", root.Name)
	}
	xa, ya := root.byClass("x-axis"), root.byClass("y-axis")
	if len(xa) != 1 || len(ya) != 1 {
		t.Fatalf("found %d x axes and %d y axes, want one each", len(xa), len(ya))
	}
	if got := xa[0].Attr["data-scale"]; got != "log" {
		t.Errorf("x axis scale %q, want log", got)
	}
	for _, c := range []struct {
		ax   *node
		want string
	}{{xa[0], "parameters (log scale)"}, {ya[0], "exact_match"}} {
		labels := c.ax.byClass("axis-label")
		if len(labels) != 1 || labels[0].Text != c.want {
			t.Errorf("axis label %v, want %q", labels, c.want)
		}
	}
	// Params 16.5k–808k: powers of ten 100k inside (10k and 1M fall
	// outside once the 5 % margin is added? 10^4.19..10^5.93 → only 100k),
	// so 2× and 5× labels are added: 20k, 50k, 100k, 200k, 500k.
	if got, want := tickLabels(xa[0]), []string{"20k", "50k", "100k", "200k", "500k"}; !slices.Equal(got, want) {
		t.Errorf("x tick labels %q, want %q", got, want)
	}
	if got, want := tickLabels(ya[0]), []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}; !slices.Equal(got, want) {
		t.Errorf("y tick labels %q, want %q", got, want)
	}
	series := root.byClass("series")
	if len(series) != 2 || series[0].Attr["data-label"] != "observed" || series[1].Attr["data-label"] != "fit: sigmoid_log" {
		t.Fatalf("series %v", series)
	}
	if n := len(series[0].byClass("marker")); n != 6 {
		t.Errorf("observed series has %d markers, want 6", n)
	}
	if n := len(series[0].byClass("errorbar")); n != 6 {
		t.Errorf("observed series has %d error bars, want 6", n)
	}
	if n := len(series[1].byClass("line")); n != 1 {
		t.Errorf("fit series has %d paths, want 1", n)
	}
	if n := len(root.byClass("band")); n != 1 {
		t.Errorf("%d bands, want 1", n)
	}
	if n := len(root.byClass("vline")) + len(root.byClass("hline")); n != 2 {
		t.Errorf("%d reference lines, want 2", n)
	}
	var legend []string
	for _, e := range root.byClass("legend-entry") {
		legend = append(legend, e.allText())
	}
	if want := []string{"observed", "fit: sigmoid_log", "x* interval", "x* = 50k", "chance"}; !slices.Equal(legend, want) {
		t.Errorf("legend %q, want %q", legend, want)
	}
}

func TestLogTicks(t *testing.T) {
	for _, c := range []struct {
		name   string
		lo, hi float64 // decades
		want   []string
	}{
		{"four decades", 1, 5, []string{"10", "100", "1k", "10k", "100k"}},
		{"inside one decade", math.Log10(150), math.Log10(900), []string{"200", "500"}},
		{"across one power", math.Log10(30), math.Log10(300), []string{"50", "100", "200"}},
		{"small values", -3, 0, []string{"0.001", "0.01", "0.1", "1"}},
		// 20 decades: labels thinned to every third power so ≤ 8 remain.
		{"wide range", 0, 20, []string{"1", "1k", "1M", "1G", "1T", "1e15", "1e18"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, tk := range logTicks(c.lo, c.hi) {
				if tk.label != "" {
					got = append(got, tk.label)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("labels %q, want %q", got, c.want)
			}
		})
	}
}

func TestNoData(t *testing.T) {
	for _, c := range []struct {
		name string
		p    *Plot
	}{
		{"no series", &Plot{Title: "empty"}},
		{"empty series", &Plot{Title: "e", Series: []Series{{Label: "a"}}}},
		{"all NaN", &Plot{Title: "n", Series: []Series{{Label: "a", X: []float64{1, 2}, Y: []float64{math.NaN(), math.NaN()}}}}},
		{"non-positive on log", &Plot{Title: "l", XLog: true, Series: []Series{{Label: "a", X: []float64{0, -1}, Y: []float64{1, 2}}}}},
		{"infinite", &Plot{Title: "i", Series: []Series{{Label: "a", X: []float64{math.Inf(1)}, Y: []float64{1}}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := parseXML(t, c.p.SVG())
			if n := len(root.byClass("no-data")); n != 1 {
				t.Errorf("%d no-data notes, want 1", n)
			}
			if n := len(root.byClass("series")); n != 0 {
				t.Errorf("%d series drawn in an empty plot", n)
			}
		})
	}
	// A plot where one series has data and another does not draws the
	// first and marks the second in the legend.
	p := &Plot{Title: "half", Series: []Series{{Label: "ok", X: []float64{1, 2}, Y: []float64{1, 2}}, {Label: "bad", X: []float64{1}, Y: []float64{math.NaN()}}}}
	root := parseXML(t, p.SVG())
	if len(root.byClass("no-data")) != 0 {
		t.Error("no-data note in a plot with data")
	}
	var legend []string
	for _, e := range root.byClass("legend-entry") {
		legend = append(legend, e.allText())
	}
	if want := []string{"ok", "bad (no data)"}; !slices.Equal(legend, want) {
		t.Errorf("legend %q, want %q", legend, want)
	}
}

// A NaN in the middle of a series breaks its line into two pieces.
func TestLineBreaksAtNaN(t *testing.T) {
	p := &Plot{Title: "gap", Series: []Series{{Label: "s", X: []float64{1, 2, 3, 4}, Y: []float64{1, math.NaN(), 3, 4}}}}
	root := parseXML(t, p.SVG())
	lines := root.byClass("line")
	if len(lines) != 1 {
		t.Fatalf("%d paths", len(lines))
	}
	if d := lines[0].Attr["d"]; strings.Count(d, "M") != 2 || strings.Count(d, "L") != 1 {
		t.Errorf("path %q: want two pieces (M…, M…L…)", d)
	}
}

func TestEscaping(t *testing.T) {
	evil := `<script>alert("x")</script>&'`
	p := &Plot{Title: evil, XLabel: evil, YLabel: evil, Series: []Series{{Label: evil, X: []float64{1, 2}, Y: []float64{1, 2}}},
		VLines: []Marker{{At: 1.5, Label: evil}}, XBands: []Band{{Lo: 1, Hi: 2, Label: evil}}}
	hm := &Heatmap{Title: evil, Rows: []string{evil}, Cols: []string{evil}, Values: [][]float64{{1}}, XLabel: evil, YLabel: evil, ValueLabel: evil}
	for _, s := range []string{p.SVG(), hm.SVG()} {
		if strings.Contains(s, "<script") {
			t.Fatalf("unescaped markup in SVG:\n%s", s)
		}
		root := parseXML(t, s)
		if got := root.find(func(n *node) bool { return n.Name == "script" }); len(got) != 0 {
			t.Errorf("script element in SVG")
		}
		if !strings.Contains(root.allText(), evil) {
			t.Errorf("the escaped text does not read back as the original")
		}
	}
	var buf bytes.Buffer
	r := &Report{Title: evil, Subtitle: evil, Notes: []string{evil}, Runs: []Run{{ID: evil, Command: evil, Config: evil}},
		Abilities: []Ability{{Task: evil, Sharp: &Panel{Metric: evil, Verdict: evil, Evidence: []Evidence{{Test: evil, Detail: evil}}}}}}
	if err := Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script") {
		t.Errorf("unescaped markup in the HTML report")
	}
}

func TestDeterministic(t *testing.T) {
	a, b := ladderPlot().SVG(), ladderPlot().SVG()
	if a != b {
		t.Fatal("same plot, different bytes")
	}
	var ra, rb bytes.Buffer
	if err := Write(&ra, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if err := Write(&rb, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ra.Bytes(), rb.Bytes()) {
		t.Fatal("same report, different bytes")
	}
}

func TestHeatmap(t *testing.T) {
	hm := &Heatmap{Title: "per-subtask loss", XLabel: "width", YLabel: "subtask", ValueLabel: "loss", LowIsGood: true,
		Cols: []string{"8", "16", "32"}, Rows: []string{"0", "1"}, Values: [][]float64{{0.7, 0.1, 0.01}, {0.7, math.NaN(), 0.05}}}
	root := parseXML(t, hm.SVG())
	cells := root.byClass("cell")
	if len(cells) != 6 {
		t.Fatalf("%d cells, want 6", len(cells))
	}
	if n := len(root.byClass("missing")); n != 1 {
		t.Errorf("%d missing cells, want 1", n)
	}
	if n := len(root.byClass("col-label")); n != 3 {
		t.Errorf("%d column labels", n)
	}
	if n := len(root.byClass("colorbar")); n != 1 {
		t.Errorf("no colour bar")
	}
	// Low loss is the bright (yellow) end, high loss the dark (purple) end.
	if got := colour(1); got != "#fde725" {
		t.Errorf("colour(1) = %s", got)
	}
	fill := func(c *node) string { return c.Children[0].Attr["fill"] }
	if fill(cells[0]) != colour(0) || fill(cells[2]) != colour(1) {
		t.Errorf("cell colours %s, %s: want worst dark %s and best bright %s", fill(cells[0]), fill(cells[2]), colour(0), colour(1))
	}
	empty := &Heatmap{Title: "none"}
	if n := len(parseXML(t, empty.SVG()).byClass("no-data")); n != 1 {
		t.Errorf("empty heat map: %d no-data notes", n)
	}
}

// TestGolden compares whole outputs with testdata/*.golden; run
// `go test ./internal/report -update` after an intended change and review
// the diff.
func TestGolden(t *testing.T) {
	var rep bytes.Buffer
	if err := Write(&rep, sampleReport()); err != nil {
		t.Fatal(err)
	}
	hm := sampleReport().Quanta.Map
	for _, c := range []struct {
		name, got string
	}{
		{"ladder.svg", ladderPlot().SVG()},
		{"nodata.svg", (&Plot{Title: "empty", Series: []Series{{Label: "a"}}}).SVG()},
		{"heatmap.svg", hm.SVG()},
		{"report.html", rep.String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(c.got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(want) != c.got {
				t.Errorf("%s differs from the golden file (rerun with -update if the change is intended)", c.name)
			}
		})
	}
}

func sampleReport() *Report {
	nan := math.NaN()
	sharp := &Panel{Metric: "exact_match", Axis: "params", XLog: true, Fraction: true,
		Observed: Series{X: []float64{16500, 29000, 62000, 108000}, Y: []float64{0.01, 0.06, 0.86, 1}},
		Fitted:   Series{X: []float64{16500, 40000, 62000, 108000}, Y: []float64{0.01, 0.3, 0.86, 1}}, FitModel: "sigmoid_log",
		XStar: 45000, XStarLo: 38000, XStarHi: math.Inf(1), Chance: 0.01, Verdict: "emergent", Breakthroughness: 3.2, Linearity: 0.4,
		Evidence: []Evidence{{Test: "sigmoid_vs_smooth", Pass: true, Detail: "ΔBIC 12 > 2"}, {Test: "near_chance_small", Pass: false, Detail: "p = 0.01"}},
		Reason:   "a sharp rise from near chance", NMin: 20, MinItems: 50, FewItems: true,
		Levels: []Level{{X: 16500, Mean: 0.01, SD: 0.01, Seeds: 2, Items: 20}, {X: 29000, Mean: 0.06, SD: 0.02, Seeds: 2, Items: 200},
			{X: 62000, Mean: 0.86, SD: 0.05, Seeds: 2, Items: 200}, {X: 108000, Mean: 1, SD: nan, Seeds: 1, Items: 200}},
		XStarSeeds: []SeedX{{Seed: "0", X: 42000}, {Seed: "1", X: 48000}}}
	flat := &Panel{Metric: "exact_match", Axis: "params", XLog: true, Fraction: true, Verdict: "flat", Reason: "every level is 0",
		NotApplicable: "every level is 0: a constant curve has no change, transition or scatter to fit",
		Observed:      Series{X: []float64{16500, 29000, 62000, 108000}, Y: []float64{0, 0, 0, 0}},
		XStar:         nan, XStarLo: nan, XStarHi: nan, Chance: 0.001, Breakthroughness: nan, Linearity: nan}
	smooth := &Panel{Metric: "token_accuracy", Axis: "params", XLog: true, Fraction: true,
		Observed: Series{X: []float64{16500, 29000, 62000, 108000}, Y: []float64{0.3, 0.45, 0.9, 1}}, Verdict: "smooth", FitModel: "linear_log",
		XStar: nan, XStarLo: nan, XStarHi: nan, Chance: nan}
	return &Report{
		Title: "emlab report", Subtitle: "emlab demo --quick", Summary: []string{"1 ability emergent."},
		Runs: []Run{{ID: "ladder/r0", Role: "ladder", Status: "done", Params: 16500, NonEmb: 12000, Seed: "1", Steps: 460, Tokens: 1e6, FLOPs: 1e11,
			FinalLoss: 1.2, FinalEvalLoss: nan, CodeVersion: "abc123", Command: "emlab train --preset x", Config: "{\n  \"d\": 32\n}"}},
		Abilities: []Ability{{Task: "add/plain/2", Sharp: sharp, Smooth: smooth,
			Mirage: &Mirage{SharpMetric: "exact_match", SharpVerdict: "emergent", SmoothMetric: "token_accuracy", SmoothVerdict: "smooth", Verdict: "artifact", IsMirage: true, Detail: "smooth metric is smooth"}},
			{Task: "mul/plain/2", Sharp: flat, Mirage: &Mirage{SharpMetric: "exact_match", SharpVerdict: "flat", Verdict: "not_applicable",
				Detail: "exact_match is flat, not emergent: nothing sharp to explain", PowerL: "p^L check: not applicable — exact match is 0 at every scale."}}},
		LossView: &LossView{Panels: []LossPanel{{Task: "add/plain/2", Metric: "exact_match", Fraction: true, LStar: 1.1, LStarLo: 1.0, LStarHi: 1.2, R2All: 0.9, R2PerGroup: 0.93,
			Series: []Series{{Label: "16.5k", X: []float64{2, 1.5, 1.2}, Y: []float64{0, 0.01, 0.1}}, {Label: "29k", X: []float64{1.9, 1.3, 1.0}, Y: []float64{0, 0.05, 0.5}}}}}},
		Induction: &Induction{PrefixMatching: []Series{{Label: "attn2", X: []float64{100, 1000, 2000}, Y: []float64{0.02, 0.1, 0.8}}},
			ICL: []Series{{Label: "attn2", X: []float64{100, 1000, 2000}, Y: []float64{-0.1, -0.3, -1.2}}}, PhaseChange: []string{"attn2: passes 0.5 at step 1500."}},
		Grokking: &Grokking{Accuracy: []Series{{Label: "train", X: []float64{10, 100, 1000, 5000}, Y: []float64{0.1, 0.99, 1, 1}}, {Label: "held-out", X: []float64{10, 100, 1000, 5000}, Y: []float64{0.02, 0.03, 0.05, 0.95}}}},
		Quanta: &Quanta{Map: Heatmap{Title: "per-subtask loss", XLabel: "width", YLabel: "subtask", ValueLabel: "loss", LowIsGood: true,
			Cols: []string{"8", "16"}, Rows: []string{"0", "1"}, Values: [][]float64{{0.1, 0.01}, {0.7, 0.2}}}},
		Scaling: &Scaling{Form: "single_axis", Formula: "L = E + A·N^−α", XLabel: "parameters (log scale)",
			Observed: Series{X: []float64{16500, 29000, 62000, 108000}, Y: []float64{1.5, 1.3, 1.1, 1.0}},
			Fitted:   Series{X: []float64{16500, 108000}, Y: []float64{1.5, 1.0}}, Params: []Param{{Name: "alpha", Value: 0.3, Lo: 0.2, Hi: 0.4}}},
		Notes: []string{"mul: insufficient levels."},
	}
}
