package stats

import (
	"math"
	"sort"
)

// A curve model is fitted to pooled levels on t = dir·log10(x) (see
// scaleDir). Each model reparameterises its constrained quantities (widths,
// exponents, bounded floors) so the Levenberg–Marquardt search is
// unconstrained, and reports its parameters in interpretable units.
type curveModel struct {
	name string
	k    int // number of free parameters
	// minLevels is the fewest levels the model is fitted to.
	minLevels int
	// fv evaluates the model at every t for one θ: out[i] = f(θ, t[i]).
	// One call per θ lets a model compute what depends on θ alone (the
	// exponentials of its log-parameters) once, not once per level: the
	// fits spend most of their time here.
	fv func(p, t, out []float64)
	// terms, when set, is fv split into per-level terms for the fits'
	// Jacobian (lmFitModel); fv stays the definition and the test oracle.
	terms  *levelTerms
	starts func(t, y []float64) [][]float64
	// report maps θ to named parameters (x in the axis' own units).
	report func(p []float64) map[string]float64
	// atBound names the reported parameters of θ that sit at a limit the
	// parameterisation imposes (see bounds.go), given the levels (t
	// sorted, y) and the fit's χ² weights w; nil for a model without such
	// limits.
	atBound func(p, t, y, w []float64) fitBounds
}

// f is the model at one t (fv on one point).
func (m curveModel) f(p []float64, t float64) float64 {
	var out [1]float64
	m.fv(p, []float64{t}, out[:])
	return out[0]
}

// levelTerms evaluates a model through per-level terms that not every
// parameter enters (the sigmoid's logistic at each level does not depend
// on its floor and ceiling), so a forward difference in one parameter
// recomputes only the terms that parameter enters: most of a fit's time
// is the Jacobian's k evaluations of the model per step. Both functions
// write, bit for bit, what the model's fv writes: the same operations on
// the same operands, the terms merely kept.
type levelTerms struct {
	n int // terms per level
	// theta is the number of terms of θ alone (a width, an exponent:
	// e^{p_j} of one parameter), kept after the levels' so that a
	// forward difference in another parameter does not recompute them.
	theta int
	// eval writes f(θ, t_i) to out and θ's terms to tm (n per level,
	// level i's at tm[i*n:], then the theta terms of θ at tm[len(t)*n:]).
	eval func(p, t, tm, out []float64)
	// perturbed writes f(θ', t_i) to out, where θ' is p and differs from
	// the θ whose terms tm holds in p[j] alone; it leaves tm as it was.
	perturbed func(p, t []float64, j int, tm, out []float64)
}

// size is the length of the terms of n levels.
func (tr *levelTerms) size(n int) int { return n*tr.n + tr.theta }

// pointwise makes an fv from a model with nothing to precompute.
func pointwise(f func(p []float64, t float64) float64) func(p, t, out []float64) {
	return func(p, t, out []float64) {
		for i, ti := range t {
			out[i] = f(p, ti)
		}
	}
}

// Model names, as they appear in output.
const (
	ModelConstant = "constant"
	ModelLinear   = "linear_log"
	ModelPower    = "power_law_error"
	ModelSigmoid  = "sigmoid_log"
	ModelBNSL     = "broken_power_law"
)

// sigmoidMinWidth is the narrowest sigmoid allowed, in decades of x. Below
// it the midpoint of a step between two sampled scales is unidentified
// anyway; the floor keeps the search away from an infinitely sharp step.
const sigmoidMinWidth = 1e-3

