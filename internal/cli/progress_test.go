package cli

import (
	"bytes"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"emlab/internal/sweep"
)

// The pool view (sweep run, demo) writes a header and a line per running
// run; off a terminal it throttles to one picture per 10 s but always
// writes the last.
func TestPoolView(t *testing.T) {
	var b bytes.Buffer
	v := newPoolView(&b, "demo")
	p := sweep.Progress{Total: 3, Done: 1, Running: 1, Pending: 1, FLOPsDone: 25, FLOPsTotal: 100, Elapsed: 90 * time.Second, ETA: time.Minute,
		Active: []sweep.View{{Label: "ladder/r1", Run: sweep.Run{Steps: 200}, Step: 100, Loss: 1.25, State: sweep.StateRunning},
			{Label: "ladder/r2", Run: sweep.Run{Steps: 200}, Loss: math.NaN(), State: sweep.StateRunning}}}
	v.report(p)
	v.report(p) // within 10 s: not written again
	out := b.String()
	for _, want := range []string{"demo: 1/3 runs done, 1 running, 25% of FLOPs, 1m30s elapsed, ETA 1m0s", "ladder/r1", "100/200", "loss 1.250"} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "demo:") != 1 {
		t.Errorf("written twice within 10 s:\n%s", out)
	}
	p.Running, p.Done, p.Active = 0, 3, nil
	v.report(p)
	if !strings.Contains(b.String(), "demo: 3/3 runs done, 0 running") || strings.Contains(b.String()[len(out):], "ETA") {
		t.Errorf("final picture:\n%s", b.String())
	}
}

// TestPhaseView: each phase after training gets a line as it begins, a
// phase that lasts gets "still ..." lines, and the end says how long the
// phases took; the demo's ETA says it covers the runs only.
func TestPhaseView(t *testing.T) {
	var b syncBuffer
	v := newPhaseView(&b, "demo")
	v.every = 20 * time.Millisecond
	v.begin("analysing 16 ladder runs → analysis.json")
	time.Sleep(70 * time.Millisecond)
	v.begin("writing report.html")
	v.end()
	v.end() // a second end is harmless
	out := b.String()
	for _, want := range []string{"demo: analysing 16 ladder runs → analysis.json (0s elapsed)\n", "demo: still analysing 16 ladder runs",
		"demo: writing report.html (", "demo: analysis and report took "} {
		if !strings.Contains(out, want) {
			t.Errorf("phase view lacks %q:\n%s", want, out)
		}
	}
	var pb bytes.Buffer
	newPoolView(&pb, "demo").report(sweep.Progress{Total: 2, Running: 1, Elapsed: time.Minute, ETA: time.Minute,
		Active: []sweep.View{{Label: "a", Run: sweep.Run{Steps: 10}, Loss: math.NaN()}}})
	if !strings.Contains(pb.String(), "ETA 1m0s for the runs, then the analysis") {
		t.Errorf("the demo's ETA does not say what it covers:\n%s", pb.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the phase view's ticker goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
