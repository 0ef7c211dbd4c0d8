// Package numfmt is emlab's one number format, in a package of its own so
// that every package that writes numbers for people — the statistics'
// reasons as well as the report (report.Num) — can share it: stats and
// report stand apart and neither may import the other.
package numfmt

import (
	"math"
	"strconv"
	"strings"
)

// Num is the one number format of emlab — the report, the dashboard, the
// demo's findings and the statistics' reasons: three significant digits;
// from a thousand up with an SI suffix (1.78k, 72.6k, 1.2M, 3.4G, 5T);
// below 0.001 in e-notation with a short exponent (1.5e-4); "—" for NaN
// (undefined), "∞"/"−∞" for an open end.
func Num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "−∞"
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	if a < 1e-3 {
		return eNum(v)
	}
	// Three significant digits round 999.5 up to 1000: such a value moves
	// to the next unit (999.7 → "1k", 999.6k → "1M").
	unit, suffix := 1.0, ""
	for _, u := range []struct {
		f float64
		s string
	}{{1e3, "k"}, {1e6, "M"}, {1e9, "G"}, {1e12, "T"}} {
		if a >= u.f*0.9995 {
			unit, suffix = u.f, u.s
		}
	}
	if a/unit >= 999.5 && suffix == "T" {
		return eNum(v)
	}
	return strconv.FormatFloat(v/unit, 'g', 3, 64) + suffix
}

// eNum writes v in e-notation with three significant digits and a short
// exponent: 1.5e-4, 2e15.
func eNum(v float64) string {
	m, e, _ := strings.Cut(strconv.FormatFloat(v, 'e', 2, 64), "e")
	m = strings.TrimRight(strings.TrimRight(m, "0"), ".")
	sign := e[:1]
	if sign == "+" {
		sign = ""
	}
	return m + "e" + sign + strings.TrimLeft(e[1:], "0")
}
