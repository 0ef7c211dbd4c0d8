package report

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Style is how a series is drawn.
type Style int

const (
	// LinePoints draws a polyline through the points and a marker at each.
	LinePoints Style = iota
	// Line draws only the polyline (fitted curves).
	Line
	// Points draws only markers (scatter plots such as the loss view).
	Points
)

// Series is one labelled curve. X and Y have equal length; Lo and Hi, when
// not nil, have the same length and give an error bar per point. Points
// whose coordinates are NaN or ±Inf, or ≤ 0 on a log axis, are left out
// (a line breaks there), so a caller may pass raw data.
type Series struct {
	Label  string
	X, Y   []float64
	Lo, Hi []float64
	Style  Style
	Dashed bool
	// SameColour draws the series in the colour of the nearest series
	// before it that is not SameColour, dashed (a fitted curve beside
	// the points it was fitted to); series count in LookOf without it.
	SameColour bool
}

// Band is a shaded interval of x (for example x_star's confidence
// interval). An infinite end (an interval open on that side) reaches the
// edge of the plot; a NaN end drops the band.
type Band struct {
	Lo, Hi float64
	Label  string
}

// Marker is a reference line at one coordinate: a vertical line at x
// (x_star) or a horizontal one at y (the chance rate).
type Marker struct {
	At    float64
	Label string
}

// Plot is a 2-D line or scatter plot, rendered by SVG.
type Plot struct {
	Title, XLabel, YLabel string
	XLog, YLog            bool
	Series                []Series
	XBands                []Band
	VLines, HLines        []Marker
	// YFixed pins the y range to [YMin, YMax] (for example [0, 1] for an
	// accuracy) instead of fitting it to the data.
	YFixed     bool
	YMin, YMax float64
	// Width and Height are the SVG's size in pixels; 0 means 480 × 300.
	Width, Height float64
}

// Palette is Okabe & Ito's colour-blind-safe palette (2008, "Color
// Universal Design"), reordered so that the first colours are the most
// distinct on white; yellow comes last because it is faint as a thin line.
var Palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"}

// markerShapes and dashPatterns are the other two channels of LookOf.
var (
	markerShapes = []string{"circle", "square", "triangle", "diamond", "triangle-down"}
	dashPatterns = []string{"", "6 4", "2 3", "8 3 2 3"}
)

// Look is how series i of a plot is drawn: its colour, its marker shape
// (where it has markers) and its line's dash pattern ("" solid).
type Look struct {
	Colour, Marker, Dash string
}

// LookOf is the one rule that tells the series of a plot apart, in the
// report and on the dashboard alike: colour i mod 8 (Palette), marker
// i mod 5 and dash pattern ⌊i/8⌋ mod 4. As 8 and 5 are coprime, the
// first 40 series differ in colour or marker, and the first 32 in colour
// or dash, so markers tell scatter series apart (the loss view's sizes and
// seeds) and dashes tell lines apart (the dashboard's training curves),
// also in grey print.
func LookOf(i int) Look {
	return Look{Colour: Palette[i%len(Palette)], Marker: markerShapes[i%len(markerShapes)], Dash: dashPatterns[(i/len(Palette))%len(dashPatterns)]}
}

const (
	marginLeft   = 64.0
	marginRight  = 16.0
	marginTop    = 30.0
	marginBottom = 46.0
	legendRow    = 16.0
)

// axis maps data values to pixels along one direction.
type axis struct {
	log      bool
	lo, hi   float64 // data range (in log10 units when log)
	p0, p1   float64 // pixel range
	ticks    []tick
	label    string
	explicit bool
}

type tick struct {
	v     float64 // data value
	label string  // empty for a minor tick
}

func (a *axis) tr(v float64) float64 {
	if a.log {
		v = math.Log10(v)
	}
	return a.p0 + (v-a.lo)/(a.hi-a.lo)*(a.p1-a.p0)
}

// valid reports whether v can be placed on the axis.
func (a *axis) valid(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	return !a.log || v > 0
}

