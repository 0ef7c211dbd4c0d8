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
	r.BottomLine = bottomLine(byAxis[stats.AxisParams])
	r.Ladder = ladderSentence(in.Ladder)
	em, mir := Headline(byAxis[stats.AxisParams])
	s := []string{fmt.Sprintf("%s; %d on the scale ladder; %s analysed.", report.Count(len(in.Runs), "run", "runs"), len(in.Ladder), report.Count(len(r.Abilities), "ability", "abilities"))}
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

// bottomLine is the table that opens the report: each ability's verdict,
// x*, mirage verdict and support as the analysis decided them (the
// judgement of its sharp metric, stats.Judgement), with a plain reading of
// each row and one sentence on which emergences survive the mirage test.
func bottomLine(lines []Line) *report.BottomLine {
	vs := Verdicts(lines)
	if len(vs) == 0 {
		return nil
	}
	bl := &report.BottomLine{}
	var emergent, artifact, survive, undecided []string
	for _, v := range vs {
		j := v.Sharp.Judgement
		row := report.BottomRow{Ability: v.Task, Metric: v.Sharp.Metric, Verdict: j.Verdict, Reason: j.Reason, Emergent: j.Emergent,
			XStar: j.XStar, XStarLo: j.XStarLo, XStarHi: j.XStarHi, Items: j.NMin, FewItems: j.FewItems, XStarAtBound: j.XStarAtBound}
		for i, lv := range v.Sharp.Levels {
			if i == 0 || lv.Seeds < row.Seeds {
				row.Seeds = lv.Seeds
			}
		}
		smooth := "a smooth metric"
		if m := j.Mirage; m != nil {
			row.Mirage = m.Verdict
			if m.SmoothMetric != "" {
				smooth = m.SmoothMetric
			}
		}
		at := ""
		if finite(j.XStar) {
			at = " at about " + report.Num(j.XStar) + " parameters"
		}
		switch {
		case j.Emergent && j.Artifact:
			artifact = append(artifact, v.Task)
			row.Reading = "Jumps" + at + " in " + v.Sharp.Metric + ", but " + smooth + " of the same outputs improves smoothly: a metric artifact, not a jump in the model."
		case j.Emergent && row.Mirage == stats.MirageNotArtifact:
			survive = append(survive, v.Task)
			row.Reading = "Jumps" + at + ", and " + smooth + " of the same outputs jumps too: the emergence survives the mirage test."
		case j.Emergent && row.Mirage != "":
			undecided = append(undecided, v.Task)
			row.Reading = "Jumps" + at + "; the mirage test cannot decide: " + j.Mirage.Reason + "."
		case j.Emergent:
			undecided = append(undecided, v.Task)
			row.Reading = "Jumps" + at + "; no smooth metric to test it against."
		default:
			row.Reading = "No emergence: " + j.Reason + "."
		}
		if j.Emergent {
			emergent = append(emergent, v.Task)
		}
		if j.FewItems {
			row.Reading += fmt.Sprintf(" Rests on %d items per evaluation: treat with caution.", j.NMin)
		}
		bl.Rows = append(bl.Rows, row)
	}
	list := func(n int, ts []string) string {
		if len(ts) == 0 {
			return "none"
		}
		return fmt.Sprintf("%d (%s)", n, strings.Join(ts, ", "))
	}
	bl.Reading = fmt.Sprintf("Of %d abilities, %d jump with size in their sharp metric (EMERGENT). Of these, the mirage test calls %s a metric artifact; %s survive it; it cannot decide for %s.",
		len(vs), len(emergent), list(len(artifact), artifact), list(len(survive), survive), list(len(undecided), undecided))
	if len(emergent) > 0 && len(survive) == 0 {
		bl.Reading += " So no emergence here is shown to be more than its metric."
	}
	return bl
}

// ladderSentence says what the ladder varies with size besides
// parameters: when its larger rungs also train for more steps, emergence
// against parameters is emergence against compute as much as size.
func ladderSentence(ladder []*rundir.Run) string {
	if len(ladder) == 0 {
		return ""
	}
	plo, phi := math.Inf(1), math.Inf(-1)
	slo, shi := math.MaxInt, 0
	for _, ru := range ladder {
		if p := params(ru); finite(p) {
			plo, phi = math.Min(plo, p), math.Max(phi, p)
		}
		if last, ok := ru.Last(); ok {
			slo, shi = min(slo, last.Step), max(shi, last.Step)
		}
	}
	tlo, thi := tokenRange(ladder)
	if phi < plo || shi == 0 {
		return ""
	}
	if float64(shi) <= 1.5*float64(slo) {
		return fmt.Sprintf("The scale ladder's models (%s to %s parameters) train for about the same number of steps (%d to %d): size is what varies.", report.Num(plo), report.Num(phi), slo, shi)
	}
	return fmt.Sprintf("Read every curve below with this confound: the scale ladder's larger models also train longer — %s to %s parameters, %s to %s steps, %s to %s tokens — so an ability that emerges against parameters here emerges against training compute as much as against size (the scale-axes study varies them apart; docs/calibration.md records why the ladder is built this way).",
		report.Num(plo), report.Num(phi), report.Num(float64(slo)), report.Num(float64(shi)), report.Num(tlo), report.Num(thi))
}
