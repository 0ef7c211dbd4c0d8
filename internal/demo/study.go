package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"emlab/internal/report"
	"emlab/internal/report/assemble"
	"emlab/internal/rundir"
	"emlab/internal/stats"
	"emlab/internal/sweep"
)

// Verdicts of findings.json: whether the runs support a claim. A claim
// that does not reproduce at this scale is VerdictNotSupported with its
// evidence; VerdictInconclusive means the runs cannot decide (missing
// runs, overlapping intervals, an ability that never formed).
const (
	VerdictSupported    = report.VerdictSupported
	VerdictNotSupported = report.VerdictNotSupported
	VerdictInconclusive = report.VerdictInconclusive
)

// Finding is one object of findings.json: a claim, the study that tested
// it (ID, the study's name), the verdict, Pass (true exactly when the
// verdict is VerdictSupported), a sentence of detail and the evidence with
// its numbers and intervals.
type Finding struct {
	ID      string   `json:"id"`
	Claim   string   `json:"claim"`
	Verdict string   `json:"verdict"`
	Pass    bool     `json:"pass"`
	Detail  string   `json:"detail"`
	Items   []string `json:"items"`
}

// verdict sets the finding's verdict and Pass together.
func (f *Finding) verdict(v string) {
	f.Verdict, f.Pass = v, v == VerdictSupported
}

// MinutesMachine is where every study's Minutes and QuickMinutes were
// measured: re-time them all together when it changes.
const MinutesMachine = "2 Zen 5 cores"

// Study is a registered unit of the claims study: a claim of the founding
// text, the experiment that tests it (embedded sweep files), what it
// costs, and Judge, which re-derives its findings from the run
// directories. `emlab demo --study NAME` runs one, `--all` every one, and
// plain `emlab demo` those marked Demo.
type Study struct {
	// Name is the study's id in findings.json and on the command line.
	Name string
	// Claim is the founding text's claim the study tests, in one sentence
	// (each finding carries its own, more precise, claim).
	Claim string
	// Experiment says what is trained and measured, in one sentence.
	Experiment string
	// Sweeps name the embedded experiment files it trains:
	// studies/<sweep>.toml, or studies/<sweep>-quick.toml with --quick when
	// that file exists. A sweep's runs live in DIR/<sweep>; studies that
	// name the same sweep share its runs.
	Sweeps []string
	// QuickSweeps, when not nil, replaces Sweeps with --quick.
	QuickSweeps []string
	// Demo marks the studies plain `emlab demo` runs.
	Demo bool
	// Section is the id of the report section that shows the study's plots
	// when the study has no section of its own (the demo's studies show
	// theirs in the abilities, induction, grokking and quanta sections).
	Section string
	// Minutes and QuickMinutes are the measured wall times of the study
	// run alone from an empty directory on MinutesMachine (docs/demo.md
	// says when and under what load); 0 when not measured.
	Minutes, QuickMinutes float64
	// Judge re-derives the findings (and the study's report section) from
	// the run directories.
	Judge func(ctx context.Context, in *Input) (*Judged, error)
}

// Judged is what a study's Judge derived from the runs.
type Judged struct {
	Findings []Finding
	// Section is the study's own report section; nil when its plots are
	// in the section named by Study.Section.
	Section *report.StudySection
}

// SectionID is the id of the report section with the study's plots.
func (s *Study) SectionID() string {
	if s.Section != "" {
		return s.Section
	}
	return "study-" + s.Name
}

var registry = map[string]*Study{}

// order fixes the order of --list, --all and the claims table: the demo's
// findings first, then the claims studies. Studies registered but not
// listed here come after these, by name.
var order = []string{
	"emergence", "artifact", "induction", "grokking", "quanta",
	"scale-axes", "cot", "longrange", "forecast",
}

// register adds a study; a duplicate name is a programming error.
func register(s *Study) {
	if _, dup := registry[s.Name]; dup {
		panic("demo: study " + s.Name + " registered twice")
	}
	registry[s.Name] = s
}

