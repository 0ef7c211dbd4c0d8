// Package assemble fills a report.Report from run directories (read
// through package rundir) and the analysis JSON (the schema of emlab
// analyze --json). It uses package stats for the curves, the analysis and
// the scaling fit, so like them it imports nothing model-side; the
// dashboard (package serve) and the demo's findings (package demo) use it
// too.
//
// # One file per section
//
// Each section of the report is computed in its own file: abilities.go
// (ability panels, sharp and smooth), lossview.go (score against eval
// loss), induction.go (prefix-matching phase change, in-context
// learning), grokking.go (train against held-out accuracy), quanta.go
// (per-subtask heat map), scaling.go (the scaling law) and forecasts.go.
// The judgements a section makes (an induction head formed, a model
// grokked, a subtask is solved) are exported functions with thresholds
// from rundir, so the demo's findings make the same judgements, not
// copies of them.
//
// A section whose data is missing is reported as missing, with a note.
package assemble
