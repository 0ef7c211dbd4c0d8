package rundir

// lock.go: the run directory's advisory locks. Two processes may write one
// run: two `emlab eval` (or `probe`) merging into evals.jsonl, or a second
// `emlab train` started on a directory being trained. Each merge-write
// holds MergeLockFile while it reads, merges and rewrites its file, so
// merges of one run take turns and none drops the lines of another; a
// trainer holds TrainLockFile for as long as it writes, and a second
// trainer is refused at once.
//
// The locks are flock(2) locks: the kernel drops one when its holder dies,
// however it dies, so a lock never outlives its process. The holder writes
// its PID into the lock file so that whoever is refused can name it. They
// are not the sweep's SweepLockFile, which the sweep holds while the eval
// and probe processes it starts merge.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"
)

// mergeWait bounds how long a merge-write waits for another process's
// merge of the same run. A merge rewrites one file, in milliseconds to
// seconds; a lock held longer is a writer stuck or stopped (SIGSTOP), and
// the merge gives up naming it rather than waiting for ever.
var mergeWait = 2 * time.Minute

// HeldError is the error of a lock another process holds.
type HeldError struct {
	Path   string        // the lock file
	PID    int           // the holder, 0 when unknown
	Waited time.Duration // how long the lock was waited for (0: not at all)
}

func (e *HeldError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "PID " + strconv.Itoa(e.PID)
	}
	if e.Waited > 0 {
		return fmt.Sprintf("%s is held by %s (waited %v)", e.Path, who, e.Waited)
	}
	return fmt.Sprintf("%s is held by %s", e.Path, who)
}

// Lock is a held lock of a run directory.
type Lock struct {
	f        *os.File
	writable bool
}

// Release drops the lock (a nil Lock is a no-op). The lock file stays,
// emptied of the holder's PID.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	if l.writable {
		l.f.Truncate(0)
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// LockTrain takes dir's trainer lock without waiting: a *HeldError naming
// the holder's PID when another process trains the run. The caller holds
// it for as long as it writes the run (config.json, metrics.jsonl,
// checkpoints, DONE).
func LockTrain(dir string) (*Lock, error) {
	return lockFile(Path(dir, TrainLockFile), 0)
}

// lockMerge takes dir's merge lock, waiting up to mergeWait for another
// process's merge.
func lockMerge(dir string) (*Lock, error) {
	return lockFile(Path(dir, MergeLockFile), mergeWait)
}

// lockFile takes an exclusive flock on path (created 0644 less the umask),
// trying for up to wait, and records this process's PID in it.
func lockFile(path string, wait time.Duration) (*Lock, error) {
	writable := true
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, fs.ErrPermission) {
		// Another user's lock file: a lock needs no write access.
		writable = false
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	fd := int(f.Fd())
	deadline := time.Now().Add(wait)
	pause := time.Millisecond
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !time.Now().Before(deadline) {
			pid := holder(f)
			f.Close()
			return nil, &HeldError{Path: path, PID: pid, Waited: wait}
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
	if writable {
		// Best effort: the PID only names the holder in others' errors.
		if f.Truncate(0) == nil {
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
	}
	return &Lock{f: f, writable: writable}, nil
}

// holder reads the PID a lock's holder wrote, 0 when there is none yet (a
// holder that has just taken the lock writes it a moment later).
func holder(f *os.File) int {
	for range 20 {
		b, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
		if err == nil {
			if pid, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil && pid > 0 {
				return pid
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0
}
