package stats

import (
	"fmt"
	"math"
	"strings"

	"emlab/internal/numfmt"
)

// Limits past which a scaling-law fit is called degenerate: the data do
// not pin the law down, and its numbers are not a result. Fitted exponents
// of language-model losses lie near 0.05–0.5 (Kaplan et al. 2020;
// Hoffmann et al. 2022 find α ≈ 0.34, β ≈ 0.28); an exponent above
// MaxScalingExponent, a coefficient above MaxScalingCoefficient (the term
// then sits on a scale the data never reach), or an interval open to
// ±∞ means the optimiser traded one term against another.
const (
	MaxScalingExponent    = 1.5
	MaxScalingCoefficient = 1e9
)

// Degenerate says why the fit is degenerate, "" when it is not.
func (f *PowerLawFit) Degenerate() string {
	return degenerate([]namedInterval{{"E", f.E, false}, {"A", f.A, true}, {"α", f.Alpha, false}})
}

// Degenerate says why the fit is degenerate, "" when it is not.
func (f *ChinchillaFit) Degenerate() string {
	return degenerate([]namedInterval{{"E", f.E, false}, {"A", f.A, true}, {"B", f.B, true}, {"α", f.Alpha, false}, {"β", f.Beta, false}})
}

type namedInterval struct {
	name  string
	iv    Interval
	coeff bool
}

func degenerate(ps []namedInterval) string {
	var why []string
	for _, p := range ps {
		switch {
		case math.IsNaN(p.iv.Value) || math.IsInf(p.iv.Value, 0):
			why = append(why, fmt.Sprintf("%s is not finite", p.name))
		case p.coeff && math.Abs(p.iv.Value) > MaxScalingCoefficient:
			why = append(why, fmt.Sprintf("%s = %s > %s", p.name, numfmt.Num(p.iv.Value), numfmt.Num(MaxScalingCoefficient)))
		case !p.coeff && p.name != "E" && p.iv.Value > MaxScalingExponent:
			why = append(why, fmt.Sprintf("%s = %s > %s", p.name, numfmt.Num(p.iv.Value), numfmt.Num(MaxScalingExponent)))
		}
		if math.IsInf(p.iv.Lo, 0) || math.IsInf(p.iv.Hi, 0) {
			why = append(why, fmt.Sprintf("%s's interval is open to ∞", p.name))
		}
	}
	return strings.Join(why, "; ")
}
