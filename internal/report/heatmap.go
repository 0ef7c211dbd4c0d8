package report

import (
	"fmt"
	"math"
	"strings"
)

// Heatmap is a grid of values, for example per-subtask loss (rows) by model
// size (columns).
type Heatmap struct {
	Title, XLabel, YLabel string
	Cols, Rows            []string
	// Values[r][c] is the cell of row r and column c; NaN marks a missing
	// cell (drawn grey with a dash).
	Values [][]float64
	// ValueLabel names what the colour shows (on the colour bar).
	ValueLabel string
	// LowIsGood reverses the colour scale so that the good end (low loss)
	// is bright either way.
	LowIsGood bool
}

// viridis anchors (matplotlib's viridis, van der Walt & Smith 2015):
// perceptually uniform, readable with the common colour-vision
// deficiencies and in grey print.
var viridis = [][3]float64{
	{68, 1, 84}, {72, 40, 120}, {62, 74, 137}, {49, 104, 142}, {38, 130, 142},
	{31, 158, 137}, {53, 183, 121}, {109, 205, 89}, {180, 222, 44}, {253, 231, 37},
}

// colour maps q in [0, 1] to a viridis colour.
func colour(q float64) string {
	q = math.Min(math.Max(q, 0), 1)
	f := q * float64(len(viridis)-1)
	i := int(math.Floor(f))
	if i >= len(viridis)-1 {
		i = len(viridis) - 2
	}
	t := f - float64(i)
	var c [3]int
	for k := range c {
		c[k] = int(math.Round(viridis[i][k]*(1-t) + viridis[i+1][k]*t))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}

// SVG renders the heat map with cell values written in the cells and a
// colour bar. An empty grid (or one with no finite value) renders a
// "no data" note.
func (hm *Heatmap) SVG() string {
	const cellH, left, top = 20.0, 120.0, 30.0
	cellW := 56.0
	if n := len(hm.Cols); n > 0 && n*56 > 560 {
		cellW = math.Max(560/float64(n), 28)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for r := range hm.Values {
		for _, v := range hm.Values[r] {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	gridW := cellW * float64(len(hm.Cols))
	// The colour bar and its value labels take 90 pixels right of the grid;
	// its label (under the bar) may need more.
	w := math.Max(left+gridW+math.Max(90, 20+TextWidth(hm.ValueLabel, 10)+8), 320)
	h := top + cellH*float64(len(hm.Rows)) + 50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="%s" height="%s" viewBox="0 0 %s %s" role="img">`, num(w), num(h), num(w), num(h))
	fmt.Fprintf(&b, `<title>%s</title><rect class="bg" x="0" y="0" width="%s" height="%s" fill="#fff"/>`, esc(hm.Title), num(w), num(h))
	fmt.Fprintf(&b, `<text class="title" x="%s" y="18" text-anchor="middle" font-size="13" font-weight="bold">%s</text>`, num(w/2), esc(hm.Title))
	if len(hm.Rows) == 0 || len(hm.Cols) == 0 || math.IsInf(lo, 1) {
		fmt.Fprintf(&b, `<text class="no-data" x="%s" y="%s" text-anchor="middle" font-size="12" fill="#555">no data to plot</text></svg>`, num(w/2), num(top+30))
		return b.String()
	}
	span := hi - lo
	for r, name := range hm.Rows {
		py := top + float64(r)*cellH
		fmt.Fprintf(&b, `<text class="row-label" x="%s" y="%s" text-anchor="end" font-size="11">%s</text>`, num(left-6), num(py+cellH/2+4), esc(name))
		for c := range hm.Cols {
			px := left + float64(c)*cellW
			v := math.NaN()
			if r < len(hm.Values) && c < len(hm.Values[r]) {
				v = hm.Values[r][c]
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				fmt.Fprintf(&b, `<g class="cell missing"><rect x="%s" y="%s" width="%s" height="%s" fill="#ddd" stroke="#fff"/><text x="%s" y="%s" text-anchor="middle" font-size="10" fill="#555">–</text></g>`,
					num(px), num(py), num(cellW), num(cellH), num(px+cellW/2), num(py+cellH/2+4))
				continue
			}
			q := 0.5
			if span > 0 {
				q = (v - lo) / span
			}
			if hm.LowIsGood {
				q = 1 - q
			}
			text := "#fff"
			if q > 0.6 {
				text = "#000"
			}
			fmt.Fprintf(&b, `<g class="cell"><rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="#fff"><title>%s</title></rect><text x="%s" y="%s" text-anchor="middle" font-size="10" fill="%s">%s</text></g>`,
				num(px), num(py), num(cellW), num(cellH), colour(q), esc(name+" × "+hm.Cols[c]+": "+cellLabel(v)),
				num(px+cellW/2), num(py+cellH/2+4), text, cellLabel(v))
		}
	}
	by := top + cellH*float64(len(hm.Rows))
	for c, name := range hm.Cols {
		fmt.Fprintf(&b, `<text class="col-label" x="%s" y="%s" text-anchor="middle" font-size="11">%s</text>`, num(left+float64(c)*cellW+cellW/2), num(by+14), esc(name))
	}
	fmt.Fprintf(&b, `<text class="axis-label" x="%s" y="%s" text-anchor="middle" font-size="12">%s</text>`, num(left+gridW/2), num(by+32), esc(hm.XLabel))
	fmt.Fprintf(&b, `<text class="axis-label" transform="translate(14 %s) rotate(-90)" text-anchor="middle" font-size="12">%s</text>`, num(top+cellH*float64(len(hm.Rows))/2), esc(hm.YLabel))
	// Colour bar: ten steps from the worst to the best value.
	cx := left + gridW + 20
	barH := math.Max(cellH*float64(len(hm.Rows)), 60)
	b.WriteString(`<g class="colorbar">`)
	for i := range 10 {
		q := 1 - float64(i)/9
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="12" height="%s" fill="%s"/>`, num(cx), num(top+float64(i)*barH/10), num(barH/10+0.5), colour(q))
	}
	top1, bot1 := hi, lo
	if hm.LowIsGood {
		top1, bot1 = lo, hi
	}
	fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="10">%s</text><text x="%s" y="%s" font-size="10">%s</text>`,
		num(cx+16), num(top+9), cellLabel(top1), num(cx+16), num(top+barH), cellLabel(bot1))
	fmt.Fprintf(&b, `<text class="axis-label" x="%s" y="%s" font-size="10">%s</text></g></svg>`, num(cx), num(top+barH+14), esc(hm.ValueLabel))
	return b.String()
}

// cellLabel is a cell's value in the report's one format.
func cellLabel(v float64) string { return Num(v) }
