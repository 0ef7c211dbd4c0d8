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

// task is the body of a parallel loop: do(i) for every chunk i. Kernels keep
// their arguments in a task struct taken from a free list (jobList), so a
// call allocates nothing; a closure handed to another goroutine would be
// allocated on every call.
type task interface{ do(i int) }

// funcTask adapts a func to task (a func value is pointer-shaped: the
// conversion does not allocate).
type funcTask func(int)

func (f funcTask) do(i int) { f(i) }

// ParallelFor calls fn(i) for every chunk index i in [0, n), spreading the
// chunks over up to Threads() goroutines. Chunks must be independent: the
// caller decides chunk boundaries from the problem size alone. A ParallelFor
// inside another one (or concurrent with one) runs its chunks serially in
// its caller, so a parallel loop over whole micro-batches runs their
// kernels on one core each. fn is not retained after the call; pass a func
// value built once (a closure created per call allocates).
func ParallelFor(n int, fn func(i int)) { parallel(n, funcTask(fn)) }

// parallel is ParallelFor for a task.
func parallel(n int, t task) {
	if n <= 0 {
		return
	}
	th := min(Threads(), n)
	if th <= 1 || !workers.busy.CompareAndSwap(false, true) {
		for i := 0; i < n; i++ {
			t.do(i)
		}
		return
	}
	workers.run(n, th, t)
	workers.busy.Store(false)
}

// workers is the process's pool: persistent goroutines that spin briefly
// after each parallel region and then park, so the hundreds of regions of a
// small model's step cost neither a goroutine start nor (mostly) a wake-up.
// One region runs at a time (busy); the caller is one of its workers.
var workers pool

// A region's state is one word, so that joining (a compare-and-swap that
// requires the region to be open and below its thread limit) and leaving
// are single atomic operations: bits 0–15 count the goroutines inside the
// region, bit 16 says it is open to joiners, bits 32–63 are its epoch.
const (
	stRefs  = 1<<16 - 1
	stOpen  = 1 << 16
	stEpoch = 1 << 32
)

// Spin budgets, in polls of an atomic word (a poll is a few ns; a
// runtime.Gosched every 64 polls keeps other goroutines running): a worker
// waits about 50 µs for the next region before parking, a caller about as
// long for its workers before blocking.
const (
	workerSpin = 1 << 14
	callerSpin = 1 << 14
)

type pool struct {
	busy  atomic.Bool   // a region is running (its caller holds the pool)
	state atomic.Uint64 // see stRefs, stOpen, stEpoch
	limit atomic.Int32  // goroutines allowed in the current region, caller included

	// The region's work, written by the caller before it opens the region.
	t    task
	n    int64
	next atomic.Int64 // next chunk to take

	mu      sync.Mutex // guards started, wake
	started int
	wake    []chan struct{} // one per worker, capacity 1
	parked  []atomic.Bool   // worker i is parked (or about to park) on wake[i]

	waiter atomic.Bool   // the caller is blocked on done
	done   chan struct{} // capacity 1: the last worker out wakes the caller
}

// run executes t over n chunks on up to th goroutines. The caller holds busy.
func (p *pool) run(n, th int, t task) {
	p.ensure(th - 1)
	p.t, p.n = t, int64(n)
	p.next.Store(0)
	p.limit.Store(int32(th))
	// Open the next epoch with the caller inside (nobody else is: joining
	// needs an open region, and the last one was left empty).
	p.state.Store((p.state.Load()/stEpoch+1)*stEpoch | stOpen | 1)
	for i := 0; i < th-1 && i < len(p.parked); i++ {
		if p.parked[i].Swap(false) {
			select {
			case p.wake[i] <- struct{}{}:
			default:
			}
		}
	}
	p.work()
	// Close the region and leave it; wait for the workers still inside.
	for {
		s := p.state.Load()
		if p.state.CompareAndSwap(s, (s&^stOpen)-1) {
			break
		}
	}
	for spin := 0; p.state.Load()&stRefs != 0; spin++ {
		if spin < callerSpin {
			if spin%64 == 63 {
				runtime.Gosched()
			}
			continue
		}
		p.waiter.Store(true)
		if p.state.Load()&stRefs == 0 {
			if !p.waiter.Swap(false) {
				<-p.done // the last worker cleared it and is sending
			}
			break
		}
		<-p.done
	}
	p.t = nil
}

// work takes chunks of the current region until none is left.
func (p *pool) work() {
	t, n := p.t, p.n
	for {
		i := p.next.Add(1) - 1
		if i >= n {
			return
		}
		t.do(int(i))
	}
}

// ensure starts workers until there are at least k.
func (p *pool) ensure(k int) {
	if p.started >= k {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		p.done = make(chan struct{}, 1)
		// Fixed capacity: the slices must not move under running workers.
		max := runtime.NumCPU() + 64
		p.wake = make([]chan struct{}, max)
		p.parked = make([]atomic.Bool, max)
	}
	for p.started < k && p.started < len(p.wake) {
		i := p.started
		p.wake[i] = make(chan struct{}, 1)
		go p.worker(i)
		p.started++
	}
}

// worker joins every open region it can (up to the region's limit), spins
// for the next one, then parks until a caller wakes it.
func (p *pool) worker(id int) {
	var last uint64 // epoch of the last region joined (or passed over)
	spin := 0
	for {
		s := p.state.Load()
		if e := s / stEpoch; s&stOpen != 0 && e != last {
			if int32(s&stRefs) >= p.limit.Load() {
				last = e // full: wait for the next region
				continue
			}
			if !p.state.CompareAndSwap(s, s+1) {
				continue
			}
			last, spin = e, 0
			p.work()
			if s := p.state.Add(^uint64(0)); s&stRefs == 0 && p.waiter.Swap(false) {
				p.done <- struct{}{}
			}
			continue
		}
		if spin < workerSpin {
			spin++
			if spin%64 == 0 {
				runtime.Gosched()
			}
			continue
		}
		p.parked[id].Store(true)
		if s := p.state.Load(); s&stOpen != 0 && s/stEpoch != last {
			p.parked[id].Store(false)
			continue
		}
		<-p.wake[id]
		spin = 0
	}
}

// jobList is a free list of kernel task structs, so that a parallel kernel
// call reuses one instead of allocating (unlike a sync.Pool, it survives
// garbage collections).
type jobList[T any] struct {
	mu   sync.Mutex
	free []*T
}

func (l *jobList[T]) get() *T {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.free) == 0 {
		// Stock several: how many calls of a kernel run at once depends on
		// how the goroutines interleave, and a list that grew one job at a
		// time would keep allocating now and then long after warm-up.
		if l.free == nil {
			l.free = make([]*T, 0, 16)
		}
		for i := 0; i < 4; i++ {
			l.free = append(l.free, new(T))
		}
	}
	n := len(l.free)
	j := l.free[n-1]
	l.free = l.free[:n-1]
	return j
}

func (l *jobList[T]) put(j *T) {
	l.mu.Lock()
	l.free = append(l.free, j)
	l.mu.Unlock()
}
