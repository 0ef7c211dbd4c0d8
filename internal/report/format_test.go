package report

import (
	"strings"
	"testing"
)

// TestLookOfDistinct: the first 40 series of a scatter plot differ in
// colour or marker, and the first 32 of a line plot in colour or dash
// (the loss view's 16 size-and-seed series, the dashboard's 17 curves).
func TestLookOfDistinct(t *testing.T) {
	for _, c := range []struct {
		style Style
		n     int
	}{{Points, 40}, {Line, 32}, {LinePoints, 40}} {
		seen := map[string]int{}
		for i := range c.n {
			k := LookOf(i).key(c.style)
			if j, ok := seen[k]; ok {
				t.Errorf("style %d: series %d and %d both look %q", c.style, j, i, k)
			}
			seen[k] = i
		}
	}
}

// TestPlotSeriesDistinct renders a plot of 17 lines and one of 16 scatter
// series and reads each series' look back from the SVG.
func TestPlotSeriesDistinct(t *testing.T) {
	for _, st := range []Style{Line, Points} {
		p := &Plot{Title: "many"}
		for i := range 17 {
			p.Series = append(p.Series, Series{Label: "s" + Num(float64(i)), X: []float64{1, 2}, Y: []float64{float64(i), float64(i + 1)}, Style: st})
		}
		root := parseXML(t, p.SVG())
		seen := map[string]bool{}
		for _, s := range root.byClass("series") {
			k := s.Attr["data-look"]
			if k == "" || seen[k] {
				t.Errorf("style %d: series %q has look %q, empty or already used", st, s.Attr["data-label"], k)
			}
			seen[k] = true
		}
	}
}

// TestLegendColumns: short labels share a row, a label too long for half
// the plot's width puts the legend in one column.
func TestLegendColumns(t *testing.T) {
	short := []legendEntry{{"", "fit"}, {"", "observed"}, {"", "chance 0.0526"}}
	if l := legendLayout(short, 480); l.cols != 2 || l.rows != 2 {
		t.Errorf("short labels: %+v, want 2 columns in 2 rows", l)
	}
	long := append(short, legendEntry{"", "observed (final step, mean over seeds)" + strings.Repeat("!", 3)})
	if l := legendLayout(long, 480); l.cols != 1 || l.rows != 4 {
		t.Errorf("a long label: %+v, want 1 column in 4 rows", l)
	}
}

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "0 abilities"}, {1, "1 ability"}, {2, "2 abilities"}} {
		if got := Count(c.n, "ability", "abilities"); got != c.want {
			t.Errorf("Count(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestAnd(t *testing.T) {
	for _, c := range []struct {
		words []string
		want  string
	}{{nil, ""}, {[]string{"add"}, "add"}, {[]string{"add", "icl"}, "add and icl"}, {[]string{"add", "icl", "stories"}, "add, icl and stories"}} {
		if got := And(c.words); got != c.want {
			t.Errorf("And(%q) = %q, want %q", c.words, got, c.want)
		}
	}
}

// TestSameColour: a fitted curve marked SameColour takes its data's
// colour with a dash of its own, and the data series keep consecutive
// colours as though the fits were not there.
func TestSameColour(t *testing.T) {
	p := &Plot{}
	for range 3 {
		p.Series = append(p.Series, Series{Style: LinePoints}, Series{Style: Line, SameColour: true})
	}
	for g := range 3 {
		data, fit := p.look(2*g), p.look(2*g+1)
		if data.Colour != Palette[g] {
			t.Errorf("data series %d: colour %s, want %s", g, data.Colour, Palette[g])
		}
		if fit.Colour != data.Colour || fit.Dash == data.Dash {
			t.Errorf("fit %d looks %+v beside its data's %+v: want the same colour, another dash", g, fit, data)
		}
	}
}
