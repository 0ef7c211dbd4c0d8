package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Judgement is everything a reader of the analysis shows about one curve:
// the verdict and why, the direction of its change, whether something can
// be drawn for it, whether it rests on few items, the transition's
// location, and its task's mirage verdict. The report, analysis.json and
// findings.json take these from here rather than re-deciding them.
type Judgement struct {
	Task, Metric, Axis string
	Verdict            string
	Reason             string
	Emergent           bool
	// Direction of the change in terms of improvement (Direction*
	// constants); LowerIsBetter the metric's orientation.
	Direction     string
	LowerIsBetter bool
	// Drawable is false when nothing was fitted (NotApplicable says why).
	Drawable      bool
	NotApplicable string
	// NMin is the fewest items behind one evaluation; FewItems flags fewer
	// than MinItems.
	NMin     int
	FewItems bool
	// XStar and its interval, NaN unless the curve is emergent (a smooth,
	// flat, inverse or non-monotone curve has no transition to locate);
	// XStarSeeds each seed's own x* (emergent curves with replicate seeds).
	XStar, XStarLo, XStarHi float64
	XStarSeeds              []SeedXStar
	// Mirage is the mirage verdict of the curve's task on the same axis
	// (nil when the task has one metric); Artifact is Mirage.Verdict ==
	// MirageArtifact.
	Mirage   *MirageResult
	Artifact bool
	// FitAtBound names the chosen fit's parameters at a bound its
	// parameterisation imposes (Fit.AtBound; empty when none);
	// XStarAtBound is true when x* is shown (an emergent curve) and the
	// sigmoid it comes from has a parameter at such a bound. BoundNote
	// says in words what either leaves of the printed numbers ("" when
	// nothing is at a bound): the one sentence every reader prints.
	FitAtBound   []string
	XStarAtBound bool
	BoundNote    string
}

// fitBound is what the bound judgement reads of one fit.
type fitBound struct {
	Model   string
	AtBound []string
	Width   float64 // the sigmoid's width_decades, NaN otherwise
	// ExponentLimit is Fit.ExponentLimit: which limit each exponent in
	// AtBound is at.
	ExponentLimit map[string]string
}

// boundJudgement fills j's bound fields from its fits, given the chosen
// fit: after judge, so that x* is considered only where it is shown.
func boundJudgement(j Judgement, fit string, fits []fitBound) Judgement {
	j.FitAtBound = []string{}
	var notes []string
	for _, f := range fits {
		if f.Model == fit && j.Drawable {
			j.FitAtBound = append(j.FitAtBound, f.AtBound...)
			if n := CurveBoundNote(f.Model, f.AtBound, f.Width, f.ExponentLimit); n != "" {
				notes = append(notes, "the chosen fit, "+n)
			}
		}
	}
	if !math.IsNaN(j.XStar) {
		for _, f := range fits {
			if f.Model != ModelSigmoid || len(f.AtBound) == 0 {
				continue
			}
			j.XStarAtBound = true
			if f.Model == fit {
				notes = append(notes, "x* comes from this sigmoid")
			} else {
				notes = append(notes, "x* comes from the "+CurveBoundNote(f.Model, f.AtBound, f.Width, f.ExponentLimit))
			}
		}
	}
	if len(notes) > 0 {
		j.BoundNote = "At a bound: " + strings.Join(notes, "; ") + "."
	}
	return j
}

// resultBounds is what boundJudgement reads of a result's fits.
func resultBounds(fits []Fit) []fitBound {
	out := make([]fitBound, len(fits))
	for i, f := range fits {
		w, ok := f.Params[paramWidth]
		if !ok {
			w = math.NaN()
		}
		out[i] = fitBound{Model: f.Model, AtBound: f.AtBound, Width: w, ExponentLimit: f.ExponentLimit}
	}
	return out
}

