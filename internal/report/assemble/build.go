package assemble

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

// Input is what Build turns into a report.
type Input struct {
	Title, Subtitle string
	// Runs are all runs the report covers (provenance, induction, grokking
	// and quanta take what they find in them).
	Runs []*rundir.Run
	// Ladder are the runs analysed as a scale ladder (abilities, loss view,
	// scaling law, forecasts); usually a subset of Runs.
	Ladder []*rundir.Run
	// Analysis is the analysis of the ladder (emlab analyze --json lines);
	// Analyze computes it.
	Analysis []Line
	// Roles optionally names each run's role by ID (ladder, induction…).
	Roles map[string]string
	// Notes are added to the report's notes first.
	Notes []string
	// Now and Fresh decide the runs' status (see rundir.Run.Status); a
	// zero Now reports runs without a DONE file as not finished.
	Now   time.Time
	Fresh time.Duration
	// Scaling configures the scaling-law fit (Boot 0: no intervals).
	Scaling stats.ScalingOptions
}

// Build assembles the report. It never fails for missing data: each
// section without data carries a note saying why.
func Build(ctx context.Context, in Input) (*report.Report, error) {
	r := &report.Report{Title: in.Title, Subtitle: in.Subtitle, SectionNotes: map[string]string{}}
	if r.Title == "" {
		r.Title = "emlab report"
	}
	r.Notes = append(r.Notes, in.Notes...)
	for _, ru := range in.Runs {
		r.Runs = append(r.Runs, runRow(ru, in))
		for _, p := range ru.Skipped {
			r.Notes = append(r.Notes, "skipped "+p)
		}
	}
	byAxis := map[string][]Line{}
	for _, l := range in.Analysis {
		byAxis[l.Axis] = append(byAxis[l.Axis], l)
	}
	abilities(r, byAxis[stats.AxisParams], chances(in.Ladder))
	fillObserved(r.Abilities, in.Ladder)
	lossView(r, in.Ladder, byAxis[stats.AxisEvalLoss])
	induction(r, in.Runs)
	grokking(r, in.Runs)
	quanta(r, in.Runs)
	if err := scaling(ctx, r, in.Ladder, in.Scaling); err != nil {
		return nil, err
	}
	forecasts(r, byAxis[stats.AxisParams])
	em, mir := Headline(byAxis[stats.AxisParams])
	s := []string{fmt.Sprintf("%d runs; %d on the scale ladder; %d abilities analysed.", len(in.Runs), len(in.Ladder), len(r.Abilities))}
	if len(em) > 0 {
		s = append(s, "Emergent (sharp metric): "+strings.Join(em, ", ")+".")
	}
	if len(mir) > 0 {
		s = append(s, "Metric artifacts (mirage test: emergent, while a smooth metric of the same outputs improves smoothly): "+strings.Join(mir, ", ")+".")
	}
	r.Summary = s
	return r, nil
}

// runRow is a run's line in the provenance table.
func runRow(ru *rundir.Run, in Input) report.Run {
	row := report.Run{ID: ru.ID, Role: in.Roles[ru.ID], Params: params(ru), NonEmb: math.NaN(), Seed: seedLabel(ru),
		Command: CommandLine(ru), FinalLoss: math.NaN(), FinalEvalLoss: rundir.LastEvalLoss(ru.Metrics),
		Tokens: math.NaN(), FLOPs: math.NaN()}
	if c := ru.Config; c != nil {
		row.NonEmb, row.CodeVersion = float64(c.NonEmbeddingParams), c.CodeVersion
		row.Config = prettyJSON(ru.ConfigJSON)
	} else {
		row.ConfigParseProblem = "no " + rundir.ConfigFile + " (the run has not started)"
	}
	if in.Now.IsZero() {
		row.Status = "not finished"
		if ru.Done {
			row.Status = rundir.StateDone
		}
	} else {
		row.Status = ru.Status(in.Now, in.Fresh)
	}
	if last, ok := ru.Last(); ok {
		row.Steps, row.Tokens, row.FLOPs, row.FinalLoss = last.Step, last.Tokens, last.FLOPs, last.Loss
	}
	return row
}

// Headline lists the abilities whose sharp metric is emergent and those
// the mirage test calls a metric artifact (Verdicts, by task), as the
// report's header counts them and the demo's findings count them.
func Headline(lines []Line) (emergent, artifacts []string) {
	for _, v := range Verdicts(lines) {
		if v.Emergent() {
			emergent = append(emergent, v.Task)
		}
		if v.Artifact() {
			artifacts = append(artifacts, v.Task)
		}
	}
	return emergent, artifacts
}
