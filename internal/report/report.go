// Package report draws emlab's plots as SVG and writes the HTML report.
//
// It stands alone: it imports nothing else from emlab and
// takes plain data — series of numbers, verdicts as strings, notes — so
// any caller can fill it (internal/report/assemble does so from run
// directories and the analysis JSON). The report is one self-contained HTML
// file: inline SVG, inline CSS, no scripts, no external resources, so it
// reads offline and prints (a print style sheet keeps each figure on one
// page).
//
// Output is deterministic: the same Report gives the same bytes (no clock,
// no map iteration, fixed number formats). All text is escaped, so labels
// taken from files cannot inject markup.
//
// What it deliberately does not do: compute statistics. Fitted curves,
// intervals and verdicts arrive computed; a section without data prints the
// note the caller gives it (or a generic one) instead of an empty plot.
package report

import (
	"math"
)

// Report is everything the HTML report shows. Nil sections are reported
// as missing, with their note.
type Report struct {
	Title string
	// Subtitle is a line under the title (for example the command that
	// made the report). Optional.
	Subtitle string
	// Summary is a list of plain sentences for the top of the report.
	Summary []string
	// BottomLine is the summary table that opens the report: one row per
	// ability, then one per claim of Claims, and a plain reading.
	BottomLine *BottomLine
	// Claims are the claims studies' verdicts (claims.go), shown as rows
	// of the bottom-line table.
	Claims []Claim
	// Studies are the claims studies' own sections, printed after the
	// claims table and before the sections below.
	Studies []StudySection
	Runs    []Run
	// Ladder, when set, opens the abilities section: what the scale
	// ladder varies with size besides parameters (steps, tokens), which a
	// reader must know before reading any curve against parameters.
	Ladder string
	// Abilities: one panel pair per ability (task).
	Abilities []Ability
	LossView  *LossView
	Induction *Induction
	Grokking  *Grokking
	Quanta    *Quanta
	Scaling   *Scaling
	Forecasts []Forecast
	// Notes are plain statements about insufficient or missing data, shown
	// in their own section and kept in the order given.
	Notes []string
	// SectionNotes holds a note per section id ("abilities", "loss-view",
	// "induction", "grokking", "quanta", "scaling", "forecasts") printed
	// when the section has no data, saying why.
	SectionNotes map[string]string
}

// BottomLine is the report's summary: what each ability's analysis
// decided, in a table, and one plain sentence that says which emergences
// survive the mirage test.
type BottomLine struct {
	Reading string
	Rows    []BottomRow
}

// BottomRow is one ability in the bottom-line table: its sharp metric's
// verdict (with the reason), x* and its interval (NaN unless emergent),
// the mirage verdict (a Mirage.Verdict value, "" when the test was not
// run), the fewest items behind one evaluation and the fewest seeds
// behind one level (0: unknown), and a plain reading of the row.
type BottomRow struct {
	Ability, Metric         string
	Verdict, Reason         string
	Emergent                bool
	XStar, XStarLo, XStarHi float64
	Mirage                  string
	Items, Seeds            int
	FewItems                bool
	// XStarAtBound: x* comes from a sigmoid with a parameter at a limit
	// its fit imposes (the ability's panel says which and what it means).
	XStarAtBound bool
	Reading      string
}

// Run is the provenance of one run directory.
type Run struct {
	ID                 string // the directory, relative to the report's root
	Role               string // what the run is for (ladder, induction, grokking…)
	Status             string
	Params, NonEmb     float64
	Seed               string
	Steps              int
	Tokens, FLOPs      float64
	FinalLoss          float64 // NaN when unknown
	FinalEvalLoss      float64 // NaN when unknown
	CodeVersion        string
	Command            string
	Config             string // the resolved config, pretty-printed JSON
	ConfigParseProblem string // set when config.json could not be read
}

// Evidence is one test behind a verdict.
type Evidence struct {
	Test   string
	Pass   bool
	Detail string
}

