package rundir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"emlab/internal/atomicfile"
)

// Update is the one read-modify-write of a run directory's files: it
// calls merge with the directory (as an fs.FS) and the file's label for
// errors, and atomically replaces the file with what merge returns. It
// holds the directory's merge lock throughout, so that writers in
// separate processes (two `emlab eval` on different tasks of one run, two
// `emlab demo --study` on one DIR) take turns and none rewrites the file
// from a reading that misses another's lines; it waits up to mergeWait for
// the lock. Files other packages own beside runs (the demo's
// findings.json) merge through it too, so that one lock guards every
// merge-write of a directory.
func Update(dir, name string, merge func(fsys fs.FS, label string) ([]byte, error)) error {
	lk, err := lockMerge(dir)
	if err != nil {
		var held *HeldError
		if errors.As(err, &held) {
			return fmt.Errorf("%s: another process writing this run holds its lock: %w; if it is stuck or stopped, end it and rerun", Path(dir, name), err)
		}
		return fmt.Errorf("%s: %w", Path(dir, name), err)
	}
	defer lk.Release()
	b, err := merge(os.DirFS(dir), Path(dir, name))
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(Path(dir, name), b)
}

// encodeLines writes vs as JSON lines; an unencodable value (NaN, ±Inf)
// is an error naming the file and the value (by what).
func encodeLines[T any](label string, vs []T, what func(*T) string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range vs {
		if err := enc.Encode(&vs[i]); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", label, what(&vs[i]), err)
		}
	}
	return buf.Bytes(), nil
}
