package rundir

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReliabilityLongLines: lines of any length up to MaxLine are read
// (a reader built on bufio.Scanner stopped at its buffer, 64 KiB or 1 MiB,
// and failed the whole file); a longer one is skipped, listed with its
// number and length, without failing the run; the lines around it, blank
// lines and a last line without its newline that is JSON are read.
func TestReliabilityLongLines(t *testing.T) {
	if testing.Short() {
		t.Skip("writes lines of 16 MiB; skipped with -short")
	}
	metric := func(step int, pad int) string {
		return fmt.Sprintf(`{"step":%d,"tokens":1,"flops":1,"loss":2,"lr":0.001,"grad_norm":1,"seconds":1,"pad":"%s"}`, step, strings.Repeat("x", pad))
	}
	long := metric(2, 2<<20)                     // 2 MiB: past any scanner buffer, well within MaxLine
	edge := metric(4, MaxLine-len(metric(4, 0))) // exactly MaxLine bytes
	huge := metric(3, MaxLine)                   // past MaxLine
	if len(edge) != MaxLine {
		t.Fatalf("edge line is %d bytes", len(edge))
	}
	text := metric(1, 0) + "\n\n" + long + "\n" + huge + "\n" + edge + "\n" + metric(5, 0)
	dir := t.TempDir()
	write(t, dir, MetricsFile, text)
	r, err := ReadRun(dir, "r")
	if err != nil {
		t.Fatalf("ReadRun: %v", err)
	}
	var steps []int
	for _, m := range r.Metrics {
		steps = append(steps, m.Step)
	}
	if fmt.Sprint(steps) != "[1 2 4 5]" {
		t.Errorf("steps read %v, want [1 2 4 5]", steps)
	}
	want := fmt.Sprintf("%s:4: a line of %d bytes", Path(dir, MetricsFile), len(huge)+1)
	if len(r.Skipped) != 1 || !strings.HasPrefix(r.Skipped[0], want) {
		t.Errorf("skipped %q, want one line starting %q", r.Skipped, want)
	}
	// ReadMetrics (training's resume, the sweep's watcher) follows the
	// same rule.
	ms, err := ReadMetrics(dir)
	if err != nil || len(ms) != 4 {
		t.Errorf("ReadMetrics: %d lines, %v", len(ms), err)
	}
	// A merge reads the same way: a long line of evals.jsonl does not stop
	// another step's merge.
	ev := func(step int, pad int) string {
		return fmt.Sprintf(`{"step":%d,"task":"a","metric":"exact_match","value":0.5,"note":"%s"}`, step, strings.Repeat("y", pad))
	}
	write(t, dir, EvalsFile, ev(1, 2<<20)+"\n"+ev(2, MaxLine)+"\n")
	if err := MergeEvals(dir, []Eval{{Step: 3, Task: "a", Metric: "exact_match", Value: 1}}); err != nil {
		t.Fatalf("MergeEvals past a long line: %v", err)
	}
	es, err := ReadEvals(dir)
	if err != nil || len(es) != 2 || es[0].Step != 1 || es[1].Step != 3 {
		t.Errorf("evals after the merge: %+v, %v", es, err)
	}
}

// TestReliabilityNoBlockingOpen: a FIFO in place of any file of a run is
// an error for that run, never a reader blocked for ever, read directly,
// through an os.Root, and through SubFS below a root or fs.Sub (whose file
// systems have no Stat, so fs.Stat would open the FIFO to learn its type).
func TestReliabilityNoBlockingOpen(t *testing.T) {
	for _, name := range []string{ConfigFile, MetricsFile, EvalsFile, ProbesFile, SweepStatusFile, SweepSpecFile, DoneFile} {
		root := t.TempDir()
		run := filepath.Join(root, "run")
		write(t, run, MetricsFile, `{"step":0,"tokens":0,"flops":0,"lr":0.001,"grad_norm":0,"seconds":0}`+"\n")
		os.Remove(filepath.Join(run, name))
		if err := syscall.Mkfifo(filepath.Join(run, name), 0o644); err != nil {
			t.Fatal(err)
		}
		rt, err := os.OpenRoot(root)
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		sub, err := SubFS(rt.FS(), "run")
		if err != nil {
			t.Fatal(err)
		}
		plain, err := fs.Sub(rt.FS(), "run")
		if err != nil {
			t.Fatal(err)
		}
		readers := map[string]func() error{
			"ReadRun":        func() error { _, err := ReadRun(run, "run"); return err },
			"SubFS":          func() error { _, err := ReadRunFS(sub, "run"); return err },
			"fs.Sub":         func() error { _, err := ReadRunFS(plain, "run"); return err },
			"FindRunsFS":     func() error { _, err := FindRunsFS(rt.FS()); return err },
			"MergeEvals":     func() error { return MergeEvals(run, []Eval{{Step: 1, Task: "a", Metric: "m", Value: 1}}) },
			"ReadMetrics":    func() error { _, err := ReadMetrics(run); return err },
			"ReadConfigJSON": func() error { _, err := ReadConfigJSON(run); return err },
		}
		for what, read := range readers {
			t.Run(name+"/"+what, func(t *testing.T) {
				done := make(chan error, 1)
				go func() { done <- read() }()
				select {
				case err := <-done:
					if err != nil && !strings.Contains(err.Error(), "not a regular file") && !strings.Contains(err.Error(), "not a run directory") {
						t.Errorf("error %v does not say what is wrong", err)
					}
				case <-time.After(10 * time.Second):
					// Unblock the reader so the test binary can end.
					if f, err := os.OpenFile(filepath.Join(run, name), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
						f.Close()
					}
					t.Fatalf("still blocked after 10 s")
				}
			})
		}
	}
}

// TestReliabilityInvalidUTF8: a line of a run's .jsonl files holding a
// byte sequence that is not UTF-8 is damage, named by file and line; it
// was decoded with U+FFFD in place of the bytes, so analyze, the report
// and merges carried a task renamed without a word.
func TestReliabilityInvalidUTF8(t *testing.T) {
	const bad = "add/pl\xffain/1"
	cases := []struct {
		file, line string
		read       func(dir string) error
		inRun      bool // ReadRun reads the file
	}{
		{EvalsFile, `{"step":1,"task":"` + bad + `","metric":"exact_match","value":0.5}`,
			func(dir string) error { _, err := ReadEvals(dir); return err }, true},
		{ProbesFile, `{"step":1,"probe":"` + bad + `","metric":"acc","value":0.5}`,
			func(dir string) error { _, err := ReadProbes(dir); return err }, true},
		{SamplesFile, `{"step":1,"task":"` + bad + `","item":"a","prompt":"1+1=","target":"2","generated":"2","scores":{}}`,
			func(dir string) error { _, err := ReadSamples(dir); return err }, false},
		{MetricsFile, `{"step":1,"tokens":1,"flops":1,"loss":2,"lr":0.001,"grad_norm":1,"seconds":1,"note":"` + bad + `"}`,
			func(dir string) error { _, err := ReadMetrics(dir); return err }, true},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, c.file, c.line+"\n")
			want := c.file + ":1: not valid UTF-8"
			if err := c.read(dir); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("read: err = %v, want one containing %q", err, want)
			}
			if _, err := ReadRun(dir, "r"); c.inRun && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Errorf("ReadRun: err = %v, want one containing %q", err, want)
			}
		})
	}
}
