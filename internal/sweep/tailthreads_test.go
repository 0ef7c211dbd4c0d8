package sweep

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestStepThreads: a step gets its run's own threads while runs are left
// to hand out, then the cores the other runs leave, never fewer than its
// own; a run of every core (0) is left alone.
func TestStepThreads(t *testing.T) {
	for _, c := range []struct{ own, queued, others, ncpu, want int }{
		{1, 0, 0, 2, 2},   // a sweep of one run on 2 cores
		{1, 1, 0, 2, 1},   // a run is still queued: own threads
		{1, 5, 1, 2, 1},   // likewise
		{1, 0, 1, 2, 1},   // the other core is busy
		{1, 0, 2, 4, 2},   // the tail of a 4-core pool
		{2, 0, 0, 8, 8},   // two-thread runs on 8 cores
		{2, 0, 6, 8, 2},   // no core free: own threads
		{4, 0, 2, 4, 4},   // more threads than the free cores: own
		{0, 0, 0, 4, 0},   // every core already
		{1, 0, 0, 1, 1},   // one core
		{3, 0, 0, 16, 16}, // all of a large machine
	} {
		if got := stepThreads(c.own, c.queued, c.others, c.ncpu); got != c.want {
			t.Errorf("stepThreads(own %d, queued %d, others %d, ncpu %d) = %d, want %d",
				c.own, c.queued, c.others, c.ncpu, got, c.want)
		}
	}
}

// fakeJobs runs RunPool over jobs of the given FLOPs (one thread each)
// with run standing in for execRun.
func fakeJobs(t *testing.T, ncpu int, flops []float64, o PoolOptions, run func(r Run, threads func() int)) Summary {
	t.Helper()
	oldCPU, oldRun := numCPU, runJob
	t.Cleanup(func() { numCPU, runJob = oldCPU, oldRun })
	numCPU = func() int { return ncpu }
	runJob = func(_ context.Context, r Run, _ ExecOptions, threads func() int) (Outcome, error) {
		run(r, threads)
		return Outcome{State: StateDone, Ran: true}, nil
	}
	var jobs []Job
	for i, f := range flops {
		r := Run{ID: fmt.Sprintf("r%d", i), FLOPs: f}
		r.Config.Train.Threads = 1
		jobs = append(jobs, Job{Run: r, Exec: ExecOptions{Out: t.TempDir()}})
	}
	sum, err := RunPool(context.Background(), jobs, o)
	if err != nil || sum.Done != len(flops) {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	return sum
}

// TestPoolTailThreads: the pool gives the steps at a sweep's tail the
// idle cores, never more cores in all than the machine has, and nothing
// extra when the caller fixed Jobs.
func TestPoolTailThreads(t *testing.T) {
	t.Run("one run", func(t *testing.T) {
		var got []int
		fakeJobs(t, 2, []float64{1}, PoolOptions{}, func(_ Run, threads func() int) {
			got = append(got, threads(), threads(), threads()) // train, eval, probe
		})
		if fmt.Sprint(got) != "[2 2 2]" {
			t.Errorf("a sweep of one one-thread run on 2 cores got threads %v, want [2 2 2]", got)
		}
	})
	t.Run("jobs fixed", func(t *testing.T) {
		var got []int
		fakeJobs(t, 2, []float64{1}, PoolOptions{Jobs: 1}, func(_ Run, threads func() int) {
			got = append(got, threads(), threads())
		})
		if fmt.Sprint(got) != "[1 1]" {
			t.Errorf("--jobs 1 on 2 cores: threads %v, want the run's own [1 1]", got)
		}
	})
	t.Run("tail of three on four cores", func(t *testing.T) {
		// All three runs take their first step before any ends; then the
		// two largest end, and the smallest (handed out last) must reach
		// all four cores in a later step. Every grant is checked against
		// the others' latest: the cores in use never exceed four.
		const ncpu = 4
		var (
			mu      sync.Mutex
			cur     = map[string]int{}
			started sync.WaitGroup
			last    int
		)
		started.Add(3)
		use := func(id string, n int) {
			mu.Lock()
			defer mu.Unlock()
			cur[id] = n
			total := 0
			for _, c := range cur {
				total += c
			}
			if total > ncpu {
				t.Errorf("%v cores in use (%d in all) on %d", cur, total, ncpu)
			}
		}
		fakeJobs(t, ncpu, []float64{3, 2, 1}, PoolOptions{}, func(r Run, threads func() int) {
			use(r.ID, threads())
			started.Done()
			started.Wait()
			if r.ID != "r2" {
				use(r.ID, 0)
				return
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				n := threads()
				use(r.ID, n)
				if n == ncpu || time.Now().After(deadline) {
					last = n
					break
				}
				time.Sleep(time.Millisecond)
			}
		})
		if last != ncpu {
			t.Errorf("the last run's later step got %d threads once the others ended, want %d", last, ncpu)
		}
		if total := cur["r0"] + cur["r1"] + cur["r2"]; total != ncpu {
			t.Errorf("at the end %v", cur)
		}
	})
}
