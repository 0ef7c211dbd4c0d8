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
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(t)
	for w := 0; w < t; w++ {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}