func logistic(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// softplus is ln(1 + e^z), computed without overflow.
func softplus(z float64) float64 {
	if z > 30 {
		return z
	}
	return math.Log1p(math.Exp(z))
}

// modelContext fixes what the models need to know about the data: the
// reference t (smallest sampled scale), the direction, and the box for the
// sigmoid's floor and ceiling.
type modelContext struct {
	tref, dir float64
	lo, hi    float64 // sigmoid floor/ceiling bounds
}

// jumps returns midpoints between consecutive t, ordered by decreasing
// |Δy| (the likely places of a transition).
func jumps(t, y []float64) []float64 {
	type j struct{ mid, d float64 }
	var js []j
	for i := 1; i < len(t); i++ {
		js = append(js, j{(t[i] + t[i-1]) / 2, math.Abs(y[i] - y[i-1])})
	}
	sort.SliceStable(js, func(a, b int) bool { return js[a].d > js[b].d })
	out := make([]float64, len(js))
	for i := range js {
		out[i] = js[i].mid
	}
	return out
}

func span(t []float64) float64 {
	s := t[len(t)-1] - t[0]
	if s <= 0 {
		return 1
	}
	return s
}

func rangeOf(y []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range y {
		lo = math.Min(lo, v)
		hi = math.Max(hi, v)
	}
	return lo, hi
}

// curveModels returns the candidate models for data on this context.
//
//   - constant: y = c — the null model of a flat curve.
//   - linear_log: y = a + b·(t − t₀), a straight line in log x (the smooth
//     reading of BIG-bench "linear" tasks).
//   - power_law_error: y = c + b·10^(−α(t − t₀)), α > 0, i.e. the distance
//     to the asymptote c falls as a power of scale, err ∝ x^(−α)
//     (Kaplan et al. 2020; the smooth alternative Schaeffer et al. 2023
//     argue underlies many "emergent" curves).
//   - sigmoid_log: y = f + (h − f)·σ((t − m)/w), a logistic in log x with
//     floor f, ceiling h, midpoint 10^m and width w decades (the shape of a
//     phase transition, Wei et al. 2022); the 10–90 % rise spans 2·ln 9·w
//     decades.
//   - broken_power_law: y = c + b·10^(−α₀(t − t₀))·(1 + 10^((t − d)/f))^(−α₁f),
//     Caballero et al. 2022's broken neural scaling law with one break at
//     10^d of sharpness f; it can bend from flat to steep and so also
//     describes sharp transitions. Needs 8 levels.
func curveModels(mc modelContext) []curveModel {
	tref, dir := mc.tref, mc.dir
	xOf := func(t float64) float64 { return math.Pow(10, dir*t) }
	box := func(a float64) float64 { return mc.lo + (mc.hi-mc.lo)*logistic(a) }
	unbox := func(v float64) float64 {
		q := (v - mc.lo) / (mc.hi - mc.lo)
		q = math.Min(math.Max(q, 1e-3), 1-1e-3)
		return logit(q)
	}
	bnslFV := func(p, t, out []float64) {
		a0, f, a1 := math.Exp(p[2]), math.Exp(p[4]), math.Exp(p[5])
		for i, ti := range t {
			lg := -a0*(ti-tref)*math.Ln10 - a1*f*softplus((ti-p[3])/f*math.Ln10)
			out[i] = p[0] + p[1]*math.Exp(lg)
		}
	}
	return []curveModel{
		{
			name: ModelConstant, k: 1, minLevels: 2,
			fv: pointwise(func(p []float64, t float64) float64 { return p[0] }),
			starts: func(t, y []float64) [][]float64 {
				var s float64
				for _, v := range y {
					s += v
				}
				return [][]float64{{s / float64(len(y))}}
			},
			report: func(p []float64) map[string]float64 { return map[string]float64{"c": p[0]} },
		},
		{
			name: ModelLinear, k: 2, minLevels: 3,
			fv: pointwise(func(p []float64, t float64) float64 { return p[0] + p[1]*(t-tref) }),
			starts: func(t, y []float64) [][]float64 {
				return [][]float64{{y[0], (y[len(y)-1] - y[0]) / span(t)}}
			},
			report: func(p []float64) map[string]float64 {
				return map[string]float64{"intercept_at_smallest": p[0], "slope_per_decade": p[1]}
			},
		},
		{
			name: ModelPower, k: 3, minLevels: 4,
			fv: func(p, t, out []float64) {
				alpha := math.Exp(p[2])
				for i, ti := range t {
					out[i] = p[0] + p[1]*math.Pow(10, -alpha*(ti-tref))
				}
			},
			terms: &levelTerms{n: 1,
				// The term is the power 10^(−α(t − t₀)), which the
				// asymptote and the gap do not enter.
				eval: func(p, t, tm, out []float64) {
					alpha := math.Exp(p[2])
					for i, ti := range t {
						tm[i] = math.Pow(10, -alpha*(ti-tref))
						out[i] = p[0] + p[1]*tm[i]
					}
				},
				perturbed: func(p, t []float64, j int, tm, out []float64) {
					if j == 2 {
						alpha := math.Exp(p[2])
						for i, ti := range t {
							out[i] = p[0] + p[1]*math.Pow(10, -alpha*(ti-tref))
						}
						return
					}
					for i := range t {
						out[i] = p[0] + p[1]*tm[i]
					}
				},
			},
			starts: func(t, y []float64) [][]float64 {
				lo, hi := rangeOf(y)
				r := math.Max(hi-lo, 1e-6)
				sgn := 1.0
				if y[len(y)-1] < y[0] {
					sgn = -1
				}
				var out [][]float64
				for _, d := range []float64{0.05, 0.5} {
					c := y[len(y)-1] + sgn*d*r
					for _, a := range []float64{0.2, 1, 3} {
						out = append(out, []float64{c, y[0] - c, math.Log(a / span(t))})
					}
				}
				return out
			},
			report: func(p []float64) map[string]float64 {
				return map[string]float64{"asymptote": p[0], "gap_at_smallest": p[1], "alpha_per_decade": math.Exp(p[2])}
			},
			// α = e^u is bounded below by 0: a curve that accelerates in
			// log x (a power law would need α < 0) sends u to −∞, and a
			// drop completed by the second level sends it to +∞.
			atBound: func(p, t, _, _ []float64) fitBounds {
				var b fitBounds
				b.exponentAt(paramAlpha, math.Exp(p[2]), span(t), firstStepAfter(t, tref))
				return b
			},
		},
		{
			name: ModelSigmoid, k: 4, minLevels: 4,
			fv: func(p, t, out []float64) {
				f, h := box(p[0]), box(p[1])
				w := sigmoidMinWidth + math.Exp(p[3])
				for i, ti := range t {
					out[i] = f + (h-f)*logistic((ti-p[2])/w)
				}
			},
			terms: &levelTerms{n: 1, theta: 3,
				// The level term is the logistic, which the floor and
				// the ceiling do not enter; the terms of θ are the floor,
				// the ceiling and the width, each of one parameter.
				eval: func(p, t, tm, out []float64) {
					f, h := box(p[0]), box(p[1])
					w := sigmoidMinWidth + math.Exp(p[3])
					th := tm[len(t):]
					th[0], th[1], th[2] = f, h, w
					for i, ti := range t {
						tm[i] = logistic((ti - p[2]) / w)
						out[i] = f + (h-f)*tm[i]
					}
				},
				perturbed: func(p, t []float64, j int, tm, out []float64) {
					th := tm[len(t):]
					f, h, w := th[0], th[1], th[2]
					switch j {
					case 0:
						f = box(p[0])
					case 1:
						h = box(p[1])
					case 3:
						w = sigmoidMinWidth + math.Exp(p[3])
					}
					if j >= 2 {
						for i, ti := range t {
							out[i] = f + (h-f)*logistic((ti-p[2])/w)
						}
						return
					}
					for i := range t {
						out[i] = f + (h-f)*tm[i]
					}
				},
			},
			starts: func(t, y []float64) [][]float64 {
				sp := span(t)
				mids := jumps(t, y)
				if len(mids) > 2 {
					mids = mids[:2]
				}
				mids = append(mids, (t[0]+t[len(t)-1])/2)
				var out [][]float64
				for _, m := range mids {
					for _, w := range []float64{0.03 * sp, 0.3 * sp} {
						out = append(out, []float64{unbox(y[0]), unbox(y[len(y)-1]), m, math.Log(w)})
					}
				}
				return out
			},
			report: func(p []float64) map[string]float64 {
				w := sigmoidMinWidth + math.Exp(p[3])
				return map[string]float64{
					"floor": box(p[0]), "ceiling": box(p[1]),
					"x_mid": xOf(p[2]), "log10_x_mid": dir * p[2],
					"width_decades": w, "rise_10_90_decades": 2 * math.Log(9) * w,
				}
			},
			// The floor and ceiling are boxed (box), the width floored at
			// sigmoidMinWidth.
			atBound: func(p, t, y, w []float64) fitBounds {
				var out []string
				if boxAtBound(box(p[0]), mc.lo, mc.hi, y, w) {
					out = append(out, paramFloor)
				}
				if boxAtBound(box(p[1]), mc.lo, mc.hi, y, w) {
					out = append(out, paramCeiling)
				}
				f, h := box(p[0]), box(p[1])
				w0 := sigmoidMinWidth + math.Exp(p[3])
				fitted, step := make([]float64, len(t)), make([]float64, len(t))
				for i, ti := range t {
					fitted[i] = f + (h-f)*logistic((ti-p[2])/w0)
					step[i] = f + (h-f)*logistic((ti-p[2])/sigmoidMinWidth)
				}
				if w0 < widthFloorFactor*sigmoidMinWidth || chi2Rise(y, w, fitted, step) < chi2Resolve {
					out = append(out, paramWidth, paramRise)
				}
				return fitBounds{at: out}
			},
		},
		{
			name: ModelBNSL, k: 6, minLevels: 8,
			fv: bnslFV,
			terms: &levelTerms{n: 2, theta: 3,
				// The level terms are the softplus of the break, which
				// only the break and its sharpness enter, and the power
				// e^lg, which the asymptote and the gap do not enter;
				// the terms of θ are the two exponents and the sharpness,
				// each of one parameter.
				eval: func(p, t, tm, out []float64) {
					a0, f, a1 := math.Exp(p[2]), math.Exp(p[4]), math.Exp(p[5])
					th := tm[2*len(t):]
					th[0], th[1], th[2] = a0, f, a1
					for i, ti := range t {
						tm[2*i] = softplus((ti - p[3]) / f * math.Ln10)
						lg := -a0*(ti-tref)*math.Ln10 - a1*f*tm[2*i]
						tm[2*i+1] = math.Exp(lg)
						out[i] = p[0] + p[1]*tm[2*i+1]
					}
				},
				perturbed: func(p, t []float64, j int, tm, out []float64) {
					th := tm[2*len(t):]
					a0, f, a1 := th[0], th[1], th[2]
					switch j {
					case 2:
						a0 = math.Exp(p[2])
					case 4:
						f = math.Exp(p[4])
					case 5:
						a1 = math.Exp(p[5])
					}
					switch j {
					case 0, 1:
						for i := range t {
							out[i] = p[0] + p[1]*tm[2*i+1]
						}
					case 2, 5:
						for i, ti := range t {
							lg := -a0*(ti-tref)*math.Ln10 - a1*f*tm[2*i]
							out[i] = p[0] + p[1]*math.Exp(lg)
						}
					default:
						for i, ti := range t {
							lg := -a0*(ti-tref)*math.Ln10 - a1*f*softplus((ti-p[3])/f*math.Ln10)
							out[i] = p[0] + p[1]*math.Exp(lg)
						}
					}
				},
			},
			starts: func(t, y []float64) [][]float64 {
				sp := span(t)
				mids := jumps(t, y)
				if len(mids) > 2 {
					mids = mids[:2]
				}
				var out [][]float64
				for _, d := range mids {
					for _, f := range []float64{0.05 * sp, 0.3 * sp} {
						for _, a1 := range []float64{1, 5} {
							out = append(out, []float64{y[len(y)-1], y[0] - y[len(y)-1], math.Log(0.01), d, math.Log(f), math.Log(a1 / sp)})
						}
					}
				}
				return out
			},
			report: func(p []float64) map[string]float64 {
				return map[string]float64{
					"asymptote": p[0], "gap_at_smallest": p[1], "alpha0_per_decade": math.Exp(p[2]),
					"x_break": xOf(p[3]), "log10_x_break": dir * p[3], "sharpness_decades": math.Exp(p[4]),
					"alpha1_per_decade": math.Exp(p[5]),
				}
			},
			// α₀, α₁ and the sharpness are exponentials of free
			// parameters: bounded below by 0, and unbounded above. α₀
			// acts from the smallest scale, α₁ from the break; the
			// break's bend is unresolved when a kink (sharpness → 0)
			// fits as well (chi2Resolve).
			atBound: func(p, t, y, w []float64) fitBounds {
				var b fitBounds
				b.exponentAt(paramAlpha0, math.Exp(p[2]), span(t), firstStepAfter(t, tref))
				if p[3] < t[len(t)-1] {
					b.exponentAt(paramAlpha1, math.Exp(p[5]), t[len(t)-1]-math.Max(p[3], t[0]), firstStepAfter(t, p[3]))
				}
				fitted, kink := make([]float64, len(t)), make([]float64, len(t))
				bnslFV(p, t, fitted)
				// A sharpness of 1e-9 decades is the kink to double
				// precision wherever a level is more than 1e-6 decades
				// from the break (softplus(z) = z beyond z = 30).
				pk := append([]float64(nil), p...)
				pk[4] = math.Log(1e-9)
				bnslFV(pk, t, kink)
				if chi2Rise(y, w, fitted, kink) < chi2Resolve {
					b.at = append(b.at, paramSharp)
				}
				return b
			},
		},
	}
}

// fitModel fits m from each of its starting points (and any extra starts)
// and keeps the lowest weighted residual sum of squares.
func fitModel(m curveModel, t, y, w []float64, extra ...[]float64) (theta []float64, wrss float64) {
	wrss = math.Inf(1)
	starts := append(m.starts(t, y), extra...)
	for _, s := range starts {
		p, s2 := lmFitModel(m, t, y, w, s)
		if s2 < wrss {
			theta, wrss = p, s2
		}
	}
	return theta, wrss
}

// Predict returns the curve of a fitted model from the parameters the
// analysis reports for it (Result.Params, Fit.Params) on axis: the
// formulas of curveModels in the reported units. xRef is the x of the
// curve's smallest-scale level (Result.Levels[0].X: the smallest x, or the
// largest eval loss), to which the "_at_smallest" parameters and the
// power laws' origin refer. ok is false for an unknown model, a missing or
// non-finite parameter, or xRef ≤ 0.
func Predict(model string, params map[string]float64, axis string, xRef float64) (f func(x float64) float64, ok bool) {
	if !(xRef > 0) || math.IsInf(xRef, 0) {
		return nil, false
	}
	dir := scaleDir(axis)
	tref := dir * math.Log10(xRef)
	var missing bool
	get := func(k string) float64 {
		v, found := params[k]
		if !found || math.IsNaN(v) || math.IsInf(v, 0) {
			missing = true
		}
		return v
	}
	var g func(t float64) float64
	switch model {
	case ModelConstant:
		c := get("c")
		g = func(float64) float64 { return c }
	case ModelLinear:
		a, b := get("intercept_at_smallest"), get("slope_per_decade")
		g = func(t float64) float64 { return a + b*(t-tref) }
	case ModelPower:
		c, gap, al := get("asymptote"), get("gap_at_smallest"), get("alpha_per_decade")
		g = func(t float64) float64 { return c + gap*math.Pow(10, -al*(t-tref)) }
	case ModelSigmoid:
		fl, ce, m, w := get("floor"), get("ceiling"), dir*get("log10_x_mid"), get("width_decades")
		missing = missing || !(w > 0)
		g = func(t float64) float64 { return fl + (ce-fl)*logistic((t-m)/w) }
	case ModelBNSL:
		c, gap, a0 := get("asymptote"), get("gap_at_smallest"), get("alpha0_per_decade")
		d, s, a1 := dir*get("log10_x_break"), get("sharpness_decades"), get("alpha1_per_decade")
		missing = missing || !(s > 0)
		g = func(t float64) float64 {
			return c + gap*math.Exp(-a0*(t-tref)*math.Ln10-a1*s*softplus((t-d)/s*math.Ln10))
		}
	default:
		return nil, false
	}
	if missing {
		return nil, false
	}
	return func(x float64) float64 { return g(dir * math.Log10(x)) }, true
}
