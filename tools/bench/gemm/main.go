// Command gemm times emlab's tensor.Gemm against OpenBLAS's cblas_sgemm on
// the matrix products of one training step of each preset, and prints a
// markdown table of GFLOP/s side by side with the ratio emlab/OpenBLAS, for
// one and two threads. Run it through run.sh, which builds the C harness.
//
// Both sides are timed the same way: the best single call over repeated
// calls, in several interleaved rounds, keeping the best round, so that load
// from other processes on a shared machine penalises neither side more.
//
// usage: go run ./tools/bench/gemm -openblas PATH [-rounds 3] [-time 0.2s]
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"emlab/internal/tensor"
)

// shape is one row-major product C (m, n) = op(A)·op(B) with op(A) (m, k).
type shape struct {
	name           string
	transA, transB bool
	m, n, k        int
	lda, ldb, ldc  int
	beta           float32
}

// shapes lists the products of one training step per preset (M = B·T), the
// same list as BenchmarkGemm in internal/tensor. Attention shapes are one
// head's, with the strides of a (T, 3d) QKV buffer.
func shapes() []shape {
	var out []shape
	for _, p := range []struct {
		name          string
		m, d, v, t, h int
	}{{"tiny", 2048, 64, 128, 64, 16}, {"small", 4096, 128, 512, 128, 32}, {"medium", 4096, 256, 2048, 256, 32}} {
		m, d := p.m, p.d
		out = append(out,
			shape{p.name + "/qkv", false, false, m, 3 * d, d, d, 3 * d, 3 * d, 0},
			shape{p.name + "/fc1", false, false, m, 4 * d, d, d, 4 * d, 4 * d, 0},
			shape{p.name + "/fc2", false, false, m, d, 4 * d, 4 * d, d, d, 0},
			shape{p.name + "/lmhead", false, true, m, p.v, d, d, d, p.v, 0},
			shape{p.name + "/fc1.dX", false, true, m, d, 4 * d, 4 * d, 4 * d, d, 0},
			shape{p.name + "/fc1.dW", true, false, d, 4 * d, m, d, 4 * d, 4 * d, 1},
			shape{p.name + "/att.QK", false, true, p.t, p.t, p.h, 3 * d, 3 * d, p.t, 0},
			shape{p.name + "/att.AV", false, false, p.t, p.h, p.t, p.t, 3 * d, p.h, 0},
		)
	}
	return out
}

func (s shape) flops() float64 { return 2 * float64(s.m) * float64(s.n) * float64(s.k) }

// emlabGFLOPS returns the best single-call rate of tensor.Gemm over about d.
func emlabGFLOPS(s shape, d time.Duration) float64 {
	rng := rand.New(rand.NewPCG(1, 1))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = rng.Float32() - 0.5
		}
		return x
	}
	ar, br := s.m, s.k
	if s.transA {
		ar = s.k
	}
	if s.transB {
		br = s.n
	}
	a, b, c := fill(ar*s.lda), fill(br*s.ldb), make([]float32, s.m*s.ldc)
	best := time.Duration(1 << 62)
	start := time.Now()
	for reps := 0; reps < 3 || time.Since(start) < d; reps++ {
		t0 := time.Now()
		tensor.Gemm(s.transA, s.transB, s.m, s.n, s.k, a, s.lda, b, s.ldb, s.beta, c, s.ldc)
		best = min(best, time.Since(t0))
	}
	return s.flops() / best.Seconds() / 1e9
}

// openblasGFLOPS runs the C harness once over all shapes with the given
// thread count and returns the rate per shape name.
func openblasGFLOPS(bin string, threads int, list []shape, d time.Duration) (map[string]float64, error) {
	var in bytes.Buffer
	for _, s := range list {
		fmt.Fprintf(&in, "%s %d %d %d %d %d %d %d %d %g\n", s.name, b2i(s.transA), b2i(s.transB), s.m, s.n, s.k, s.lda, s.ldb, s.ldc, s.beta)
	}
	cmd := exec.Command(bin, strconv.FormatFloat(d.Seconds(), 'f', 3, 64))
	cmd.Stdin = &in
	// OpenBLAS at its best setting on this machine, for this command only.
	cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS="+strconv.Itoa(threads), "OPENBLAS_CORETYPE=SkylakeX")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	res := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("parse %q from %s: %w", sc.Text(), bin, err)
		}
		res[f[0]] = v
	}
	if len(res) != len(list) {
		return nil, fmt.Errorf("%s reported %d of %d shapes", bin, len(res), len(list))
	}
	return res, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func run() error {
	bin := flag.String("openblas", "", "path to the compiled sgemm_openblas harness")
	rounds := flag.Int("rounds", 3, "interleaved rounds; the best of each side is kept")
	per := flag.Duration("time", 200*time.Millisecond, "time per shape per measurement")
	only := flag.String("only", "", "only shapes whose name contains this")
	flag.Parse()
	if *bin == "" {
		return fmt.Errorf("-openblas is required (run tools/bench/gemm/run.sh)")
	}
	var list []shape
	for _, s := range shapes() {
		if strings.Contains(s.name, *only) {
			list = append(list, s)
		}
	}
	type key struct {
		name    string
		threads int
	}
	em, ob := map[key]float64{}, map[key]float64{}
	for r := 0; r < *rounds; r++ {
		for _, th := range []int{1, 2} {
			tensor.SetThreads(th)
			for _, s := range list {
				em[key{s.name, th}] = max(em[key{s.name, th}], emlabGFLOPS(s, *per))
			}
			res, err := openblasGFLOPS(*bin, th, list, *per)
			if err != nil {
				return err
			}
			for n, v := range res {
				ob[key{n, th}] = max(ob[key{n, th}], v)
			}
		}
	}
	fmt.Println("| shape | m×n×k | emlab 1T | OpenBLAS 1T | ratio | emlab 2T | OpenBLAS 2T | ratio |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|")
	var r1, r2, n float64
	for _, s := range list {
		e1, o1 := em[key{s.name, 1}], ob[key{s.name, 1}]
		e2, o2 := em[key{s.name, 2}], ob[key{s.name, 2}]
		fmt.Printf("| %s | %d×%d×%d | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f |\n", s.name, s.m, s.n, s.k, e1, o1, e1/o1, e2, o2, e2/o2)
		r1 += e1 / o1
		r2 += e2 / o2
		n++
	}
	fmt.Printf("\nmean ratio emlab/OpenBLAS: %.2f (1 thread), %.2f (2 threads)\n", r1/n, r2/n)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gemm bench:", err)
		os.Exit(1)
	}
}
