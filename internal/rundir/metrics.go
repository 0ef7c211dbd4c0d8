package rundir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"sort"

	"emlab/internal/atomicfile"
)

// Metrics is one line of metrics.jsonl: the state of training after Step
// optimizer steps. Loss is NaN at step 0 (no step taken) and EvalLoss NaN
// where the held-out loss was not measured (it is, at every checkpoint
// step); both are left out of the line when NaN. Tokens and FLOPs count
// training so far; Seconds is training time across resumptions.
type Metrics struct {
	Step     int
	Tokens   float64 // a count; a float so that files written by other tools in exponent form read
	FLOPs    float64
	Loss     float64
	EvalLoss float64
	LR       float64
	GradNorm float64
	Seconds  float64
}

// metricsJSON is the wire form; its field order is the file's.
type metricsJSON struct {
	Step     *int     `json:"step"`
	Tokens   float64  `json:"tokens"`
	FLOPs    float64  `json:"flops"`
	Loss     *float64 `json:"loss,omitempty"`
	EvalLoss *float64 `json:"eval_loss,omitempty"`
	LR       float64  `json:"lr"`
	GradNorm float64  `json:"grad_norm"`
	Seconds  float64  `json:"seconds"`
}

func present(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes the line, leaving out a NaN Loss or EvalLoss.
func (m Metrics) MarshalJSON() ([]byte, error) {
	s := m.Step
	return json.Marshal(metricsJSON{&s, m.Tokens, m.FLOPs, present(m.Loss), present(m.EvalLoss), m.LR, m.GradNorm, m.Seconds})
}

// UnmarshalJSON reads a line; "step" is required.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var j metricsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Step == nil {
		return errors.New(`missing "step"`)
	}
	*m = Metrics{*j.Step, j.Tokens, j.FLOPs, orNaN(j.Loss), orNaN(j.EvalLoss), j.LR, j.GradNorm, j.Seconds}
	return nil
}

// ReadMetrics reads dir's metrics.jsonl (none when it is missing), one
// line per step in step order: a resumed run may have logged a step twice,
// and the last line written wins.
func ReadMetrics(dir string) ([]Metrics, error) {
	ms, _, err := readMetrics(os.DirFS(dir), Path(dir, MetricsFile))
	return ms, err
}

func readMetrics(fsys fs.FS, label string) ([]Metrics, []string, error) {
	lines, _, skipped, err := readLines[Metrics](fsys, MetricsFile, label, nil)
	if err != nil {
		return nil, nil, err
	}
	last := map[int]int{}
	for i, m := range lines {
		last[m.Step] = i
	}
	out := make([]Metrics, 0, len(last))
	for i, m := range lines {
		if last[m.Step] == i {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out, skipped, nil
}

// LastMetrics returns the last line of dir's metrics.jsonl that decodes,
// reading only the file's end, so that watching many runs stays cheap; ok
// is false when there is none.
func LastMetrics(dir string) (m Metrics, ok bool) {
	f, err := os.Open(Path(dir, MetricsFile))
	if err != nil {
		return Metrics{}, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return Metrics{}, false
	}
	const tail = 4096 // a few lines of a few hundred bytes
	off := max(st.Size()-tail, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return Metrics{}, false
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte{'\n'})
	for i := len(lines) - 1; i >= 0; i-- {
		if json.Unmarshal(lines[i], &m) == nil {
			return m, true
		}
	}
	return Metrics{}, false
}

// AppendMetrics appends one line to dir's metrics.jsonl and fsyncs it.
func AppendMetrics(dir string, m Metrics) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("%s: step %d: %w", Path(dir, MetricsFile), m.Step, err)
	}
	return atomicfile.AppendLine(Path(dir, MetricsFile), b)
}

// RewriteMetrics replaces dir's metrics.jsonl with ms, atomically (a
// resumed run drops the lines logged after its checkpoint).
func RewriteMetrics(dir string, ms []Metrics) error {
	var buf []byte
	for _, m := range ms {
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("%s: step %d: %w", Path(dir, MetricsFile), m.Step, err)
		}
		buf = append(append(buf, b...), '\n')
	}
	return atomicfile.WriteBytes(Path(dir, MetricsFile), buf)
}

// LastEvalLoss is the held-out loss of the last step that measured one,
// NaN when none did.
func LastEvalLoss(ms []Metrics) float64 {
	for i := len(ms) - 1; i >= 0; i-- {
		if !math.IsNaN(ms[i].EvalLoss) {
			return ms[i].EvalLoss
		}
	}
	return math.NaN()
}