// All returns every registered study in the claims table's order.
func All() []*Study {
	var out []*Study
	for _, n := range order {
		if s, ok := registry[n]; ok {
			out = append(out, s)
		}
	}
	var rest []string
	for n := range registry {
		if !slices.Contains(order, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	for _, n := range rest {
		out = append(out, registry[n])
	}
	return out
}

// DemoStudies are the studies plain `emlab demo` runs.
func DemoStudies() []*Study {
	var out []*Study
	for _, s := range All() {
		if s.Demo {
			out = append(out, s)
		}
	}
	return out
}

// Lookup returns the named study, or an error listing the known ones.
func Lookup(name string) (*Study, error) {
	if s, ok := registry[name]; ok {
		return s, nil
	}
	var names []string
	for _, s := range All() {
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("no study %q (studies: %s)", name, strings.Join(names, ", "))
}

// SweepsFor is the study's sweeps, quick or full.
func (s *Study) SweepsFor(quick bool) []string {
	if quick && s.QuickSweeps != nil {
		return s.QuickSweeps
	}
	return s.Sweeps
}

// Sweeps lists the sweeps the studies train, each once, in order of first
// mention.
func Sweeps(studies []*Study, quick bool) []string {
	var out []string
	for _, s := range studies {
		for _, w := range s.SweepsFor(quick) {
			if !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	return out
}

// LoadPlan reads the embedded sweep file of a sweep (its -quick variant
// with quick, when there is one) and expands it. The file's name must be
// the sweep's: runs live in DIR/<name>, shared by quick and full plans.
func LoadPlan(name string, quick bool) (*sweep.Plan, error) {
	file := "studies/" + name + ".toml"
	if quick {
		if _, err := studiesFS.Open("studies/" + name + "-quick.toml"); err == nil {
			file = "studies/" + name + "-quick.toml"
		}
	}
	b, err := studiesFS.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no embedded sweep %s", file)
	}
	if err != nil {
		return nil, err
	}
	e, err := sweep.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("embedded %s: %w", file, err)
	}
	if e.Name != name {
		return nil, fmt.Errorf("embedded %s: name %q, want %q (the file's name: its runs live in DIR/%s)", file, e.Name, name, name)
	}
	p, err := sweep.NewPlan(e)
	if err != nil {
		return nil, fmt.Errorf("embedded %s: %w", file, err)
	}
	return p, nil
}

// Input is what a study's Judge reads: the run directories under Out,
// grouped by sweep, and the settings of the statistics.
type Input struct {
	Out   string
	Quick bool
	// Stats are the statistics' settings (bootstrap replicates, level).
	Stats stats.Options
	runs  map[string][]*rundir.Run // sweep → its runs under Out

	analyze       assemble.AnalyzeOptions
	analyzed      bool
	phase         func(string) // told when the ladder's analysis begins; may be nil
	analysis      []assemble.Line
	analysisJSON  []byte
	analysisNotes []string
}

// LadderAnalysis is the demo ladder's analysis (what analysis.json
// holds), computed on first use; nil when the ladder has no runs.
func (in *Input) LadderAnalysis(ctx context.Context) ([]assemble.Line, error) {
	if in.analyzed {
		return in.analysis, nil
	}
	ladder := in.Runs(ladderSweep)
	if len(ladder) == 0 {
		return nil, nil
	}
	if in.phase != nil {
		in.phase(fmt.Sprintf("analysing %d ladder runs → %s", len(ladder), AnalysisFile))
	}
	b, notes, err := assemble.Analyze(ctx, ladder, in.analyze)
	if err != nil {
		return nil, err
	}
	lines, err := assemble.ParseAnalysis(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	in.analyzed, in.analysis, in.analysisJSON, in.analysisNotes = true, lines, b, notes
	return lines, nil
}

// Runs returns every run found under Out/<sweep> (whether a quick or a
// full plan trained it), in the order of their directory names.
func (in *Input) Runs(sweep string) []*rundir.Run { return in.runs[sweep] }

// newInput reads every run under out and groups them by sweep.
func newInput(out string, quick bool, o assemble.AnalyzeOptions) (*Input, []*rundir.Run, error) {
	all, err := rundir.LoadRuns(out)
	if err != nil {
		return nil, nil, err
	}
	in := &Input{Out: out, Quick: quick, Stats: o.Stats, analyze: o, runs: map[string][]*rundir.Run{}}
	for _, r := range all {
		w := sweepOf(r)
		in.runs[w] = append(in.runs[w], r)
	}
	return in, all, nil
}

// sweepOf is the sweep a run belongs to: the first directory of its ID
// under the output directory (each sweep writes into Out/<name>).
func sweepOf(r *rundir.Run) string {
	id := filepath.ToSlash(r.ID)
	if i := strings.IndexByte(id, '/'); i >= 0 {
		return id[:i]
	}
	return id
}
