package demo

import (
	"bytes"
	"context"
	"encoding/json"
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
	Findings []Finding
	Notes    []string // what the analysis had to leave out
}

// FinishOptions configure Finish.
type FinishOptions struct {
	Out      string
	Command  []string // shown in the report
	Failures []string // run failures from Train, reported as notes
	Analyze  assemble.AnalyzeOptions
}

// Finish analyses the ladder, checks the demo's claims, and writes
// analysis.json, findings.json and report.html into Out (atomically). It
// is a pure function of the run directories: running it again on the same
// runs writes the same bytes.
func Finish(ctx context.Context, o FinishOptions) (*Result, error) {
	runs, err := rundir.LoadRuns(o.Out)
	if err != nil {
		return nil, err
	}
	var ladder []*rundir.Run
	roles := map[string]string{}
	for _, r := range runs {
		g := study(r)
		roles[r.ID] = g
		if g == "ladder" {
			ladder = append(ladder, r)
		}
	}
	res := &Result{}
	var lines []assemble.Line
	if len(ladder) > 0 {
		b, notes, err := assemble.Analyze(ctx, ladder, o.Analyze)
		if err != nil {
			return nil, err
		}
		res.Notes = notes
		if err := atomicfile.WriteBytes(filepath.Join(o.Out, AnalysisFile), b); err != nil {
			return nil, err
		}
		if lines, err = assemble.ParseAnalysis(bytes.NewReader(b)); err != nil {
			return nil, err
		}
	} else {
		res.Notes = append(res.Notes, "no ladder runs: nothing to analyse")
	}
	res.Findings = Check(lines, runs, ladder)
	fb, err := json.MarshalIndent(res.Findings, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(o.Out, FindingsFile), append(fb, '\n')); err != nil {
		return nil, err
	}

	notes := []string{}
	for _, f := range res.Findings {
		mark := "✓"
		if !f.Pass {
			mark = "✗"
		}
		notes = append(notes, fmt.Sprintf("%s %s: %s", mark, f.Claim, f.Detail))
	}
	notes = append(notes, "The ladder's training steps grow with model size (as in docs/calibration.md), so emergence against "+
		"parameters here is emergence against compute: within one rung, addition clicks after a number of steps that the "+
		"small rungs never reach. The induction, grokking and quanta studies vary one thing at a time.")
	for _, f := range o.Failures {
		notes = append(notes, "run failed: "+f)
	}
	notes = append(notes, res.Notes...)
	cmd := "emlab demo"
	if len(o.Command) > 0 {
		cmd = fmt.Sprint(o.Command)
	}
	rep, err := assemble.Build(ctx, assemble.Input{
		Title:    "emlab demo: emergent abilities on a laptop",
		Subtitle: "command: " + cmd,
		Runs:     runs, Ladder: ladder, Analysis: lines, Roles: roles, Notes: notes,
		Now: time.Time{},
	})
	if err != nil {
		return nil, err
	}
	err = atomicfile.WriteFile(filepath.Join(o.Out, ReportFile), func(w io.Writer) error { return report.Write(w, rep) })
	if err != nil {
		return nil, err
	}
	return res, nil
}

// study is the study a run belongs to: the first directory of its ID under
// the demo's output directory (each study's sweep writes into Out/<name>).
func study(r *rundir.Run) string {
	id := filepath.ToSlash(r.ID)
	if i := strings.IndexByte(id, '/'); i >= 0 {
		return id[:i]
	}
	return id
}
