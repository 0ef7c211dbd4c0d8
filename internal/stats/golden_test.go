package stats

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenAnalyze runs AnalyzeCurves on a testdata CSV and returns the JSON
// lines emlab analyze --json would print.
func goldenAnalyze(t *testing.T, file, axis string, cfg AnalyzeConfig) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	curves, err := ReadCurvesCSV(f, axis)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := AnalyzeCurves(context.Background(), curves, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/stats -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (if the change is intended, refresh with -update):\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func goldenOptions(workers int) Options {
	o := DefaultOptions()
	o.Boot = 50
	o.Seed = 1
	o.Workers = workers
	return o
}

// TestGolden pins the JSON output for fixed inputs: a ladder with three
// metrics per task (mirage and forecast), a loss-view curve, a three-rung
// curve (insufficient) and a scaling fit.
func TestGolden(t *testing.T) {
	t.Run("ladder", func(t *testing.T) {
		checkGolden(t, "ladder.golden.jsonl", goldenAnalyze(t, "ladder.csv", AxisParams, AnalyzeConfig{Options: goldenOptions(2), Forecast: 1}))
	})
	t.Run("lossview", func(t *testing.T) {
		checkGolden(t, "lossview.golden.jsonl", goldenAnalyze(t, "lossview.csv", AxisEvalLoss, AnalyzeConfig{Options: goldenOptions(2), LossView: true}))
	})
	t.Run("scaling", func(t *testing.T) {
		f, err := os.Open(filepath.Join("testdata", "scaling.csv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		pts, _, err := ReadScalingCSV(f, DefaultScalingColumns())
		if err != nil {
			t.Fatal(err)
		}
		o := DefaultScalingOptions()
		o.Boot = 50
		fit, err := FitChinchilla(context.Background(), pts, o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(fit)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "scaling.golden.json", append(b, '\n'))
	})
}

// TestDeterministicAcrossWorkers: bootstrap chunks are seeded by their
// index, so the output is byte-identical for any number of workers.
func TestDeterministicAcrossWorkers(t *testing.T) {
	one := goldenAnalyze(t, "ladder.csv", AxisParams, AnalyzeConfig{Options: goldenOptions(1), Forecast: 1})
	many := goldenAnalyze(t, "ladder.csv", AxisParams, AnalyzeConfig{Options: goldenOptions(5), Forecast: 1})
	if !bytes.Equal(one, many) {
		t.Errorf("1 worker and 5 workers differ:\n%s\n%s", one, many)
	}
	o := goldenOptions(1)
	o.Seed = 2
	other := goldenAnalyze(t, "ladder.csv", AxisParams, AnalyzeConfig{Options: o, Forecast: 1})
	if bytes.Equal(one, other) {
		t.Errorf("seeds 1 and 2 give identical bootstrap output: the seed is not used")
	}
}
