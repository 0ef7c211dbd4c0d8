package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"emlab/internal/report/assemble"
	"emlab/internal/report/reporttest"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

// TestReportAndAnalyzeSameCurves: emlab report and emlab analyze --runs
// hand the statistics identical curves for the same runs, on both axes the
// report analyses, and so write identical analyses. The ladder includes a
// run without a seed and lines whose chance rate applies to some metrics
// only (exact match) and not others (token accuracy, log-probability).
func TestReportAndAnalyzeSameCurves(t *testing.T) {
	root := t.TempDir()
	ids := reporttest.Tree(t, root)
	noSeed := reporttest.LadderRun(2)
	delete(noSeed.Config, "seed")
	reporttest.Write(t, filepath.Join(root, "ladder", "r2-noseed"), noSeed)
	ids = append(ids, "ladder/r2-noseed")
	sort.Strings(ids) // the order the report finds them in
	var dirs []string
	for _, id := range ids {
		dirs = append(dirs, filepath.Join(root, id))
	}

	runs, err := rundir.LoadRuns(root)
	if err != nil {
		t.Fatal(err)
	}
	ladder, _ := assemble.ChooseLadder(runs)
	if len(ladder) != len(dirs) {
		t.Fatalf("the report's ladder has %d runs, want %d", len(ladder), len(dirs))
	}
	for _, axis := range []string{stats.AxisParams, stats.AxisEvalLoss} {
		fromReport, _, err := assemble.Curves(ladder, axis)
		if err != nil {
			t.Fatal(err)
		}
		fromAnalyze, _, err := stats.ReadRuns(dirs, axis)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromReport, fromAnalyze) {
			t.Errorf("%s: the report's curves differ from analyze's:\n%s", axis, curvesDiff(fromReport, fromAnalyze))
		}
		for _, c := range fromAnalyze {
			if _, chance := rundir.KindOf(c.Metric); c.HasChance != rundir.IsSharp(c.Metric) && chance {
				t.Errorf("%s on %s: chance %v", c.Key(), axis, c.HasChance)
			}
		}
	}

	// The commands themselves, with the same bootstrap and forecast.
	var w bytes.Buffer
	if err := runReport(context.Background(), reportOptions{dir: root, out: filepath.Join(root, "r.html"), boot: 20, forecast: 2}, &w); err != nil {
		t.Fatal(err)
	}
	reportLines, err := os.ReadFile(filepath.Join(root, assemble.AnalysisFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, axis := range []string{stats.AxisParams, stats.AxisEvalLoss} {
		o := analyzeOptions{runs: dirs, axis: axis, json: true, forecast: 2, stats: stats.DefaultOptions()}
		o.stats.Boot = 20
		if axis == stats.AxisEvalLoss {
			o.forecast = 0 // the report forecasts against parameters only
		}
		var out bytes.Buffer
		if err := runAnalyze(context.Background(), o, &out); err != nil {
			t.Fatal(err)
		}
		var doc assemble.AnalysisDocument
		if err := json.Unmarshal(reportLines, &doc); err != nil {
			t.Fatalf("%s is not one JSON document: %v", assemble.AnalysisFile, err)
		}
		var want []string
		for _, l := range doc.Results {
			var v struct{ Axis string }
			if err := json.Unmarshal(l, &v); err != nil {
				t.Fatal(err)
			}
			if v.Axis == axis {
				want = append(want, string(l))
			}
		}
		if got := strings.Split(strings.TrimSpace(out.String()), "\n"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: emlab analyze --runs wrote %d lines, the report's analysis %d; first difference:\n%s", axis, len(got), len(want), firstDiff(got, want))
		}
	}
}

func curvesDiff(a, b []*stats.Curve) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d curves vs %d", len(a), len(b))
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			return fmt.Sprintf("%+v\nvs\n%+v", *a[i], *b[i])
		}
	}
	return ""
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + "\n" + b[i]
		}
	}
	return "(one is a prefix of the other)"
}
