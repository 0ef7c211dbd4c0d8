package probe

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// forEach calls fn(i) for every i < n on up to runtime.GOMAXPROCS(0)
// goroutines (inline when that is 1) and returns the error of the lowest i
// that failed: the one a serial loop would stop at. Jobs after a failure
// may be skipped. fn must write only to slots indexed by i, so results do
// not depend on the number of goroutines (the pattern of
// stats.AnalyzeCurves).
func forEach(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Int64 // lowest failed index so far
	failed.Store(int64(n))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || int64(i) > failed.Load() {
					return // jobs are taken in order: the rest are later too
				}
				if errs[i] = fn(i); errs[i] != nil {
					for {
						f := failed.Load()
						if int64(i) >= f || failed.CompareAndSwap(f, int64(i)) {
							break
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