// num formats a pixel coordinate: two decimals are below any screen's
// resolution, and a fixed format keeps the output byte-identical.
func num(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// SVG renders the plot as a standalone <svg> element. The same plot always
// gives the same bytes. All text is escaped. A plot without any drawable
// point renders its frame, title and a "no data" note instead of axes.
func (p *Plot) SVG() string {
	w, h := p.Width, p.Height
	if w <= 0 {
		w = 480
	}
	if h <= 0 {
		h = 300
	}
	x := &axis{log: p.XLog, label: p.XLabel}
	y := &axis{log: p.YLog, label: p.YLabel}
	var xs, ys []float64
	for _, s := range p.Series {
		for i := range s.X {
			if i >= len(s.Y) || !x.valid(s.X[i]) || !y.valid(s.Y[i]) {
				continue
			}
			xs = append(xs, s.X[i])
			ys = append(ys, s.Y[i])
			if s.Lo != nil && i < len(s.Lo) && y.valid(s.Lo[i]) {
				ys = append(ys, s.Lo[i])
			}
			if s.Hi != nil && i < len(s.Hi) && y.valid(s.Hi[i]) {
				ys = append(ys, s.Hi[i])
			}
		}
	}
	entries := p.legend(x, y)
	lay := legendLayout(entries, w)
	total := h + float64(lay.rows)*legendRow
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="%s" height="%s" viewBox="0 0 %s %s" role="img">`,
		num(w), num(total), num(w), num(total))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(p.Title))
	fmt.Fprintf(&b, `<rect class="bg" x="0" y="0" width="%s" height="%s" fill="#fff"/>`, num(w), num(total))
	fmt.Fprintf(&b, `<text class="title" x="%s" y="18" text-anchor="middle" font-size="13" font-weight="bold">%s</text>`, num(w/2), esc(p.Title))
	if len(xs) == 0 {
		fmt.Fprintf(&b, `<rect class="frame" x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#999"/>`,
			num(marginLeft), num(marginTop), num(w-marginLeft-marginRight), num(h-marginTop-marginBottom))
		fmt.Fprintf(&b, `<text class="no-data" x="%s" y="%s" text-anchor="middle" font-size="12" fill="#555">no data to plot%s</text>`,
			num(w/2), num(h/2), esc(noDataDetail(p)))
		b.WriteString(`</svg>`)
		return b.String()
	}
	for _, m := range p.VLines {
		if x.valid(m.At) {
			xs = append(xs, m.At)
		}
	}
	for _, m := range p.HLines {
		if y.valid(m.At) {
			ys = append(ys, m.At)
		}
	}
	for _, bd := range p.XBands {
		for _, v := range []float64{bd.Lo, bd.Hi} {
			if x.valid(v) {
				xs = append(xs, v)
			}
		}
	}
	x.p0, x.p1 = marginLeft, w-marginRight
	y.p0, y.p1 = h-marginBottom, marginTop
	x.setRange(xs)
	if p.YFixed && p.YMax > p.YMin && (!p.YLog || p.YMin > 0) {
		y.setFixed(p.YMin, p.YMax)
	} else {
		y.setRange(ys)
	}

	// Frame, grid and ticks.
	// The clip path's id is shared by every plot of the same size in one
	// HTML page; equal ids then name equal rectangles, so that is harmless.
	clip := "clip-" + num(w) + "x" + num(h)
	fmt.Fprintf(&b, `<defs><clipPath id="%s"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath></defs>`,
		clip, num(x.p0), num(y.p1), num(x.p1-x.p0), num(y.p0-y.p1))
	fmt.Fprintf(&b, `<g class="axis x-axis" data-scale="%s">`, scaleName(x.log))
	for _, t := range x.ticks {
		px := x.tr(t.v)
		if t.label == "" {
			fmt.Fprintf(&b, `<line class="minor" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#bbb"/>`, num(px), num(y.p0), num(px), num(y.p0+3))
			continue
		}
		fmt.Fprintf(&b, `<g class="tick"><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#eee"/><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#555"/><text x="%s" y="%s" text-anchor="middle" font-size="11">%s</text></g>`,
			num(px), num(y.p1), num(px), num(y.p0), num(px), num(y.p0), num(px), num(y.p0+5), num(px), num(y.p0+17), esc(t.label))
	}
	fmt.Fprintf(&b, `<text class="axis-label" x="%s" y="%s" text-anchor="middle" font-size="12">%s</text></g>`,
		num((x.p0+x.p1)/2), num(h-10), esc(x.label))
	fmt.Fprintf(&b, `<g class="axis y-axis" data-scale="%s">`, scaleName(y.log))
	for _, t := range y.ticks {
		py := y.tr(t.v)
		if t.label == "" {
			fmt.Fprintf(&b, `<line class="minor" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#bbb"/>`, num(x.p0-3), num(py), num(x.p0), num(py))
			continue
		}
		fmt.Fprintf(&b, `<g class="tick"><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#eee"/><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#555"/><text x="%s" y="%s" text-anchor="end" font-size="11">%s</text></g>`,
			num(x.p0), num(py), num(x.p1), num(py), num(x.p0-5), num(py), num(x.p0), num(py), num(x.p0-7), num(py+4), esc(t.label))
	}
	fmt.Fprintf(&b, `<text class="axis-label" transform="translate(14 %s) rotate(-90)" text-anchor="middle" font-size="12">%s</text></g>`,
		num((y.p0+y.p1)/2), esc(y.label))
	fmt.Fprintf(&b, `<rect class="frame" x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#555"/>`,
		num(x.p0), num(y.p1), num(x.p1-x.p0), num(y.p0-y.p1))

	// Bands and reference lines under the data.
	fmt.Fprintf(&b, `<g clip-path="url(#%s)">`, clip)
	for _, bd := range p.XBands {
		if math.IsNaN(bd.Lo) || math.IsNaN(bd.Hi) {
			continue
		}
		lo, hi := x.clampPx(bd.Lo, x.p0), x.clampPx(bd.Hi, x.p1)
		if hi < lo {
			lo, hi = hi, lo
		}
		fmt.Fprintf(&b, `<rect class="band" x="%s" y="%s" width="%s" height="%s" fill="#999" fill-opacity="0.2"><title>%s</title></rect>`,
			num(lo), num(y.p1), num(math.Max(hi-lo, 1)), num(y.p0-y.p1), esc(bd.Label))
	}
	for _, m := range p.VLines {
		if !x.valid(m.At) {
			continue
		}
		px := x.tr(m.At)
		fmt.Fprintf(&b, `<line class="vline" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333" stroke-dasharray="4 3"><title>%s</title></line>`,
			num(px), num(y.p1), num(px), num(y.p0), esc(m.Label))
	}
	for _, m := range p.HLines {
		if !y.valid(m.At) {
			continue
		}
		py := y.tr(m.At)
		fmt.Fprintf(&b, `<line class="hline" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#777" stroke-dasharray="2 3"><title>%s</title></line>`,
			num(x.p0), num(py), num(x.p1), num(py), esc(m.Label))
	}
	// Series.
	for i, s := range p.Series {
		lk := p.look(i)
		fmt.Fprintf(&b, `<g class="series" data-label="%s" data-look="%s" stroke="%s" fill="%s">`, esc(s.Label), lk.key(s.Style), lk.Colour, lk.Colour)
		if s.Style != Points {
			if d := pathData(s, x, y); d != "" {
				fmt.Fprintf(&b, `<path class="line" d="%s" fill="none" stroke-width="1.8"%s/>`, d, dashAttr(lk.Dash))
			}
		}
		for j := range s.X {
			if j >= len(s.Y) || !x.valid(s.X[j]) || !y.valid(s.Y[j]) {
				continue
			}
			px, py := x.tr(s.X[j]), y.tr(s.Y[j])
			if s.Lo != nil && s.Hi != nil && j < len(s.Lo) && j < len(s.Hi) && y.valid(s.Lo[j]) && y.valid(s.Hi[j]) {
				fmt.Fprintf(&b, `<path class="errorbar" d="M%s %sV%sM%s %sH%sM%s %sH%s" stroke-width="1"/>`,
					num(px), num(y.tr(s.Lo[j])), num(y.tr(s.Hi[j])),
					num(px-2.5), num(y.tr(s.Lo[j])), num(px+2.5), num(px-2.5), num(y.tr(s.Hi[j])), num(px+2.5))
			}
			if s.Style != Line {
				b.WriteString(markerSVG(lk.Marker, px, py))
			}
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</g>`)

	// The legend below the axis label.
	b.WriteString(`<g class="legend">`)
	for i, e := range entries {
		fmt.Fprintf(&b, `<g class="legend-entry" transform="translate(%s %s)">%s<text x="22" y="4" font-size="11">%s</text></g>`,
			num(lay.x0+float64(i%lay.cols)*lay.colW), num(h+float64(i/lay.cols)*legendRow), e.swatch, esc(e.label))
	}
	b.WriteString(`</g></svg>`)
	return b.String()
}

// look is series i's look: LookOf(i), with a series that asks for dashes
// dashed even in the first cycle of colours.
func (p *Plot) look(i int) Look {
	k := -1 // the LookOf index of series i, or of the series whose colour it takes
	for j := 0; j <= i; j++ {
		if !p.Series[j].SameColour || k < 0 {
			k++
		}
	}
	lk := LookOf(k)
	if p.Series[i].SameColour && i > 0 {
		// the next dash pattern after its data's own, so the two differ
		for d, pat := range dashPatterns {
			if pat == lk.Dash {
				lk.Dash = dashPatterns[(d+1)%len(dashPatterns)]
				break
			}
		}
		return lk
	}
	if p.Series[i].Dashed && lk.Dash == "" {
		lk.Dash = dashPatterns[1]
	}
	return lk
}

// key names what a reader sees of a look for a series of the given style
// (the tests compare them: no two series of one plot may look alike).
func (lk Look) key(st Style) string {
	switch st {
	case Line:
		return lk.Colour + " line " + lk.Dash
	case Points:
		return lk.Colour + " " + lk.Marker
	}
	return lk.Colour + " " + lk.Marker + " line " + lk.Dash
}

func dashAttr(d string) string {
	if d == "" {
		return ""
	}
	return ` stroke-dasharray="` + d + `"`
}

// legendEntry is one entry of a plot's legend: its swatch (SVG drawn
// around (9, 0)) and its label.
type legendEntry struct {
	swatch, label string
}

func (p *Plot) legend(x, y *axis) []legendEntry {
	var out []legendEntry
	for i, s := range p.Series {
		label := s.Label
		if !hasPoint(s, x, y) {
			label += " (no data)"
		}
		out = append(out, legendEntry{legendSwatch(s, p.look(i)), label})
	}
	for _, bd := range p.XBands {
		out = append(out, legendEntry{`<rect x="0" y="-5" width="18" height="10" fill="#999" fill-opacity="0.3"/>`, bd.Label})
	}
	for _, m := range p.VLines {
		out = append(out, legendEntry{`<line x1="9" y1="-6" x2="9" y2="6" stroke="#333" stroke-dasharray="4 3"/>`, m.Label})
	}
	for _, m := range p.HLines {
		out = append(out, legendEntry{`<line x1="0" y1="0" x2="18" y2="0" stroke="#777" stroke-dasharray="2 3"/>`, m.Label})
	}
	return out
}

// layout is where the legend's entries go: cols columns colW apart from
// x0, in rows rows.
type layout struct {
	cols, rows int
	x0, colW   float64
}

// legendLayout puts the entries in two columns under the plot area when
// the longest fits in half of it, else in one column from the left edge,
// so that no label runs into the next entry.
func legendLayout(entries []legendEntry, w float64) layout {
	widest := 0.0
	for _, e := range entries {
		widest = math.Max(widest, 22+TextWidth(e.label, 11))
	}
	l := layout{cols: 2, x0: marginLeft, colW: (w - marginLeft) / 2}
	if widest > l.colW-8 {
		l = layout{cols: 1, x0: 8, colW: w - 8}
	}
	l.rows = (len(entries) + l.cols - 1) / l.cols
	return l
}

// TextWidth is an upper estimate of the width in pixels of s set in a
// sans-serif font of the given size: 0.62 em a character, more than the
// average of common sans-serif faces (about 0.5–0.55 em) so that the
// estimate errs wide; the browser test measures the real widths.
func TextWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * 0.62 * size
}

func scaleName(log bool) string {
	if log {
		return "log"
	}
	return "linear"
}

// noDataDetail names the series that were given, so an empty plot says
// what was missing.
func noDataDetail(p *Plot) string {
	if len(p.Series) == 0 {
		return ""
	}
	var names []string
	for _, s := range p.Series {
		names = append(names, s.Label)
	}
	return " (" + strings.Join(names, ", ") + ")"
}

func hasPoint(s Series, x, y *axis) bool {
	for i := range s.X {
		if i < len(s.Y) && x.valid(s.X[i]) && y.valid(s.Y[i]) {
			return true
		}
	}
	return false
}

// clampPx places v, or the given edge when v is infinite or off the axis.
func (a *axis) clampPx(v, edge float64) float64 {
	if !a.valid(v) {
		return edge
	}
	return math.Min(math.Max(a.tr(v), math.Min(a.p0, a.p1)), math.Max(a.p0, a.p1))
}

// pathData joins consecutive drawable points; an undrawable point breaks
// the line rather than bridging the gap.
func pathData(s Series, x, y *axis) string {
	var b strings.Builder
	pen := false
	for i := range s.X {
		if i >= len(s.Y) || !x.valid(s.X[i]) || !y.valid(s.Y[i]) {
			pen = false
			continue
		}
		cmd := "L"
		if !pen {
			cmd = "M"
		}
		fmt.Fprintf(&b, "%s%s %s", cmd, num(x.tr(s.X[i])), num(y.tr(s.Y[i])))
		pen = true
	}
	return b.String()
}

func markerSVG(shape string, px, py float64) string {
	const r = 3.2
	switch shape {
	case "square":
		return fmt.Sprintf(`<rect class="marker" x="%s" y="%s" width="%s" height="%s"/>`, num(px-r), num(py-r), num(2*r), num(2*r))
	case "triangle":
		return fmt.Sprintf(`<path class="marker" d="M%s %sL%s %sL%s %sZ"/>`, num(px), num(py-r*1.2), num(px+r*1.1), num(py+r*0.8), num(px-r*1.1), num(py+r*0.8))
	case "triangle-down":
		return fmt.Sprintf(`<path class="marker" d="M%s %sL%s %sL%s %sZ"/>`, num(px), num(py+r*1.2), num(px+r*1.1), num(py-r*0.8), num(px-r*1.1), num(py-r*0.8))
	case "diamond":
		return fmt.Sprintf(`<path class="marker" d="M%s %sL%s %sL%s %sL%s %sZ"/>`, num(px), num(py-r*1.3), num(px+r), num(py), num(px), num(py+r*1.3), num(px-r), num(py))
	}
	return fmt.Sprintf(`<circle class="marker" cx="%s" cy="%s" r="%s"/>`, num(px), num(py), num(r))
}

func legendSwatch(s Series, lk Look) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<g stroke="%s" fill="%s">`, lk.Colour, lk.Colour)
	if s.Style != Points {
		fmt.Fprintf(&b, `<line x1="0" y1="0" x2="18" y2="0" stroke-width="1.8"%s/>`, dashAttr(lk.Dash))
	}
	if s.Style != Line {
		b.WriteString(markerSVG(lk.Marker, 9, 0))
	}
	b.WriteString(`</g>`)
	return b.String()
}

