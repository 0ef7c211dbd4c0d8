package rundir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"

	"emlab/internal/atomicfile"
)

// update is the one read-modify-write of a run directory's files: it calls
// merge with the directory (as an fs.FS) and the file's label for errors,
// and atomically replaces the file with what merge returns. Writers of one
// run that merge at the same time must be serialised here; a lock for that
// must not be the sweep's SweepLockFile, which the sweep holds while the
// commands it starts (and so their merges) run.
func update(dir, name string, merge func(fsys fs.FS, label string) ([]byte, error)) error {
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
