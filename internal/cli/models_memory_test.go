package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// heapPeak samples the heap every millisecond while fn runs and returns
// its largest value above the heap before fn. The collector runs at
// GOGC=10 meanwhile, so garbage not yet collected stays within a tenth of
// the live heap and the peak measures what is held.
func heapPeak(fn func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(s); return s[0].Value.Uint64() }
	base := read()
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				mu.Lock()
				peak = max(peak, read())
				mu.Unlock()
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	peak = max(peak, read())
	if peak < base {
		return 0
	}
	return peak - base
}

// TestStepFolderOneModelAtATime: evaluating and probing a folder of six
// checkpoints holds one model: the heap's peak above its level before is
// that of the same command on one checkpoint alone, within a fraction of
// one model's weights (six models would add five).
func TestStepFolderOneModelAtATime(t *testing.T) {
	root := t.TempDir()
	traj := filepath.Join(root, "traj")
	var weights int64
	for i := range 6 {
		weights = neoxModel(t, filepath.Join(traj, fmt.Sprintf("step%d", i*100)), uint64(i),
			map[string]any{"hidden_size": 256, "num_attention_heads": 4, "num_hidden_layers": 4, "intermediate_size": 1024})
	}
	for _, args := range [][]string{
		{"eval", "--tasks", "add(digits=1)", "--n", "8", "--quiet"},
		{"probe", "--tasks", "add(digits=1)", "--probes", "prefix_matching,weight_norm", "--batch", "4", "--len", "32", "--quiet"},
	} {
		peak := func(run ...string) uint64 {
			t.Helper()
			var code int
			p := heapPeak(func() {
				code = Main(context.Background(), append(append([]string{args[0]}, run...), args[1:]...), io.Discard, io.Discard)
			})
			if code != 0 {
				t.Fatalf("emlab %s %v: exit %d", args[0], run, code)
			}
			return p
		}
		one := peak("--run", filepath.Join(traj, "step0"), "--out", filepath.Join(root, "one-"+args[0]))
		six := peak("--run", traj, "--all")
		t.Logf("emlab %s, checkpoints of %.1f MB: heap peak %.1f MB on one, %.1f MB on six", args[0], float64(weights)/1e6, float64(one)/1e6, float64(six)/1e6)
		if float64(six) > float64(one)+0.5*float64(weights) {
			t.Errorf("emlab %s: heap peak %.1f MB on six checkpoints, %.1f MB on one: more than one model held", args[0], float64(six)/1e6, float64(one)/1e6)
		}
	}
}

// TestStepFolderPeakRSS measures the peak resident memory of emlab eval
// on a folder of six GPT-2-small-shaped checkpoints (85M parameters, 340
// MB of float32 weights each) against one checkpoint alone: the figure
// docs/models.md records. It writes 2 GB and runs for minutes, so it runs
// only with EMLAB_LONG_TESTS=1.
func TestStepFolderPeakRSS(t *testing.T) {
	if os.Getenv("EMLAB_LONG_TESTS") == "" {
		t.Skip("writes 2 GB of checkpoints and evaluates them (minutes); set EMLAB_LONG_TESTS=1")
	}
	root := t.TempDir()
	bin := filepath.Join(root, "emlab")
	if out, err := exec.Command("go", "build", "-o", bin, "emlab/cmd/emlab").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	traj := filepath.Join(root, "gpt2-small-shape")
	var weights int64
	for i := range 6 {
		weights = neoxModel(t, filepath.Join(traj, fmt.Sprintf("step%d", i*1000)), uint64(i),
			map[string]any{"hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 12, "intermediate_size": 3072})
		runtime.GC()
	}
	// The peak is read by /usr/bin/time: a child's own rusage would carry
	// this test process's high-water mark (the checkpoints it wrote),
	// which Linux hands on through fork and exec.
	timeBin, err := exec.LookPath("/usr/bin/time")
	if err != nil {
		t.Skip("needs /usr/bin/time (Debian package time) to read the peak RSS of emlab alone")
	}
	rss := func(args ...string) (float64, time.Duration) {
		t.Helper()
		out := filepath.Join(root, "rss.txt")
		cmd := exec.Command(timeBin, append([]string{"-f", "%M", "-o", out, bin}, args...)...)
		began := time.Now()
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("emlab %v: %v\n%s", args, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil {
			t.Fatalf("/usr/bin/time wrote %q", b)
		}
		return kb * 1024, time.Since(began)
	}
	one, d1 := rss("eval", "--run", filepath.Join(traj, "step0"), "--out", filepath.Join(root, "one"), "--tasks", "add(digits=1)", "--n", "20", "--quiet")
	all, d6 := rss("eval", "--run", traj, "--all", "--tasks", "add(digits=1)", "--n", "20", "--quiet")
	t.Logf("weights %.0f MB per checkpoint; peak RSS: one checkpoint %.0f MB (%s), six checkpoints %.0f MB (%s)",
		float64(weights)/1e6, one/1e6, d1.Round(time.Second), all/1e6, d6.Round(time.Second))
	if all > 1.25*one || one > 1.5*float64(weights) {
		t.Errorf("six checkpoints peak at %.0f MB, one at %.0f MB, for weights of %.0f MB: more than one model held", all/1e6, one/1e6, float64(weights)/1e6)
	}
}