// Judgements returns the judgement of every result, in order; each metric
// of a task carries the task's mirage verdict on the same axis (attached by
// AnalyzeCurves to the sharp metric).
func Judgements(results []*Result) []Judgement {
	out := make([]Judgement, len(results))
	for i, r := range results {
		out[i] = judge(Judgement{Task: r.Task, Metric: r.Metric, Axis: r.Axis, Verdict: r.Verdict, Reason: r.Reason, Emergent: r.Emergent,
			Direction: r.Direction, LowerIsBetter: r.LowerIsBetter, NotApplicable: r.NotApplicable,
			NMin: r.NMin, FewItems: r.FewItems, XStar: r.XStar, XStarLo: r.XStarLo, XStarHi: r.XStarHi,
			XStarSeeds: r.XStarSeeds, Mirage: r.Mirage}, r.Fit)
		out[i] = boundJudgement(out[i], r.Fit, resultBounds(r.Fits))
	}
	return spreadMirage(out)
}

// ReadJudgements reads the judgements back from lines of emlab analyze
// --json (one JSON object each, as Result.MarshalJSON writes them), by the
// same rule as Judgements, so that a report built from a saved analysis
// shows what the analysis decided. Errors name the line (1-based).
func ReadJudgements(lines []json.RawMessage) ([]Judgement, error) {
	out := make([]Judgement, len(lines))
	for i, b := range lines {
		var l judgementLine
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("analysis line %d: %w", i+1, err)
		}
		if l.Task == "" || l.Metric == "" || l.Verdict == "" {
			return nil, fmt.Errorf(`analysis line %d: missing "task", "metric" or "verdict"`, i+1)
		}
		j := Judgement{Task: l.Task, Metric: l.Metric, Axis: l.Axis, Verdict: l.Verdict, Reason: l.Reason, Emergent: l.Emergent,
			Direction: l.Direction, LowerIsBetter: l.LowerIsBetter, NotApplicable: l.NotApplicable, NMin: l.NMin, FewItems: l.FewItems,
			XStar: float64(l.XStar), XStarLo: float64(l.XStarLo), XStarHi: float64(l.XStarHi)}
		for _, s := range l.XStarSeeds {
			j.XStarSeeds = append(j.XStarSeeds, SeedXStar{Seed: s.Seed, Levels: s.Levels, XStar: float64(s.XStar)})
		}
		if m := l.Mirage; m != nil && !m.isZero() {
			j.Mirage = m.result()
		}
		out[i] = judge(j, l.Fit)
		var fits []fitBound
		for _, f := range l.Fits {
			w, ok := f.Params[paramWidth]
			if !ok {
				w = NullFloat(math.NaN())
			}
			fits = append(fits, fitBound{Model: f.Model, AtBound: f.AtBound, Width: float64(w), ExponentLimit: f.ExponentLimit})
		}
		out[i] = boundJudgement(out[i], l.Fit, fits)
	}
	return spreadMirage(out), nil
}

// judge applies the per-curve rule: something is drawn only where a model
// was fitted, and a transition is located only on an emergent curve.
func judge(j Judgement, fit string) Judgement {
	j.Drawable = j.NotApplicable == "" && fit != ""
	if !j.Emergent {
		j.XStar, j.XStarLo, j.XStarHi, j.XStarSeeds = math.NaN(), math.NaN(), math.NaN(), nil
	}
	return j
}

// spreadMirage gives every judgement its task's mirage verdict on its axis.
func spreadMirage(js []Judgement) []Judgement {
	type key struct{ task, axis string }
	mirage := map[key]*MirageResult{}
	for _, j := range js {
		if j.Mirage != nil {
			mirage[key{j.Task, j.Axis}] = j.Mirage
		}
	}
	for i := range js {
		js[i].Mirage = mirage[key{js[i].Task, js[i].Axis}]
		js[i].Artifact = js[i].Mirage != nil && js[i].Mirage.Verdict == MirageArtifact
	}
	return js
}

// NullFloat is a JSON number where null (the writer's NaN and ±Inf)
// reads as NaN: how readers of analysis lines take their numbers.
type NullFloat float64

