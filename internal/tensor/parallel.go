package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threads is the number of goroutines kernels may use. It is process-wide
// because a run owns its process (the sweep executor packs runs as processes).
var threads atomic.Int32

func init() { threads.Store(1) }

// SetThreads sets how many goroutines kernels may use (n < 1 means 1).
// Results do not depend on it.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	if m := runtime.GOMAXPROCS(0); n > m {
		n = m
	}
	threads.Store(int32(n))
}

// Threads reports the current kernel thread count.
func Threads() int { return int(threads.Load()) }

// ParallelFor calls fn(i) for every chunk index i in [0, n), spreading the
// chunks over up to Threads() goroutines. Chunks must be independent: the
// caller decides chunk boundaries from the problem size alone.
func ParallelFor(n int, fn func(i int)) {
	t := Threads()
	if t > n {
		t = n
	}
	if t <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	// The caller is one of the t workers: it starts t−1 goroutines and
	// takes chunks itself, which saves a goroutine start and a wake-up per
	// call (small models make hundreds of calls a step).
	var next atomic.Int64
	var wg sync.WaitGroup
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			fn(i)
		}
	}
	wg.Add(t - 1)
	for w := 1; w < t; w++ {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}
