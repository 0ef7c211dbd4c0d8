package tensor

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestParallelForRunsEveryChunkOnce hammers the worker pool: regions of
// every size, back to back, nested (a nested region runs serially in its
// caller), from several goroutines at once (only one holds the pool; the
// others run serially) and with the thread count changing between calls.
// Every chunk must run exactly once per call.
func TestParallelForRunsEveryChunkOnce(t *testing.T) {
	defer SetThreads(Threads())
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2 to run regions on several goroutines")
	}
	check := func(t *testing.T, n int, nested bool) {
		t.Helper()
		hits := make([]atomic.Int32, n)
		var inner atomic.Int32
		ParallelFor(n, func(i int) {
			hits[i].Add(1)
			if nested && i%3 == 0 {
				ParallelFor(4, func(int) { inner.Add(1) })
			}
		})
		for i := range hits {
			if h := hits[i].Load(); h != 1 {
				t.Fatalf("n=%d: chunk %d ran %d times", n, i, h)
			}
		}
		if want := int32((n + 2) / 3 * 4); nested && inner.Load() != want {
			t.Fatalf("n=%d: nested chunks ran %d times, want %d", n, inner.Load(), want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for it := 0; it < 2000; it++ {
		SetThreads(1 + rng.IntN(3))
		check(t, rng.IntN(40), it%2 == 0)
	}
	SetThreads(2)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; it < 500; it++ {
				check(t, 1+it%17, it%3 == 0)
			}
		}()
	}
	wg.Wait()
}

// TestParallelForUsesWorkers checks that a region really runs on more than
// one goroutine when Threads() > 1: two chunks wait for each other, which
// only terminates if they run at the same time.
func TestParallelForUsesWorkers(t *testing.T) {
	defer SetThreads(Threads())
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2")
	}
	SetThreads(2)
	for it := 0; it < 200; it++ {
		var arrived atomic.Int32
		ParallelFor(2, func(int) {
			arrived.Add(1)
			for arrived.Load() < 2 {
				runtime.Gosched()
			}
		})
	}
}

// TestParallelForHelpsNestedRegions checks that a worker left idle by an
// outer region helps a region nested in it: the outer loop's chunk 0 ends
// at once, chunk 1 opens an inner loop whose two chunks wait for each
// other, which only terminates if another goroutine (the idle worker)
// joins the inner region.
func TestParallelForHelpsNestedRegions(t *testing.T) {
	defer SetThreads(Threads())
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2")
	}
	SetThreads(2)
	for it := 0; it < 200; it++ {
		ParallelFor(2, func(i int) {
			if i == 0 {
				return
			}
			var arrived atomic.Int32
			ParallelFor(2, func(int) {
				arrived.Add(1)
				for arrived.Load() < 2 {
					runtime.Gosched()
				}
			})
		})
	}
}
