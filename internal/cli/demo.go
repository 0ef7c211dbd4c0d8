package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"emlab/internal/demo"
)

func init() {
	register("demo", "the main job: a model ladder and mechanism studies → DIR/report.html, DIR/analysis.json", runDemoCmd)
}

type demoOptions struct {
	out   string
	quick bool
	jobs  int
	plan  bool
}

func runDemoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	var o demoOptions
	fs.StringVar(&o.out, "out", "demo-out", "output directory (resumes a demo already there)")
	fs.BoolVar(&o.quick, "quick", false, "the smaller demo (about 3 minutes on 2 cores)")
	fs.IntVar(&o.jobs, "jobs", 0, "runs trained at once (default: one per core)")
	fs.BoolVar(&o.plan, "plan", false, "print the runs and their cost, train nothing")
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
	return runDemo(ctx, o, append([]string{"emlab", "demo"}, args...), stdout, stderr)
}

func runDemo(ctx context.Context, o demoOptions, command []string, stdout, stderr io.Writer) error {
	if o.plan {
		studies, err := demo.Studies(o.quick)
		if err != nil {
			return err
		}
		var flops float64
		for _, s := range studies {
			fmt.Fprintf(stdout, "%s (%s): %d runs, %.3g FLOPs\n", s.Plan.Name, s.Role, len(s.Plan.Runs), s.Plan.FLOPs)
			for _, r := range s.Plan.Runs {
				fmt.Fprintf(stdout, "  %-20s %8d params %6d steps %.3g FLOPs\n", r.ID, r.Params, r.Steps, r.FLOPs)
			}
			flops += s.Plan.FLOPs
		}
		fmt.Fprintf(stdout, "total %.3g training FLOPs → %s\n", flops, o.out)
		return nil
	}
	began := time.Now()
	view := newPoolView(stderr, "demo")
	_, failures, err := demo.Train(ctx, demo.Options{Out: o.out, Quick: o.quick, Jobs: o.jobs, Progress: view.report})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "demo: trained in %s; analysing\n", time.Since(began).Round(time.Second))
	res, err := demo.Finish(ctx, demo.FinishOptions{Out: o.out, Command: command, Failures: failures,
		Analyze: demo.AnalyzeOptions(o.quick)})
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
		fmt.Fprintf(stdout, "%s %s — %s\n", mark, f.Claim, f.Detail)
		for _, it := range f.Items {
			fmt.Fprintf(stdout, "    %s\n", it)
		}
	}
	fmt.Fprintf(stdout, "%d of %d findings shown in %s; report: %s/%s, analysis: %s/%s\n", pass, len(res.Findings),
		time.Since(began).Round(time.Second), o.out, demo.ReportFile, o.out, demo.AnalysisFile)
	if len(failures) > 0 {
		return fmt.Errorf("%d run(s) failed:\n  %s", len(failures), strings.Join(failures, "\n  "))
	}
	return nil
}
