package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"emlab/internal/atomicfile"
	"emlab/internal/report"
	"emlab/internal/report/assemble"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

func init() {
	register("report", "write the HTML report (plots, verdicts, provenance) of the runs under a directory", runReportCmd)
}

// reportOptions configures emlab report.
type reportOptions struct {
	dir      string // root of the run directories
	out      string // the HTML file
	analysis string // analysis JSON (emlab analyze --json lines); "" = DIR/analysis.json if present, else computed
	ladder   string // group (experiment or parent directory) of the ladder; "" = the one with most sizes
	title    string
	boot     int // bootstrap replicates when the analysis is computed
	forecast int
	command  string // the command line shown in the report
}

func runReportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	o := reportOptions{}
	fs.StringVar(&o.dir, "dir", "", "directory holding the run directories (required)")
	fs.StringVar(&o.out, "out", "", "HTML file to write (default DIR/report.html)")
	fs.StringVar(&o.analysis, "analysis", "", "analysis JSON to use (emlab analyze --json output; default DIR/analysis.json if it exists, else computed and written there)")
	fs.StringVar(&o.ladder, "ladder", "", "the group of runs that forms the scale ladder: a sweep's experiment name or a subdirectory of DIR (default: the group with the most model sizes)")
	fs.StringVar(&o.title, "title", "", "report title")
	fs.IntVar(&o.boot, "boot", stats.DefaultOptions().Boot, "bootstrap replicates when the analysis is computed here")
	fs.IntVar(&o.forecast, "forecast", 2, "largest rungs held out for the forecast when the analysis is computed here")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int64{"boot": 0, "forecast": 0}); err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	o.command = "emlab report " + strings.Join(args, " ")
	return runReport(ctx, o, stdout)
}

// runReport reads the runs, takes or computes the analysis, and writes the
// report atomically.
func runReport(ctx context.Context, o reportOptions, w io.Writer) error {
	if o.dir == "" {
		return errors.New("--dir is required")
	}
	if o.out == "" {
		o.out = filepath.Join(o.dir, "report.html")
	}
	runs, err := rundir.LoadRuns(o.dir)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return noRunsError(o.dir)
	}
	var ladder []*rundir.Run
	group := o.ladder
	if group == "" {
		ladder, group = assemble.ChooseLadder(runs)
	} else {
		var names []string
		seen := map[string]bool{}
		for _, r := range runs {
			g := assemble.Group(r)
			if !seen[g] {
				seen[g] = true
				names = append(names, g)
			}
			if g == group {
				ladder = append(ladder, r)
			}
		}
		if len(ladder) == 0 {
			return fmt.Errorf("no runs in group %q%s (groups: %s)", group, didYouMean(group, names), strings.Join(names, ", "))
		}
	}
	var notes []string
	var lines []assemble.Line
	path := o.analysis
	if path == "" {
		if _, err := os.Stat(filepath.Join(o.dir, assemble.AnalysisFile)); err == nil {
			path = filepath.Join(o.dir, assemble.AnalysisFile)
		}
	}
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("--analysis: %w", err)
		}
		lines, err = assemble.ParseAnalysis(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		notes = append(notes, "Analysis: "+path+".")
	} else if len(ladder) > 0 {
		ao := assemble.DefaultAnalyzeOptions()
		ao.Stats.Boot, ao.Forecast = o.boot, o.forecast
		js, n, err := assemble.Analyze(ctx, ladder, ao)
		if err != nil {
			return err
		}
		notes = append(notes, n...)
		if lines, err = assemble.ParseAnalysis(bytes.NewReader(js)); err != nil {
			return err
		}
		// Keep the analysis beside the runs so the report can be rebuilt
		// from the same numbers.
		ap := filepath.Join(o.dir, assemble.AnalysisFile)
		if err := atomicfile.WriteBytes(ap, js); err != nil {
			return fmt.Errorf("write analysis: %w", err)
		}
		notes = append(notes, "Analysis: "+ap+".")
	} else {
		notes = append(notes, "No run has evaluations, so there is no ladder to analyse.")
	}
	if len(ladder) > 0 {
		notes = append(notes, fmt.Sprintf("Scale ladder: the %s of group %q.", report.Count(len(ladder), "run", "runs"), group))
	}
	rep, err := assemble.Build(ctx, assemble.Input{Title: o.title, Subtitle: o.command, Runs: runs, Ladder: ladder, Analysis: lines,
		Roles: assemble.Roles(runs, ladder), Notes: notes, Now: time.Now(), Fresh: 2 * time.Minute, Scaling: stats.DefaultScalingOptions()})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, rep); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(o.out, buf.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintf(w, "wrote %s (%s, ladder %q with %s, %s)\n", o.out, report.Count(len(runs), "run", "runs"), group,
		report.Count(len(ladder), "run", "runs"), report.Count(len(rep.Abilities), "ability", "abilities"))
	return nil
}
