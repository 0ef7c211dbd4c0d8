package sweep

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReliabilityLockProbeNeverBlocksWorker: the progress watcher probes
// each run's lock (locked) while workers take it (lock). Before, the probe
// took the exclusive lock for an instant, and a worker that tried in that
// instant concluded "held by another process", skipped the run, and the
// sweep exited 0 with the run unfinished (1 rerun in 82 after kill -9). A
// worker must get a lock that only probes touch, every time; and a lock
// that a worker holds must still be reported as busy.
func TestReliabilityLockProbeNeverBlocksWorker(t *testing.T) {
	dir := t.TempDir()
	stop := make(chan struct{})
	var probes atomic.Int64
	var wg sync.WaitGroup
	for range 4 { // watchers hammering the lock, in this process
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				locked(dir)
				probes.Add(1)
			}
		}()
	}
	const trials = 3000
	misses := 0
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; i < trials && time.Now().Before(deadline); i++ {
		release, ok, err := lock(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			misses++
			continue
		}
		release()
	}
	close(stop)
	wg.Wait()
	t.Logf("%d lock attempts against %d probes: %d wrongly refused", trials, probes.Load(), misses)
	if misses > 0 {
		t.Errorf("%d of %d lock attempts were refused by a probe", misses, trials)
	}

	// A worker's lock is still seen: by probes and by another worker.
	release, ok, err := lock(dir)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if !locked(dir) {
		t.Error("a held lock is not reported as locked")
	}
	if _, ok2, err := lock(dir); err != nil || ok2 {
		t.Errorf("a second worker got a held lock (ok=%v, err=%v)", ok2, err)
	}
	release()
	if locked(dir) {
		t.Error("a released lock is reported as locked")
	}
}
