package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// analyzeLine is one line of emlab analyze --json; the field order is the
// interface other tools read (docs/stats.md).
type analyzeLine struct {
	Task             string      `json:"task"`
	Metric           string      `json:"metric"`
	Axis             string      `json:"axis,omitempty"`
	Verdict          string      `json:"verdict"`
	Reason           string      `json:"reason"`
	Emergent         bool        `json:"emergent"`
	Direction        string      `json:"direction,omitempty"`
	LowerIsBetter    bool        `json:"lower_is_better"`
	Breakthroughness any         `json:"breakthroughness"`
	Linearity        any         `json:"linearity"`
	XStar            any         `json:"x_star"`
	XStarLo          any         `json:"x_star_lo"`
	XStarHi          any         `json:"x_star_hi"`
	XStarSeeds       any         `json:"x_star_seeds,omitempty"`
	XCross           any         `json:"x_cross"`
	XCrossLo         any         `json:"x_cross_lo"`
	XCrossHi         any         `json:"x_cross_hi"`
	Fit              string      `json:"fit"`
	Params           any         `json:"params"`
	FamilySD         any         `json:"family_sd"`
	NMin             int         `json:"n_min"`
	FewItems         bool        `json:"few_items"`
	NotApplicable    string      `json:"not_applicable,omitempty"`
	Note             string      `json:"note,omitempty"`
	Fits             any         `json:"fits,omitempty"`
	Levels           []levelJSON `json:"levels,omitempty"`
	Evidence         any         `json:"evidence"`
	Mirage           any         `json:"mirage,omitempty"`
	LossThreshold    any         `json:"loss_threshold,omitempty"`
	Forecast         any         `json:"forecast,omitempty"`
	ItemView         any         `json:"item_view,omitempty"`
}

type levelJSON struct {
	X     any `json:"x"`
	Mean  any `json:"mean"`
	SD    any `json:"sd"`
	Seeds int `json:"seeds"`
	N     int `json:"n,omitempty"`
	Items int `json:"items,omitempty"`
	// SE is the standard error of Mean the fits weight by (√Var: seeds'
	// spread and item sampling), for error bars; null when unknown.
	SE any `json:"se"`
}

// MarshalJSON writes the result as one line of emlab analyze --json (the
// interface other tools read, docs/stats.md): task, metric, verdict with its
// reason, emergent, direction (of improvement) and lower_is_better,
// breakthroughness, linearity, x_star with x_star_lo/x_star_hi and
// x_star_seeds (each seed's own x*), x_cross with its interval, the chosen
// fit and its params, family_sd, n_min and few_items, not_applicable (why
// nothing was fitted) and note (binning), every fit, the pooled levels
// (with items per evaluation), the evidence and the optional mirage,
// loss_threshold, forecast and item_view objects. Undefined numbers (NaN,
// ±Inf) are null.
func (r *Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.jsonLine())
}

func (r *Result) jsonLine() analyzeLine {
	l := analyzeLine{
		Task: r.Task, Metric: r.Metric, Axis: r.Axis, Verdict: r.Verdict, Reason: r.Reason, Emergent: r.Emergent,
		Direction: r.Direction, LowerIsBetter: r.LowerIsBetter, FamilySD: jsonValue(r.FamilySD), NMin: r.NMin, FewItems: r.FewItems,
		NotApplicable: r.NotApplicable, Note: r.Note,
		Breakthroughness: jsonValue(r.Breakthroughness), Linearity: jsonValue(r.Linearity),
		XStar: jsonValue(r.XStar), XStarLo: jsonValue(r.XStarLo), XStarHi: jsonValue(r.XStarHi),
		XCross: jsonValue(r.XCross), XCrossLo: jsonValue(r.XCrossLo), XCrossHi: jsonValue(r.XCrossHi),
		Fit: r.Fit, Params: jsonValue(r.Params), Evidence: jsonValue(r.Evidence),
	}
	if len(r.XStarSeeds) > 0 {
		l.XStarSeeds = jsonValue(r.XStarSeeds)
	}
	if l.Params == nil {
		l.Params = map[string]any{}
	}
	if len(r.Fits) > 0 {
		l.Fits = jsonValue(r.Fits)
	}
	for _, lv := range r.Levels {
		l.Levels = append(l.Levels, levelJSON{X: jsonValue(lv.X), Mean: jsonValue(lv.Mean), SD: jsonValue(lv.SD), Seeds: lv.Seeds, N: lv.N, Items: lv.Items, SE: levelSE(lv)})
	}
	if r.Mirage != nil {
		l.Mirage = jsonValue(r.Mirage)
	}
	if r.Loss != nil {
		l.LossThreshold = jsonValue(r.Loss)
	}
	if r.Forecast != nil {
		l.Forecast = jsonValue(r.Forecast)
	}
	if r.ItemView != nil {
		l.ItemView = jsonValue(r.ItemView)
	}
	return l
}