// UnmarshalJSON reads a number or null.
func (f *NullFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = NullFloat(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = NullFloat(v)
	return nil
}

// judgementLine is the part of an analysis line a judgement reads.
type judgementLine struct {
	Task          string    `json:"task"`
	Metric        string    `json:"metric"`
	Axis          string    `json:"axis"`
	Verdict       string    `json:"verdict"`
	Reason        string    `json:"reason"`
	Emergent      bool      `json:"emergent"`
	Direction     string    `json:"direction"`
	LowerIsBetter bool      `json:"lower_is_better"`
	XStar         NullFloat `json:"x_star"`
	XStarLo       NullFloat `json:"x_star_lo"`
	XStarHi       NullFloat `json:"x_star_hi"`
	XStarSeeds    []struct {
		Seed   string    `json:"seed"`
		Levels int       `json:"levels"`
		XStar  NullFloat `json:"x_star"`
	} `json:"x_star_seeds"`
	Fit           string      `json:"fit"`
	NMin          int         `json:"n_min"`
	FewItems      bool        `json:"few_items"`
	NotApplicable string      `json:"not_applicable"`
	Mirage        *mirageLine `json:"mirage"`
	// Fits are read for their bounds (at_bound; absent in analyses
	// written before it existed, which then read as nothing at a bound).
	Fits []struct {
		Model   string               `json:"model"`
		Params  map[string]NullFloat `json:"params"`
		AtBound []string             `json:"at_bound"`
		// ExponentLimit: absent in analyses written before it existed,
		// whose exponents at a bound then get the words for either limit.
		ExponentLimit map[string]string `json:"exponent_limit"`
	} `json:"fits"`
}

// mirageLine is MirageResult as written (undefined numbers are null).
type mirageLine struct {
	SharpMetric    string    `json:"sharp_metric"`
	SharpVerdict   string    `json:"sharp_verdict"`
	SmoothMetric   string    `json:"smooth_metric"`
	SmoothVerdict  string    `json:"smooth_verdict"`
	SmoothFit      string    `json:"smooth_fit"`
	Verdict        string    `json:"verdict"`
	Reason         string    `json:"reason"`
	Mirage         bool      `json:"mirage"`
	HiddenProgress bool      `json:"hidden_progress"`
	SmoothGOFP     NullFloat `json:"smooth_gof_p"`
	Detail         string    `json:"detail"`
	PowerL         *struct {
		PerPositionMetric string    `json:"per_position_metric"`
		L                 NullFloat `json:"L"`
		LFitted           bool      `json:"L_fitted"`
		Levels            int       `json:"levels"`
		RMSE              NullFloat `json:"rmse"`
		MaxAbsErr         NullFloat `json:"max_abs_err"`
		Consistent        bool      `json:"consistent"`
		Applicable        bool      `json:"applicable"`
		Reason            string    `json:"reason"`
	} `json:"power_l"`
}

func (m *mirageLine) isZero() bool { return m.Verdict == "" && m.SharpMetric == "" }

func (m *mirageLine) result() *MirageResult {
	r := &MirageResult{SharpMetric: m.SharpMetric, SharpVerdict: m.SharpVerdict, SmoothMetric: m.SmoothMetric,
		SmoothVerdict: m.SmoothVerdict, SmoothFit: m.SmoothFit, Verdict: m.Verdict, Reason: m.Reason, Mirage: m.Mirage,
		HiddenProgress: m.HiddenProgress, SmoothGOFP: float64(m.SmoothGOFP), Detail: m.Detail}
	if p := m.PowerL; p != nil {
		r.PowerL = &PowerLCheck{PerPositionMetric: p.PerPositionMetric, L: float64(p.L), LFitted: p.LFitted, Levels: p.Levels,
			RMSE: float64(p.RMSE), MaxAbsErr: float64(p.MaxAbsErr), Consistent: p.Consistent, Applicable: p.Applicable, Reason: p.Reason}
	}
	return r
}
