package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"emlab/internal/report/assemble"
	"emlab/internal/report/reporttest"
)

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	reporttest.Tree(t, dir)
	out := filepath.Join(dir, "r.html")
	var w bytes.Buffer
	// 20 bootstrap replicates: intervals are not under test, speed is.
	o := reportOptions{dir: dir, out: out, boot: 20, forecast: 2, command: "emlab report --dir X"}
	if err := runReport(context.Background(), o, &w); err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(w.String()))
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, assemble.AnalysisFile)); err != nil {
		t.Errorf("analysis.json not written: %v", err)
	}
	for _, want := range []string{"add/plain/2", "EMERGENT", "Induction-head formation", "test-0123abc"} {
		if !bytes.Contains(first, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	// The second run reads the analysis written by the first and gives the
	// same bytes.
	if err := runReport(context.Background(), o, &w); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("a second emlab report over the same runs wrote different bytes")
	}
}

func TestReportErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		o    reportOptions
		want string
	}{
		{"no dir", reportOptions{}, "--dir is required"},
		{"no runs", reportOptions{dir: dir}, "no run directories"},
		{"missing dir", reportOptions{dir: filepath.Join(dir, "nope")}, "no such file"},
	} {
		err := runReport(context.Background(), c.o, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	reporttest.Tree(t, dir)
	err := runReport(context.Background(), reportOptions{dir: dir, ladder: "ladr"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "did you mean ladder?") {
		t.Errorf("unknown ladder group: %v", err)
	}
}
