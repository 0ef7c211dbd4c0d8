package cli

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

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
			humanRate(s.TokensPerSec), s.ETA.Round(time.Second))
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
	fmt.Fprintf(p.w, "%s lr %.2e grad_norm %.3f %s tok/s ETA %s\n", line, s.LR, s.GradNorm, humanRate(s.TokensPerSec), s.ETA.Round(time.Second))
}

func (p *progress) Event(msg string) {
	if p.live {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.w, "%s %s\n", p.label, msg)
}

func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fK", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
