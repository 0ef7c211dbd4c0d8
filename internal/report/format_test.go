package report

import (
	"math"
	"strings"
	"testing"
)

// TestNum pins the one number format: three significant digits, SI
// suffixes from a thousand, e-notation below 0.001, and the rounding edge
// where three digits would carry into the next unit.
func TestNum(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {0.5, "0.5"}, {0.05263, "0.0526"}, {3.112, "3.11"}, {123.4, "123"}, {999.4, "999"},
		{999.7, "1k"}, {1000, "1k"}, {1780, "1.78k"}, {16412, "16.4k"}, {72600, "72.6k"}, {1.2e6, "1.2M"}, {999600, "1M"},
		{3.4e9, "3.4G"}, {5e12, "5T"}, {2e15, "2e15"}, {-1780, "-1.78k"}, {0.001, "0.001"}, {1.5e-4, "1.5e-4"}, {-2.26e-5, "-2.26e-5"},
		{math.NaN(), "—"}, {math.Inf(1), "∞"}, {math.Inf(-1), "−∞"},
	} {
		if got := Num(c.v); got != c.want {
			t.Errorf("Num(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

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
