package cli

import (
	"context"
	"emlab/internal/report"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"emlab/internal/demo"
	"emlab/internal/rundir"
)

func init() {
	register("demo", "the main job and the claims study: a model ladder and mechanism studies, --study NAME, --all, --list → DIR/report.html, DIR/findings.json", runDemoCmd)
}

type demoOptions struct {
	out   string
	quick bool
	jobs  int
	plan  bool
	study string
	all   bool
	list  bool
}

func runDemoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	var o demoOptions
	fs.StringVar(&o.out, "out", "demo-out", "output directory (resumes a demo already there)")
	fs.BoolVar(&o.quick, "quick", false, "the smaller variant of each study: fewer seeds and rungs, about half the training (docs/demo.md gives measured times; the progress line's ETA is measured as it runs)")
	fs.IntVar(&o.jobs, "jobs", 0, "runs trained at once (default: one per core)")
	fs.BoolVar(&o.plan, "plan", false, "print the runs and their cost, train nothing")
	fs.StringVar(&o.study, "study", "", "run these studies of the claims study (comma-separated names; see --list)")
	fs.BoolVar(&o.all, "all", false, "run every study (the demo's and the claims study's)")
	fs.BoolVar(&o.list, "list", false, "list the studies with their claims and costs, train nothing")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int64{"jobs": 0}); err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if o.all && o.study != "" {
		return fmt.Errorf("give --study or --all, not both")
	}
	return runDemo(ctx, o, append([]string{"emlab", "demo"}, args...), stdout, stderr)
}

// selectStudies is what the flags ask for: --study's names, every study
// with --all, the demo's otherwise.
func selectStudies(o demoOptions) ([]*demo.Study, error) {
	switch {
	case o.all:
		return demo.All(), nil
	case o.study != "":
		var out []*demo.Study
		for _, name := range strings.Split(o.study, ",") {
			s, err := demo.Lookup(strings.TrimSpace(name))
			if err != nil {
				return nil, fmt.Errorf("--study: %w", err)
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out, nil
	}
	return demo.DemoStudies(), nil
}

func runDemo(ctx context.Context, o demoOptions, command []string, stdout, stderr io.Writer) error {
	studies, err := selectStudies(o)
	if err != nil {
		return err
	}
	if o.list {
		return listStudies(stdout, demo.All())
	}
	if o.plan {
		var flops float64
		for _, name := range demo.Sweeps(studies, o.quick) {
			p, err := demo.LoadPlan(name, o.quick)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: %d runs, %.3g FLOPs\n", p.Name, len(p.Runs), p.FLOPs)
			for _, r := range p.Runs {
				fmt.Fprintf(stdout, "  %-20s %8d params %6d steps %.3g FLOPs\n", r.ID, r.Params, r.Steps, r.FLOPs)
			}
			flops += p.FLOPs
		}
		fmt.Fprintf(stdout, "total %s training FLOPs → %s\n", report.Num(flops), o.out)
		return nil
	}
	if err := refuseRunDir(o.out); err != nil {
		return err
	}
	began := time.Now()
	view := newPoolView(stderr, "demo")
	failures, err := demo.Train(ctx, studies, demo.Options{Out: o.out, Quick: o.quick, Jobs: o.jobs, Progress: view.report})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "demo: trained in %s\n", time.Since(began).Round(time.Second))
	phases := newPhaseView(stderr, "demo")
	res, err := demo.Finish(ctx, demo.FinishOptions{Out: o.out, Studies: studies, Quick: o.quick, Command: command, Failures: failures,
		Analyze: demo.AnalyzeOptions(o.quick), Phase: phases.begin})
	phases.end()
	if err != nil {
		return err
	}
	pass := 0
	for _, f := range res.Findings {
		mark := "✓"
		if f.Pass {
			pass++
		} else {
			mark = "✗"
		}
		fmt.Fprintf(stdout, "%s [%s] %s: %s — %s\n", mark, f.ID, f.Claim, f.Verdict, f.Detail)
		for _, it := range f.Items {
			fmt.Fprintf(stdout, "    %s\n", it)
		}
	}
	fmt.Fprintf(stdout, "%d of %d findings supported in %s; report: %s, findings: %s\n", pass, len(res.Findings),
		time.Since(began).Round(time.Second), filepath.Join(o.out, demo.ReportFile), filepath.Join(o.out, demo.FindingsFile))
	if len(failures) > 0 {
		return fmt.Errorf("%d run(s) failed:\n  %s", len(failures), strings.Join(failures, "\n  "))
	}
	return nil
}

// listStudies prints each study's name, claim, experiment and cost: the
// planned runs and FLOPs of its sweeps and its measured time.
func listStudies(w io.Writer, studies []*demo.Study) error {
	for _, s := range studies {
		kind := "claims study"
		if s.Demo {
			kind = "demo"
		}
		fmt.Fprintf(w, "%s (%s)\n  claim:      %s\n  experiment: %s\n", s.Name, kind, s.Claim, s.Experiment)
		for _, quick := range []bool{false, true} {
			runs, flops := 0, 0.0
			for _, name := range s.SweepsFor(quick) {
				p, err := demo.LoadPlan(name, quick)
				if err != nil {
					return err
				}
				runs += len(p.Runs)
				flops += p.FLOPs
			}
			label, minutes := "full ", s.Minutes
			if quick {
				label, minutes = "quick", s.QuickMinutes
			}
			took := "not measured"
			if s.Demo {
				took = "timed with the whole demo (docs/demo.md)"
			}
			if minutes > 0 {
				took = fmt.Sprintf("measured %.1f min on %s (docs/demo.md)", minutes, demo.MinutesMachine)
			}
			plural := "s"
			if runs == 1 {
				plural = ""
			}
			fmt.Fprintf(w, "  %s: %d run%s of %s, %s training FLOPs, %s\n", label, runs, plural, strings.Join(s.SweepsFor(quick), ", "), report.Num(flops), took)
		}
	}
	return nil
}

// refuseRunDir is an error when dir is itself a run directory (it holds
// config.json or metrics.jsonl): the demo would write its studies' run
// trees inside another run.
func refuseRunDir(dir string) error {
	for _, f := range []string{rundir.ConfigFile, rundir.MetricsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("--out %s is a run directory (it holds %s); the demo writes a tree of runs of its own: choose a new or empty directory, or a demo's (default %s)", dir, f, "demo-out")
		}
	}
	return nil
}