// jsonNum is a float that encodes NaN and ±Inf as null (JSON has no such
// numbers; null reads as "undefined" here: no sigmoid, never crossed, an
// open interval end) and otherwise with 6 significant digits, so output is
// stable across platforms and readable.
type jsonNum float64

func (f jsonNum) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', 6, 64), nil
}

// jsonValue converts v to something encoding/json can write: floats become
// jsonNum, structs become maps keyed by their json tags (fields without a
// tag or unexported are skipped; "omitempty" drops nil pointers and empty
// slices and maps), maps and slices are converted element-wise.
func jsonValue(v any) any {
	return convert(reflect.ValueOf(v))
}

func convert(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return jsonNum(v.Float())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return convert(v.Elem())
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := make(map[string]any, v.Len())
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			out[fmt.Sprint(k.Interface())] = convert(v.MapIndex(k))
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = convert(v.Index(i))
		}
		return out
	case reflect.Struct:
		out := map[string]any{}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if !f.IsExported() || tag == "" || tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			fv := v.Field(i)
			if opts == "omitempty" && fv.IsZero() {
				continue
			}
			out[name] = convert(fv)
		}
		return out
	}
	return v.Interface()
}

// JSONNumber returns v as a value encoding/json writes with 6 significant
// digits, or null for NaN and ±Inf.
func JSONNumber(v float64) json.Marshaler { return jsonNum(v) }

// nonNil makes a nil list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// jsonRange writes a Range as {"lo", "hi"}.
func jsonRange(r Range) map[string]any {
	return map[string]any{"lo": jsonNum(r.Lo), "hi": jsonNum(r.Hi)}
}

func putInterval(out map[string]any, name string, iv Interval) {
	out[name], out[name+"_lo"], out[name+"_hi"] = jsonNum(iv.Value), jsonNum(iv.Lo), jsonNum(iv.Hi)
}

// MarshalJSON writes the fit as emlab scaling fit --json does: form,
// points, E, A, B, alpha, beta each with _lo/_hi, the compute budget and the
// compute-optimal N_opt, D_opt, tokens_per_param and exponents a, b (each
// with an interval), whether L-BFGS reported convergence, at_bound: the
// parameters at their lower bound (an empty list when none is), e_profile
// {lo, hi} (the range of E the profile of the objective allows),
// tokens_per_param_profile {lo, hi} (D*/N* over that range) and
// e_identified (EIdentified).
func (f *ChinchillaFit) MarshalJSON() ([]byte, error) {
	out := map[string]any{"form": "chinchilla", "points": f.Points, "compute": jsonNum(f.Compute), "converged": f.Converged, "at_bound": nonNil(f.AtBound)}
	out["e_profile"] = jsonRange(f.EProfile)
	out["tokens_per_param_profile"] = jsonRange(f.TokensPerParamProfile)
	out["e_identified"] = f.EIdentified
	for _, p := range []struct {
		name string
		iv   Interval
	}{{"E", f.E}, {"A", f.A}, {"B", f.B}, {"alpha", f.Alpha}, {"beta", f.Beta},
		{"N_opt", f.NOpt}, {"D_opt", f.DOpt}, {"tokens_per_param", f.TokensPerParam}, {"a", f.ExponentN}, {"b", f.ExponentD}} {
		putInterval(out, p.name, p.iv)
	}
	return json.Marshal(out)
}

// SingleAxisFit is what emlab scaling fit reports when the data have no
// tokens or FLOPs column: L = E + A·N^(−α) and Kaplan's L = (N_c/N)^α_N.
type SingleAxisFit struct {
	Power  *PowerLawFit
	Kaplan *KaplanFit
}

// MarshalJSON writes form "single_axis", E, A, alpha with intervals, B and
// beta as null (no data axis), at_bound (E or A at its lower bound, an
// empty list when neither is), e_profile and e_identified as for the
// Chinchilla form, and a "kaplan" object with N_c and alpha_N.
func (f *SingleAxisFit) MarshalJSON() ([]byte, error) {
	nan := Interval{Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	out := map[string]any{"form": "single_axis", "points": f.Power.Points, "at_bound": nonNil(f.Power.AtBound)}
	out["e_profile"] = jsonRange(f.Power.EProfile)
	out["e_identified"] = f.Power.EIdentified
	putInterval(out, "E", f.Power.E)
	putInterval(out, "A", f.Power.A)
	putInterval(out, "alpha", f.Power.Alpha)
	putInterval(out, "B", nan)
	putInterval(out, "beta", nan)
	kap := map[string]any{}
	putInterval(kap, "N_c", f.Kaplan.Xc)
	putInterval(kap, "alpha_N", f.Kaplan.Alpha)
	out["kaplan"] = kap
	return json.Marshal(out)
}

// levelSE is a level's standard error, NaN (null) when its variance is
// unknown.
func levelSE(lv Level) any {
	if lv.Var > 0 {
		return jsonValue(math.Sqrt(lv.Var))
	}
	return jsonValue(math.NaN())
}