// setRange fits the axis to the values (all valid for the axis), with a
// small margin, and computes its ticks.
func (a *axis) setRange(vs []float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if a.log {
			v = math.Log10(v)
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi-lo < 1e-12*math.Max(1, math.Abs(hi)) {
		// One distinct value: half a decade either side on a log axis,
		// otherwise ±max(|v|/2, 1)… enough to read the single point.
		d := 0.5
		if !a.log {
			d = math.Max(math.Abs(lo)/2, 1)
		}
		lo, hi = lo-d, hi+d
	}
	pad := 0.05 * (hi - lo)
	a.lo, a.hi = lo-pad, hi+pad
	a.makeTicks()
}

func (a *axis) setFixed(lo, hi float64) {
	if a.log {
		lo, hi = math.Log10(lo), math.Log10(hi)
	}
	pad := 0.03 * (hi - lo)
	a.lo, a.hi = lo-pad, hi+pad
	a.makeTicks()
}

func (a *axis) makeTicks() {
	a.ticks = nil
	if a.log {
		a.ticks = logTicks(a.lo, a.hi)
		return
	}
	step := niceStep((a.hi - a.lo) / 7)
	start := math.Ceil(a.lo/step) * step
	for k := 0; ; k++ {
		v := start + float64(k)*step
		if v > a.hi+1e-9*step {
			break
		}
		if math.Abs(v) < 1e-9*step {
			v = 0
		}
		a.ticks = append(a.ticks, tick{v: v, label: linearLabel(v, step)})
	}
}

// niceStep rounds d up to 1, 2 or 5 times a power of ten (a span/7 target
// gives 4–7 ticks).
func niceStep(d float64) float64 {
	if !(d > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(d)))
	for _, m := range []float64{1, 2, 5, 10} {
		if d <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// linearLabel prints v with as many decimals as the tick step needs.
func linearLabel(v, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	if math.Abs(v) >= 1e3 || (v != 0 && math.Abs(v) < 1e-3) {
		return siLabel(v)
	}
	return fmt.Sprintf("%.*f", dec, v)
}

// logTicks returns ticks for a log10 range [lo, hi] (in decades): a labelled
// tick at every power of ten, unlabelled minor ticks at 2…9 × 10^k when the
// range spans at most six decades, and labelled 2× and 5× ticks when fewer
// than two powers of ten fall inside the range (so every log axis has at
// least two labels to read it by). Too many decades thin the labels to
// every 2nd, 3rd, … power.
func logTicks(lo, hi float64) []tick {
	var out []tick
	k0, k1 := int(math.Floor(lo)), int(math.Ceil(hi))
	in := func(v float64) bool { l := math.Log10(v); return l >= lo-1e-9 && l <= hi+1e-9 }
	majors := 0
	for k := k0; k <= k1; k++ {
		if in(math.Pow(10, float64(k))) {
			majors++
		}
	}
	every := 1
	for majors/every > 8 {
		every++
	}
	for k := k0; k <= k1; k++ {
		base := math.Pow(10, float64(k))
		if in(base) {
			label := ""
			if ((k%every)+every)%every == 0 {
				label = siLabel(base)
			}
			out = append(out, tick{v: base, label: label})
		}
		if k1-k0 > 6 {
			continue
		}
		for m := 2; m <= 9; m++ {
			v := float64(m) * base
			if !in(v) {
				continue
			}
			label := ""
			if majors < 2 && (m == 2 || m == 5) {
				label = siLabel(v)
			}
			out = append(out, tick{v: v, label: label})
		}
	}
	labelled := 0
	for _, t := range out {
		if t.label != "" {
			labelled++
		}
	}
	if labelled >= 2 {
		return out
	}
	// Less than a decade with at most one 1×, 2× or 5× tick inside (a
	// loss between 1.6 and 3, say): label every 2…9 × 10^k tick, and if
	// that still gives fewer than two, place evenly stepped ticks on the
	// log axis.
	labelled = 0
	for i := range out {
		out[i].label = siLabel(out[i].v)
		labelled++
	}
	// Less than a decade: evenly stepped ticks read better when they give
	// more labels than the 2…9 × 10^k ones (a loss between 1.1 and 2.9
	// gets 1.5, 2, 2.5 rather than 2 and 3 alone).
	vlo, vhi := math.Pow(10, lo), math.Pow(10, hi)
	step := niceStep((vhi - vlo) / 5)
	var even []tick
	for v := math.Ceil(vlo/step) * step; v <= vhi*(1+1e-9); v += step {
		even = append(even, tick{v: v, label: linearLabel(v, step)})
	}
	if len(even) > labelled {
		return even
	}
	return out
}

// siLabel prints a tick value in the report's one format (Num): 1k, 20k,
// 1.5M, 0.5, 1e-4.
func siLabel(v float64) string { return Num(v) }

// esc escapes text for SVG/HTML character data and attribute values.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		default:
			// Control characters other than tab/newline are invalid in XML.
			if r < 0x20 && r != '\t' && r != '\n' {
				b.WriteRune('\uFFFD')
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