// Panel is one metric of an ability against scale.
type Panel struct {
	Metric string
	Axis   string // x axis name (params, tokens, …)
	XLog   bool
	// Observed: the pooled levels (mean, with Lo/Hi as ±1 SD over seeds
	// when there are several).
	Observed Series
	// Fitted is the chosen model's curve over the sampled range (empty when
	// there is none); FitModel names it.
	Fitted   Series
	FitModel string
	// XStar is the sigmoid midpoint and [XStarLo, XStarHi] its interval;
	// NaN when undefined, ±Inf for an open end.
	XStar, XStarLo, XStarHi float64
	Chance                  float64 // NaN when unknown
	// Verdict and Reason are the analysis' judgement of the curve.
	Verdict          string
	Reason           string
	Breakthroughness float64
	Linearity        float64
	Evidence         []Evidence
	// Fraction is true when the metric is a fraction in [0, 1] (the y axis
	// is then pinned to [0, 1]).
	Fraction bool
	// LowerIsBetter is the metric's orientation (its axis says so).
	LowerIsBetter bool
	// NotApplicable, when set, says why nothing was fitted (a constant
	// curve): no fit and no x* are drawn.
	NotApplicable string
	// Levels are the pooled levels behind Observed: seeds and items per
	// level and the spread over seeds.
	Levels []Level
	// NMin is the fewest items behind one evaluation (0: unknown);
	// FewItems flags a verdict resting on fewer than MinItems.
	NMin, MinItems int
	FewItems       bool
	// XStarSeeds is x* of each seed's own curve (emergent curves with
	// replicate seeds; NaN where a seed's sigmoid does not rise).
	XStarSeeds []SeedX
	// BoundNote, when set, says which fitted parameters behind the
	// printed fit or x* sit at a limit the fit imposes, and what that
	// leaves of them (the analysis' judgement, printed as it is).
	BoundNote string
}

// Level is one scale of a panel: the mean over seeds, their standard
// deviation (NaN with one seed), the number of seeds and the items behind
// each evaluation (0: unknown).
type Level struct {
	X, Mean, SD  float64
	Seeds, Items int
}

// SeedX is a seed's value of a scale (its own x*).
type SeedX struct {
	Seed string
	X    float64
}

// Mirage is the metric-artifact test of one ability.
type Mirage struct {
	SharpMetric, SharpVerdict   string
	SmoothMetric, SmoothVerdict string
	// Verdict is the test's verdict (artifact, not_artifact, inconclusive,
	// not_applicable); IsMirage is Verdict == artifact.
	Verdict  string
	IsMirage bool
	Detail   string
	// PowerL, when set, is the p^L check sentence.
	PowerL string
}

// Ability is one task: its sharp metric, a smooth one beside it and the
// mirage verdict.
type Ability struct {
	Task   string
	Sharp  *Panel
	Smooth *Panel
	Mirage *Mirage
	Note   string
}

// LossPanel is one metric against eval loss, one series per model size
// (every checkpoint a point), with the fitted loss threshold.
type LossPanel struct {
	Task, Metric string
	Series       []Series // X: eval loss, Y: metric
	// LStar is the loss threshold (Du et al. 2024) and its interval; NaN
	// when not fitted.
	LStar, LStarLo, LStarHi float64
	R2All, R2PerGroup       float64
	Fraction                bool
	Note                    string
	// BoundNote says when L* sits at an end of the losses sampled (the
	// analysis' bound_note; "" otherwise).
	BoundNote string
}

// LossView is the loss view of emergence.
type LossView struct {
	Panels []LossPanel
	Note   string
}

// Induction is induction-head formation: the best head's prefix-matching
// score and the in-context-learning score against training step, one
// series per model size.
type Induction struct {
	PrefixMatching []Series
	ICL            []Series
	ICLLabel       string // y label for ICL (what the score is)
	// PhaseChange lists, per size, the sentence describing where the best
	// head passed 0.5 (or that it did not).
	PhaseChange []string
	Note        string
}

// Grokking is the memorisation-to-generalisation plot set.
type Grokking struct {
	Title      string
	Accuracy   []Series // train and held-out accuracy against step
	Loss       []Series // restricted and excluded loss (and others) against step
	WeightNorm []Series
	Summary    []string
	Note       string
}

// Quanta is the quanta heat map.
type Quanta struct {
	Map  Heatmap
	Note string
	// Order, when given, lists sentences about the order in which subtasks
	// were learned.
	Order []string
}

// Param is one fitted parameter with its interval (NaN when unknown).
type Param struct {
	Name          string
	Value, Lo, Hi float64
}

// Scaling is the scaling-law fit: observed loss against scale and the
// fitted law.
type Scaling struct {
	Form     string // "chinchilla" or "single_axis"
	Formula  string // the law in words, e.g. "L = E + A·N^−α"
	XLabel   string
	Observed Series
	Fitted   Series
	Params   []Param
	Note     string
}

// Forecast is one ability fitted on the smaller rungs and extrapolated to
// the held-out larger ones.
type Forecast struct {
	Task, Metric, Axis string
	Model              string
	FitLevels, Holdout int
	Observed           Series // all rungs
	Predicted          Series // held-out rungs with Lo/Hi intervals
	MAE, MAELo, MAEHi  float64
	XStarSmall         float64
	XStarFull          float64
	Fraction           bool
	// BoundNote says what of the forecast rests on a parameter at a bound
	// (the analysis' bound_note; "" when nothing does).
	BoundNote string
}

// finite reports whether v is a usable number.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
