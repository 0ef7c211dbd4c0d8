package store_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"emlab/internal/rundir"
	"emlab/internal/stats"
	"emlab/internal/store"
)

// writerEnv makes the test binary a second writer process: it indexes the
// run directories named in the environment into the index and exits.
const writerEnv = "EMLAB_STORE_TEST_WRITER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(writerEnv); spec != "" {
		// spec: db|root|dir1,dir2,...
		parts := strings.SplitN(spec, "|", 3)
		db, err := store.Open(parts[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, d := range strings.Split(parts[2], ",") {
			if err := db.IndexRun(context.Background(), parts[1], d); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		db.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeRun writes a run directory as emlab train and emlab eval would: steps
// 0..last every `every`, two eval metrics per checkpoint step.
func fakeRun(t *testing.T, dir string, params, seed, last, every int, value func(step int) float64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const tps, fpt = 256, 6e4
	cfg := fmt.Sprintf(`{"model":{"arch":"gpt","d_model":16,"n_layers":1,"n_heads":2,"d_vocab":32},
		"data":{"source":"synthetic"},"train":{"steps":%d},"params":%d,"non_embedding_params":%d,"seed":%d,
		"flops_per_token":%g,"tokens_per_step":%d,"code_version":"test"}`, last, params, params-100, seed, float64(fpt), tps)
	var metrics, evals bytes.Buffer
	for s := 0; s <= last; s += every {
		tok := s * tps
		fmt.Fprintf(&metrics, `{"step":%d,"tokens":%d,"flops":%g,"loss":%g,"eval_loss":%g,"lr":0.001,"grad_norm":1,"seconds":%d}`+"\n",
			s, tok, float64(tok)*fpt, 3-float64(s)/1000, 3.1-float64(s)/1000, s)
		fmt.Fprintf(&evals, `{"step":%d,"task":"add","metric":"exact_match","value":%g,"stderr":0.01,"n":200,"chance":0.01}`+"\n", s, value(s))
		fmt.Fprintf(&evals, `{"step":%d,"task":"add","metric":"logprob","value":%g,"stderr":0.05,"n":200}`+"\n", s, -2+value(s))
	}
	evals.WriteString(`{"step":99,"task":"add","met`) // a partial last line, as a crash mid-append leaves
	for name, b := range map[string][]byte{rundir.ConfigFile: []byte(cfg), rundir.MetricsFile: metrics.Bytes(),
		rundir.EvalsFile: evals.Bytes(), rundir.DoneFile: []byte("test\n"),
		rundir.ProbesFile: []byte(`{"step":0,"probe":"induction","layer":0,"head":1,"value":0.1}` + "\n" + `{"step":0,"probe":"rank","value":3}` + "\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func open(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestIndexIdempotentAndSync(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		fakeRun(t, filepath.Join(root, fmt.Sprintf("r%d", i)), 1000*(i+1), 1, 40, 10, func(s int) float64 { return float64(s) / 100 })
	}
	os.MkdirAll(filepath.Join(root, ".slurm", "hidden"), 0o755) // not a run, not descended
	db := open(t, filepath.Join(root, store.IndexFile))
	want := map[string]int{"runs": 3, "metrics": 15, "evals": 30, "probes": 6}
	for i := 0; i < 2; i++ { // indexing twice must not duplicate a row
		st, err := db.Sync(ctx, root)
		if err != nil || len(st.Errors) > 0 {
			t.Fatal(err, st.Errors)
		}
		n, _ := db.Counts()
		if fmt.Sprint(n) != fmt.Sprint(want) {
			t.Errorf("pass %d: counts %v, want %v", i, n, want)
		}
		if i == 1 && (st.Unchanged != 3 || st.Indexed != 0) {
			t.Errorf("second sync reindexed unchanged runs: %+v", st)
		}
	}
	// Explicit reindex of one run also keeps one row per key.
	if err := db.IndexRun(ctx, root, filepath.Join(root, "r1")); err != nil {
		t.Fatal(err)
	}
	// A changed run is reindexed, a removed one dropped.
	fakeRun(t, filepath.Join(root, "r0"), 1000, 1, 80, 10, func(s int) float64 { return 0.5 })
	os.RemoveAll(filepath.Join(root, "r2"))
	st, err := db.Sync(ctx, root)
	if err != nil || st.Indexed != 1 || st.Removed != 1 {
		t.Fatalf("sync after changes: %+v %v", st, err)
	}
	n, _ := db.Counts()
	if n["runs"] != 2 || n["metrics"] != 9+5 {
		t.Errorf("after changes: %v", n)
	}
	var layer, head int
	if err := db.SQL().QueryRow(`SELECT layer, head FROM probes WHERE run_id='r1' AND probe='rank'`).Scan(&layer, &head); err != nil || layer != -1 || head != -1 {
		t.Errorf("whole-model probe stored as layer %d head %d (%v), want -1 -1", layer, head, err)
	}
	// Rebuild gives the same rows.
	if _, err := db.Rebuild(ctx, root); err != nil {
		t.Fatal(err)
	}
	if m, _ := db.Counts(); fmt.Sprint(m) != fmt.Sprint(n) {
		t.Errorf("rebuild %v, sync %v", m, n)
	}
}

func TestIndexBadFiles(t *testing.T) {
	root := t.TempDir()
	fakeRun(t, filepath.Join(root, "good"), 1000, 1, 20, 10, func(int) float64 { return 0 })
	fakeRun(t, filepath.Join(root, "bad"), 1000, 1, 20, 10, func(int) float64 { return 0 })
	// A malformed line that is not the last is an error naming file and line.
	os.WriteFile(filepath.Join(root, "bad", rundir.EvalsFile), []byte("{broken\n{\"step\":1,\"task\":\"a\",\"metric\":\"m\",\"value\":1}\n"), 0o644)
	db := open(t, filepath.Join(t.TempDir(), "i.db"))
	st, err := db.Sync(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if st.Indexed != 1 || len(st.Errors) != 1 || !strings.Contains(st.Errors[0].Error(), rundir.EvalsFile+":1") {
		t.Errorf("sync %+v", st)
	}
}

// Two processes and several goroutines writing one index at once lose
// nothing: WAL, IMMEDIATE transactions, busy timeout and retries.
func TestConcurrentWriters(t *testing.T) {
	root := t.TempDir()
	const perWriter = 12
	var dirs [4][]string
	for w := range dirs {
		for i := 0; i < perWriter; i++ {
			d := filepath.Join(root, fmt.Sprintf("w%d-r%02d", w, i))
			fakeRun(t, d, 1000+i, w, 100, 5, func(s int) float64 { return float64(s) })
			dirs[w] = append(dirs[w], d)
		}
	}
	dbPath := filepath.Join(root, store.IndexFile)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	// Writers 0 and 1: separate processes (each opens the file itself,
	// possibly creating it at the same moment).
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), writerEnv+"="+dbPath+"|"+root+"|"+strings.Join(dirs[w], ","))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("writer process %d: %v: %s", w, err, out)
			}
		}()
	}
	// Writers 2 and 3: goroutines of this process with their own handles.
	for w := 2; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := store.Open(dbPath)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			for _, d := range dirs[w] {
				if err := db.IndexRun(context.Background(), root, d); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	db := open(t, dbPath)
	n, err := db.Counts()
	if err != nil {
		t.Fatal(err)
	}
	runs := 4 * perWriter
	want := map[string]int{"runs": runs, "metrics": runs * 21, "evals": runs * 42, "probes": runs * 2}
	if fmt.Sprint(n) != fmt.Sprint(want) {
		t.Errorf("counts %v, want %v", n, want)
	}
}

func readCSV(t *testing.T, b []byte) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func TestExport(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	fakeRun(t, filepath.Join(root, "small"), 1000, 1, 40, 10, func(s int) float64 { return 0.01 })
	fakeRun(t, filepath.Join(root, "big"), 5000, 1, 40, 10, func(s int) float64 { return float64(s) / 40 })
	db := open(t, filepath.Join(root, store.IndexFile))
	if _, err := db.Sync(ctx, root); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	st, err := db.Export(ctx, &buf, store.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	head := strings.SplitN(buf.String(), "\n", 2)[0]
	if !strings.HasPrefix(head, "task,metric,x,value,seed,n,chance,low,high,group") {
		t.Errorf("header %q", head)
	}
	rows := readCSV(t, buf.Bytes())
	// params axis: each run's final evaluated step only, 2 metrics × 2 runs.
	if st.Rows != 4 || len(rows) != 4 {
		t.Fatalf("%d rows (%+v), want 4", len(rows), st)
	}
	for _, r := range rows {
		if r["step"] != "40" || r["x_axis"] != "params" || r["x"] != r["params"] {
			t.Errorf("row %v", r)
		}
		if r["task"] == "add" && r["metric"] == "exact_match" && r["run"] == "big" {
			v, _ := strconv.ParseFloat(r["value"], 64)
			lo, _ := strconv.ParseFloat(r["low"], 64)
			hi, _ := strconv.ParseFloat(r["high"], 64)
			// analyze recovers stderr = (high − low)/(2·1.959964) = 0.01.
			if v != 1 || math.Abs((hi-lo)/(2*1.959964)-0.01) > 1e-12 || r["chance"] != "0.01" || r["n"] != "200" {
				t.Errorf("big exact_match row %v", r)
			}
		}
	}
	// step axis: every evaluated step except step 0 (x ≤ 0 cannot be on a
	// log axis), as analyze --runs does.
	buf.Reset()
	st, err = db.Export(ctx, &buf, store.ExportOptions{X: "flops", Loss: true})
	if err != nil {
		t.Fatal(err)
	}
	rows = readCSV(t, buf.Bytes())
	if st.DroppedNonPositive != 2*3 || len(rows) != 2*3*4 {
		t.Errorf("flops axis: %d rows, %d dropped; want 24 and 6", len(rows), st.DroppedNonPositive)
	}
	for _, r := range rows {
		step, _ := strconv.Atoi(r["step"])
		if want := strconv.FormatFloat(float64(step*256)*6e4, 'g', -1, 64); r["x"] != want {
			t.Errorf("flops x %s at step %d, want %s", r["x"], step, want)
		}
	}
	if _, err := db.Export(ctx, &buf, store.ExportOptions{X: "paramz"}); err == nil || !strings.Contains(err.Error(), "params") {
		t.Errorf("unknown axis error %v", err)
	}
	buf.Reset()
	n, err := db.ExportScaling(ctx, &buf, "")
	if err != nil || n != 2 || !strings.HasPrefix(buf.String(), "params,tokens,loss") {
		t.Errorf("scaling export: %d rows, %v:\n%s", n, err, buf.String())
	}
}

// The export is what `emlab analyze --csv` reads: its reader accepts it
// and finds one curve per (task, metric) with the stderr recovered from
// low/high.
func TestExportReadByAnalyze(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	for i, p := range []int{1000, 3000, 9000} {
		for seed := 1; seed <= 2; seed++ {
			fakeRun(t, filepath.Join(root, fmt.Sprintf("p%d-s%d", i, seed)), p, seed, 40, 10, func(s int) float64 { return float64(i) / 3 })
		}
	}
	db := open(t, filepath.Join(root, store.IndexFile))
	if _, err := db.Sync(ctx, root); err != nil {
		t.Fatal(err)
	}
	for _, axis := range store.Axes {
		var buf bytes.Buffer
		if _, err := db.Export(ctx, &buf, store.ExportOptions{X: axis}); err != nil {
			t.Fatal(err)
		}
		curves, err := stats.ReadCurvesCSV(&buf, axis)
		if err != nil {
			t.Errorf("x=%s: analyze cannot read the export: %v", axis, err)
			continue
		}
		if len(curves) != 2 {
			t.Errorf("x=%s: %d curves, want 2 (exact_match, logprob)", axis, len(curves))
			continue
		}
		if p := curves[0].Points[0]; math.Abs(p.Stderr-0.01) > 1e-9 && math.Abs(p.Stderr-0.05) > 1e-9 {
			t.Errorf("x=%s: stderr %g not recovered", axis, p.Stderr)
		}
	}
}

// TestIndexKeepsBreakdown: every line of evals.jsonl and probes.jsonl is
// a row — the per-position and per-subtask lines beside the aggregate of
// the same task and metric, and a probe's series by index — and the tidy
// export leaves the breakdown out (as analyze --runs does) unless asked,
// with the chance rate only where it applies.
func TestIndexKeepsBreakdown(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "r")
	fakeRun(t, dir, 1000, 1, 10, 10, func(int) float64 { return 0.5 })
	var evals []rundir.Eval
	var probes []rundir.Probe
	ip := func(i int) *int { return &i }
	for _, step := range []int{0, 10} {
		evals = append(evals, rundir.Eval{Step: step, Task: "parity", Metric: rundir.ExactMatch, Value: 0.6, N: 30, Chance: 0.5},
			rundir.Eval{Step: step, Task: "parity", Metric: rundir.TokenAccuracy, Value: 0.7, N: 30, Chance: 0.5})
		for sub := 0; sub < 3; sub++ {
			evals = append(evals, rundir.Eval{Step: step, Task: "parity", Metric: rundir.ExactMatch, Value: 0.1 * float64(sub), N: 10, Chance: 0.5, Subtask: ip(sub)})
		}
		for pos := 0; pos < 4; pos++ {
			evals = append(evals, rundir.Eval{Step: step, Task: "copy", Metric: rundir.PerPositionLoss, Value: float64(pos), N: 10, Chance: 0, Position: ip(pos)})
		}
		for i := 0; i < 5; i++ {
			probes = append(probes, rundir.Probe{Step: step, Probe: rundir.ProbeICLLoss, Layer: -1, Head: -1, Index: ip(i), Value: float64(i)})
		}
		for _, v := range []string{"carry/0", "carry/1"} {
			probes = append(probes, rundir.Probe{Step: step, Probe: rundir.ProbeLinear, Layer: 0, Head: -1, Task: "add", Var: v, Value: 0.9})
		}
	}
	if err := os.Remove(filepath.Join(dir, rundir.EvalsFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, rundir.ProbesFile)); err != nil {
		t.Fatal(err)
	}
	if err := rundir.MergeEvals(dir, evals); err != nil {
		t.Fatal(err)
	}
	if err := rundir.MergeProbes(dir, probes); err != nil {
		t.Fatal(err)
	}
	db := open(t, filepath.Join(root, store.IndexFile))
	if _, err := db.Sync(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	n, err := db.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if n["evals"] != len(evals) || n["probes"] != len(probes) {
		t.Fatalf("index holds %d evals and %d probes, the files %d and %d", n["evals"], n["probes"], len(evals), len(probes))
	}
	var positions int
	if err := db.SQL().QueryRow(`SELECT COUNT(DISTINCT position) FROM evals WHERE metric = ?`, rundir.PerPositionLoss).Scan(&positions); err != nil || positions != 4 {
		t.Errorf("%d positions kept (%v), want 4", positions, err)
	}
	var agg float64
	if err := db.SQL().QueryRow(`SELECT value FROM evals WHERE task='parity' AND metric=? AND step=10 AND subtask<0`, rundir.ExactMatch).Scan(&agg); err != nil || agg != 0.6 {
		t.Errorf("the aggregate line beside the subtask lines: %v %v", agg, err)
	}
	for _, c := range []struct {
		breakdown bool
		rows      int
	}{{false, 2}, {true, 2 + 3 + 4}} { // at the final step: parity's two aggregates, then its subtasks and copy's positions
		var buf bytes.Buffer
		if _, err := db.Export(context.Background(), &buf, store.ExportOptions{Breakdown: c.breakdown}); err != nil {
			t.Fatal(err)
		}
		rows := readCSV(t, buf.Bytes())
		if len(rows) != c.rows {
			t.Errorf("breakdown %v: %d rows, want %d", c.breakdown, len(rows), c.rows)
		}
		for _, r := range rows {
			if (r["chance"] != "") != rundir.IsSharp(r["metric"]) {
				t.Errorf("chance %q on %s", r["chance"], r["metric"])
			}
			if !c.breakdown && (r["position"] != "" || r["subtask"] != "") {
				t.Errorf("a breakdown row in the default export: %v", r)
			}
		}
	}
}
