package serve

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"emlab/internal/report/assemble"
	"emlab/internal/report/reporttest"
	"emlab/internal/rundir"
)

// getWithin runs one request and fails if it does not answer within 10 s
// (reading a run's files takes milliseconds; a blocked open never ends).
func getWithin(t *testing.T, s *Server, target string) (int, string) {
	t.Helper()
	type answer struct {
		code int
		body string
	}
	done := make(chan answer, 1)
	go func() {
		rec := get(t, s, "GET", target)
		done <- answer{rec.Code, rec.Body.String()}
	}()
	select {
	case a := <-done:
		return a.code, a.body
	case <-time.After(10 * time.Second):
		t.Fatalf("GET %s still waiting after 10 s", target)
	}
	return 0, ""
}

// TestReliabilityRunFilesFIFO: a FIFO named metrics.jsonl (or evals.jsonl,
// config.json) in a run directory does not hang the runs table, the
// metrics API or the page; the other runs are still listed.
func TestReliabilityRunFilesFIFO(t *testing.T) {
	for _, name := range []string{rundir.MetricsFile, rundir.EvalsFile, rundir.ConfigFile} {
		t.Run(name, func(t *testing.T) {
			s, dir := newServer(t)
			run := filepath.Join(dir, "fifo-run")
			reporttest.Write(t, run, reporttest.LadderRun(0))
			os.Remove(filepath.Join(run, name))
			must(t, syscall.Mkfifo(filepath.Join(run, name), 0o644))
			for _, target := range []string{"/api/runs", "/api/metrics?run=fifo-run", "/"} {
				code, body := getWithin(t, s, target)
				if target == "/api/runs" && (code != 200 || !strings.Contains(body, "ladder/r2")) {
					t.Errorf("GET %s: %d, other runs missing:\n%.300s", target, code, body)
				}
			}
		})
	}
}

// TestReliabilityRunFilesSymlinkOut: a run file that is a symbolic link to
// a file outside the served directory is not read through: its content
// never reaches the runs table or the metrics API.
func TestReliabilityRunFilesSymlinkOut(t *testing.T) {
	s, dir := newServer(t)
	outside := filepath.Join(filepath.Dir(dir), "outside")
	// A valid metrics file outside, with a loss no run inside has.
	var lines []byte
	for step := 0; step <= 3; step++ {
		b, _ := json.Marshal(map[string]any{"step": step, "tokens": step * 10, "flops": 1, "loss": 4242.125, "lr": 0.1, "grad_norm": 1, "seconds": 1})
		lines = append(append(lines, b...), '\n')
	}
	must(t, os.WriteFile(filepath.Join(outside, rundir.MetricsFile), lines, 0o644))
	run := filepath.Join(dir, "link-run")
	reporttest.Write(t, run, reporttest.LadderRun(1))
	os.Remove(filepath.Join(run, rundir.MetricsFile))
	must(t, os.Symlink(filepath.Join(outside, rundir.MetricsFile), filepath.Join(run, rundir.MetricsFile)))
	for _, target := range []string{"/api/runs", "/api/metrics?run=link-run", "/"} {
		_, body := getWithin(t, s, target)
		if strings.Contains(body, "4242.125") || strings.Contains(body, "4.24e+03") || strings.Contains(body, "4242") {
			t.Errorf("GET %s served the outside file's content", target)
		}
	}
}

// TestReliabilityAnalysisFIFO: a FIFO named like the report's analysis
// file at the top of the directory does not hang the page, which shows
// the runs and their observed values as without one.
func TestReliabilityAnalysisFIFO(t *testing.T) {
	s, dir := newServer(t)
	os.Remove(filepath.Join(dir, assemble.AnalysisFile))
	must(t, syscall.Mkfifo(filepath.Join(dir, assemble.AnalysisFile), 0o644))
	code, body := getWithin(t, s, "/")
	if code != 200 || !strings.Contains(body, "ladder/r2") {
		t.Errorf("GET /: %d, runs missing:\n%.300s", code, body)
	}
}
