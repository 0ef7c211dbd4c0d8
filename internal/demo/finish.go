package demo

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"emlab/internal/atomicfile"
	"emlab/internal/report"
	"emlab/internal/report/assemble"
	"emlab/internal/rundir"
)

// Files the demo writes at the top of its output directory.
const (
	AnalysisFile = assemble.AnalysisFile // the schema of emlab analyze --json
	ReportFile   = "report.html"
	FindingsFile = "findings.json"
)

// AnalyzeOptions are the demo's analysis settings: stats' defaults with a
// forecast of the two largest rungs, on the metrics the report shows, with
// fewer bootstrap replicates on the eval-loss axis (one level per run and
// checkpoint makes each replicate ~20× dearer there). The quick demo
// halves the bootstrap (intervals from 100 replicates instead of 200).
func AnalyzeOptions(quick bool) assemble.AnalyzeOptions {
	o := assemble.DefaultAnalyzeOptions()
	o.Metrics = []string{rundir.ExactMatch, rundir.MCGrade, rundir.TokenAccuracy, rundir.LogProb, rundir.EditDistance, rundir.Brier}
	o.LossBoot = 40
	if quick {
		o.Stats.Boot, o.LossBoot = 100, 20
	}
	return o
}

// Result is what Finish produced.
type Result struct {
	// Findings are the findings of the studies judged now, in the order
	// of findings.json.
	Findings []Finding
	Notes    []string // what the analysis had to leave out
}

// FinishOptions configure Finish.
type FinishOptions struct {
	Out string
	// Studies are judged now: their objects in findings.json are replaced.
	// The report also shows every other study with objects there.
	Studies  []*Study
	Quick    bool
	Command  []string // shown in the report
	Failures []string // run failures from Train, reported as notes
	Analyze  assemble.AnalyzeOptions
	// Phase, when set, is called as each phase of the work after training
	// begins ("analysing 16 ladder runs → analysis.json"), for a progress
	// display: the analysis's bootstrap fits take tens of seconds.
	Phase func(phase string)
}

// Finish judges the studies (and analyses the demo ladder into
// analysis.json when one of them reads its analysis)
// into findings.json (replacing their own objects, keeping every other)
// and writes report.html, which opens with the claims table of every
// object in findings.json and shows each study's section. It is a pure
// function of the run directories and findings.json: running it again on
// the same runs writes the same bytes.
func Finish(ctx context.Context, o FinishOptions) (*Result, error) {
	prev, err := ReadFindings(o.Out)
	if err != nil {
		return nil, err
	}
	in, runs, err := newInput(o.Out, o.Quick, o.Analyze)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	phase := o.Phase
	if phase == nil {
		phase = func(string) {}
	}
	in.phase = phase
	ladder := in.Runs(ladderSweep)
	roles := map[string]string{}
	for _, r := range runs {
		roles[r.ID] = sweepOf(r)
	}

	// The studies shown: those judged now and those findings.json already
	// has, in the registry's order.
	now := map[string]bool{}
	var ids []string
	for _, s := range o.Studies {
		now[s.Name] = true
		ids = append(ids, s.Name)
	}
	had := map[string]bool{}
	for _, f := range prev {
		had[f.ID] = true
	}
	var judged []Finding
	var sections []report.StudySection
	hasSection := map[string]bool{}
	for _, s := range All() {
		if !now[s.Name] && !had[s.Name] {
			continue
		}
		phase(fmt.Sprintf("judging the %s study", s.Name))
		j, err := s.Judge(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("study %s: %w", s.Name, err)
		}
		if now[s.Name] {
			for _, f := range j.Findings {
				f.ID = s.Name
				judged = append(judged, f)
			}
		}
		if j.Section != nil {
			j.Section.ID = s.SectionID()
			sections = append(sections, *j.Section)
			hasSection[s.Name] = true
		}
	}
	// The ladder's analysis, when a study used it (the demo's emergence
	// and artifact findings do): analysis.json and the report's abilities,
	// loss-view and forecasts sections.
	if in.analyzed {
		res.Notes = in.analysisNotes
		if err := atomicfile.WriteBytes(filepath.Join(o.Out, AnalysisFile), in.analysisJSON); err != nil {
			return nil, err
		}
	}
	// Merged under the directory's lock, from findings.json as it is now:
	// another demo judging other studies into o.Out may have written it
	// since prev was read.
	all, err := updateFindings(o.Out, ids, judged)
	if err != nil {
		return nil, err
	}
	for _, f := range all {
		if now[f.ID] {
			res.Findings = append(res.Findings, f)
		}
	}

	// The ladder's confound (steps grow with size) opens the abilities
	// section (assemble's ladder sentence), not a note at the end.
	var notes []string
	for _, f := range o.Failures {
		notes = append(notes, "run failed: "+f)
	}
	notes = append(notes, res.Notes...)
	cmd := "emlab demo"
	if len(o.Command) > 0 {
		cmd = strings.Join(o.Command, " ")
	}
	phase("writing " + ReportFile)
	rep, err := assemble.Build(ctx, assemble.Input{
		Title:    "emlab demo: emergent abilities on a laptop",
		Subtitle: "command: " + cmd,
		Runs:     runs, Ladder: ladder, Analysis: in.analysis, Roles: roles, Notes: notes,
		Now: time.Time{},
	})
	if err != nil {
		return nil, err
	}
	for _, f := range all {
		c := report.Claim{ID: f.ID, Claim: f.Claim, Verdict: f.Verdict, Detail: f.Detail}
		if s, ok := registry[f.ID]; ok {
			c.Experiment = s.Experiment
			if s.Section != "" || hasSection[s.Name] {
				c.Section = s.SectionID()
			}
		}
		rep.Claims = append(rep.Claims, c)
	}
	rep.Studies = sections
	err = atomicfile.WriteFile(filepath.Join(o.Out, ReportFile), func(w io.Writer) error { return report.Write(w, rep) })
	if err != nil {
		return nil, err
	}
	return res, nil
}
