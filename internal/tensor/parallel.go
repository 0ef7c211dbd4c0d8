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
// caller decides chunk boundaries from the problem size alone. A
// ParallelFor inside another one opens its own region: its caller runs its
// chunks, helped by any goroutine that is idle (a worker or a caller that
// finished its share of the outer region early and waits for the rest), so
// a loop over whole micro-batches runs their kernels one core each, and a
// core that finishes first helps the other.
// fn is not retained after the call; pass a func value built once (a
// closure created per call allocates).
func ParallelFor(n int, fn func(i int)) { parallel(n, funcTask(fn)) }

// parallel is ParallelFor for a task.
func parallel(n int, t task) {
	if n <= 0 {
		return
	}
	th := min(Threads(), n)
	if th > 1 {
		if r := workers.acquire(); r != nil {
			workers.run(r, n, th, t)
			r.busy.Store(false)
			return
		}
	}
	for i := 0; i < n; i++ {
		t.do(i)
	}
}

// workers is the process's pool: persistent goroutines that join open
// parallel regions, spin briefly when there is none and then park, so the
// regions of a small model's step cost neither a goroutine start nor
// (mostly) a wake-up. Several regions may be open at once (nested ones,
// or concurrent callers); each caller works in its own region.
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
// long for its helpers before blocking.
const (
	workerSpin = 1 << 14
	callerSpin = 1 << 14
)

// maxRegions bounds the regions open at once; a caller that finds every
// slot taken runs its chunks serially.
const maxRegions = 8

// region is one parallel loop's slot.
type region struct {
	busy  atomic.Bool   // a caller holds the slot
	state atomic.Uint64 // see stRefs, stOpen, stEpoch
	limit atomic.Int32  // goroutines allowed in, caller included

	// The loop, written by the caller before it opens the region (n is
	// atomic because a worker checks it before joining).
	t    task
	n    atomic.Int64
	next atomic.Int64 // next chunk to take

	waiter atomic.Bool   // the caller is blocked on done
	done   chan struct{} // capacity 1: the last helper out wakes the caller
}

type pool struct {
	regions [maxRegions]region
	open    atomic.Int32 // regions open now (workers scan only when > 0)

	mu      sync.Mutex      // serialises starting workers
	started atomic.Int32    // workers started; wake[i] and parked[i] exist below it
	wake    []chan struct{} // one per worker, capacity 1
	parked  []atomic.Bool   // worker i is parked (or about to park) on wake[i]
}

// acquire takes a free region slot, or returns nil when all are taken.
func (p *pool) acquire() *region {
	for i := range p.regions {
		if r := &p.regions[i]; r.busy.CompareAndSwap(false, true) {
			return r
		}
	}
	return nil
}

// run executes t over n chunks in region r on up to th goroutines.
func (p *pool) run(r *region, n, th int, t task) {
	p.ensure(th - 1)
	if r.done == nil {
		r.done = make(chan struct{}, 1) // once per slot: the slot is ours
	}
	r.t = t
	r.n.Store(int64(n))
	r.next.Store(0)
	r.limit.Store(int32(th))
	// Open the next epoch with the caller inside (nobody else is: joining
	// needs an open region, and the last one was left empty).
	r.state.Store((r.state.Load()/stEpoch+1)*stEpoch | stOpen | 1)
	p.open.Add(1)
	woken := 0
	for i := 0; i < int(p.started.Load()) && woken < th-1; i++ {
		if p.parked[i].Swap(false) {
			woken++
			select {
			case p.wake[i] <- struct{}{}:
			default:
			}
		}
	}
	work(r)
	// Close the region and leave it; wait for the helpers still inside.
	for {
		s := r.state.Load()
		if r.state.CompareAndSwap(s, (s&^stOpen)-1) {
			break
		}
	}
	p.open.Add(-1)
	// While helpers finish, help the regions open elsewhere: a helper's
	// chunk may have opened one (a micro-batch's kernels), and this caller
	// is the idle core.
	var last [maxRegions]uint64
	for spin := 0; r.state.Load()&stRefs != 0; spin++ {
		if p.open.Load() > 0 {
			joined := false
			for i := range p.regions {
				var ok bool
				if last[i], ok = p.join(&p.regions[i], last[i]); ok {
					joined = true
				}
			}
			if joined {
				spin = 0
				continue
			}
		}
		if spin < callerSpin {
			if spin%64 == 63 {
				runtime.Gosched()
			}
			continue
		}
		r.waiter.Store(true)
		if r.state.Load()&stRefs == 0 {
			if !r.waiter.Swap(false) {
				<-r.done // the last helper cleared it and is sending
			}
			break
		}
		<-r.done
	}
	r.t = nil
}

// work takes chunks of region r until none is left.
func work(r *region) {
	t, n := r.t, r.n.Load()
	for {
		i := r.next.Add(1) - 1
		if i >= n {
			return
		}
		t.do(int(i))
	}
}

// ensure starts workers until there are at least k.
func (p *pool) ensure(k int) {
	if int(p.started.Load()) >= k {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wake == nil {
		// Fixed capacity: the slices must not move under running workers.
		max := runtime.NumCPU() + 64
		p.wake = make([]chan struct{}, max)
		p.parked = make([]atomic.Bool, max)
	}
	for i := int(p.started.Load()); i < k && i < len(p.wake); i++ {
		p.wake[i] = make(chan struct{}, 1)
		go p.worker(i)
		p.started.Store(int32(i + 1))
	}
}

// join enters region r if it is open in an epoch other than last, has
// chunks left and is below its limit, runs chunks, and leaves; it returns
// the epoch it saw (a region without room or work in that epoch is passed
// over until its next one) and whether it joined.
func (p *pool) join(r *region, last uint64) (uint64, bool) {
	for {
		s := r.state.Load()
		e := s / stEpoch
		if s&stOpen == 0 || e == last {
			return last, false
		}
		if r.next.Load() >= r.n.Load() || int32(s&stRefs) >= r.limit.Load() {
			return e, false // nothing left, or full: its participants finish it
		}
		if r.state.CompareAndSwap(s, s+1) {
			work(r)
			if s := r.state.Add(^uint64(0)); s&stRefs == 0 && r.waiter.Swap(false) {
				r.done <- struct{}{}
			}
			return e, true
		}
	}
}

// worker joins every open region it can, spins for the next one, then
// parks until a caller wakes it.
func (p *pool) worker(id int) {
	var last [maxRegions]uint64 // epoch of each slot's region last joined or passed over
	spin := 0
	for {
		if p.open.Load() > 0 {
			joined := false
			for i := range p.regions {
				var ok bool
				if last[i], ok = p.join(&p.regions[i], last[i]); ok {
					joined = true
				}
			}
			if joined {
				spin = 0
				continue
			}
		}
		if spin < workerSpin {
			spin++
			if spin%64 == 0 {
				runtime.Gosched()
			}
			continue
		}
		p.parked[id].Store(true)
		if p.open.Load() > 0 && p.anyJoinable(&last) {
			p.parked[id].Store(false)
			continue
		}
		<-p.wake[id]
		spin = 0
	}
}

// anyJoinable reports whether some region is open in an epoch the worker
// has not seen.
func (p *pool) anyJoinable(last *[maxRegions]uint64) bool {
	for i := range p.regions {
		s := p.regions[i].state.Load()
		if s&stOpen != 0 && s/stEpoch != last[i] {
			return true
		}
	}
	return false
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
