package cli

import (
	"emlab/internal/report"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"emlab/internal/sweep"
	"emlab/internal/train"
)

// isTerminal reports whether w is a character device (a terminal), where a
// live progress bar makes sense; otherwise plain log lines are written.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress renders train.Status as a live bar on a terminal (redrawn at most
// 10 times a second) or as one plain line every `every` steps elsewhere.
type progress struct {
	w        io.Writer
	live     bool
	every    int
	label    string
	lastDraw time.Time
}

func newProgress(w io.Writer, label string, every int) *progress {
	return &progress{w: w, live: isTerminal(w), every: every, label: label}
}

func (p *progress) Step(s train.Status) {
	if p.live {
		if time.Since(p.lastDraw) < 100*time.Millisecond && s.Step != s.Steps {
			return
		}
		p.lastDraw = time.Now()
		const width = 24
		filled := width * s.Step / max(s.Steps, 1)
		bar := strings.Repeat("█", filled) + strings.Repeat("·", width-filled)
		fmt.Fprintf(p.w, "\r%s %s %d/%d loss %.4f %s tok/s ETA %s \x1b[K", p.label, bar, s.Step, s.Steps, s.Loss,
			report.Num(s.TokensPerSec), s.ETA.Round(time.Second))
		if s.Step == s.Steps {
			fmt.Fprintln(p.w)
		}
		return
	}
	if s.Step%p.every != 0 && s.Step != s.Steps && math.IsNaN(s.EvalLoss) {
		return
	}
	line := fmt.Sprintf("%s step %d/%d loss %.4f", p.label, s.Step, s.Steps, s.Loss)
	if !math.IsNaN(s.EvalLoss) {
		line += fmt.Sprintf(" eval_loss %.4f", s.EvalLoss)
	}
	fmt.Fprintf(p.w, "%s lr %.2e grad_norm %.3f %s tok/s ETA %s\n", line, s.LR, s.GradNorm, report.Num(s.TokensPerSec), s.ETA.Round(time.Second))
}

func (p *progress) Event(msg string) {
	if p.live {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.w, "%s %s\n", p.label, msg)
}

// poolView renders the progress of a pool of runs (emlab sweep run, emlab
// demo): on a terminal a header line and a bar per running run, redrawn in
// place; elsewhere the same lines every 10 s and once at the end.
type poolView struct {
	w     io.Writer
	label string // "sweep", "demo"
	live  bool
	last  time.Time
	lines int // drawn last time (live)
}

func newPoolView(w io.Writer, label string) *poolView {
	return &poolView{w: w, label: label, live: isTerminal(w)}
}

func (v *poolView) report(p sweep.Progress) {
	finished := p.Finished()
	if !v.live && time.Since(v.last) < 10*time.Second && !finished {
		return
	}
	v.last = time.Now()
	head := fmt.Sprintf("%s: %d/%d runs done, %d running", v.label, p.Done, p.Total, p.Running)
	if p.Queued > 0 {
		head += fmt.Sprintf(", %d queued", p.Queued)
	}
	if p.Failed > 0 {
		head += fmt.Sprintf(", %d failed", p.Failed)
	}
	if p.FLOPsTotal > 0 {
		head += fmt.Sprintf(", %.0f%% of FLOPs", 100*p.FLOPsDone/p.FLOPsTotal)
	}
	head += fmt.Sprintf(", %s elapsed", p.Elapsed.Round(time.Second))
	if p.ETA >= 0 && !finished {
		head += fmt.Sprintf(", ETA %s", p.ETA.Round(time.Second))
		if v.label == "demo" { // the ETA extrapolates training FLOPs only
			head += " for the runs, then the analysis"
		}
	}
	lines := []string{head}
	for _, a := range p.Active {
		const width = 20
		frac := 0.0
		if a.Run.Steps > 0 {
			frac = math.Min(float64(a.Step)/float64(a.Run.Steps), 1)
		}
		filled := int(frac * width)
		line := fmt.Sprintf("  %-32s %s%s %6d/%-6d", a.Label, strings.Repeat("█", filled), strings.Repeat("·", width-filled), a.Step, a.Run.Steps)
		if !math.IsNaN(a.Loss) {
			line += fmt.Sprintf(" loss %.3f", a.Loss)
		}
		lines = append(lines, line)
	}
	if !v.live {
		fmt.Fprintln(v.w, strings.Join(lines, "\n"))
		return
	}
	if v.lines > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA", v.lines)
	}
	for _, l := range lines {
		fmt.Fprintf(v.w, "\x1b[K%s\n", l)
	}
	for i := len(lines); i < v.lines; i++ { // clear what the last picture drew below
		fmt.Fprint(v.w, "\x1b[K\n")
	}
	v.lines = max(v.lines, len(lines))
}

// phaseView shows the phases of work that has no step count (the demo's
// analysis, judging and report): one line as each begins with the time
// since the first, and, while one lasts, a line every 10 s saying it still
// runs, so that a long bootstrap never looks like a hang.
type phaseView struct {
	w      io.Writer
	label  string
	start  time.Time
	mu     sync.Mutex
	cur    string
	since  time.Time
	stop   chan struct{}
	done   chan struct{}
	every  time.Duration
	closed bool
}

func newPhaseView(w io.Writer, label string) *phaseView {
	v := &phaseView{w: w, label: label, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{}), every: 10 * time.Second}
	go v.tick()
	return v
}

func (v *phaseView) tick() {
	defer close(v.done)
	t := time.NewTicker(v.every)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.mu.Lock()
			if v.cur != "" {
				fmt.Fprintf(v.w, "%s: still %s (%s)\n", v.label, v.cur, time.Since(v.since).Round(time.Second))
			}
			v.mu.Unlock()
		}
	}
}

// begin starts a phase (the callback demo.Finish calls).
func (v *phaseView) begin(phase string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.cur, v.since = phase, time.Now()
	fmt.Fprintf(v.w, "%s: %s (%s elapsed)\n", v.label, phase, time.Since(v.start).Round(time.Second))
}

// end stops the ticker and says how long the phases took.
func (v *phaseView) end() {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	v.closed, v.cur = true, ""
	v.mu.Unlock()
	close(v.stop)
	<-v.done
	fmt.Fprintf(v.w, "%s: analysis and report took %s\n", v.label, time.Since(v.start).Round(time.Second))
}
