package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"emlab/internal/atomicfile"
)

// ReadFindings reads DIR/findings.json: a JSON array of Finding objects.
// A missing file is no findings; a file that is not such an array is an
// error naming it (it is never overwritten then, so nothing written is
// lost).
func ReadFindings(dir string) ([]Finding, error) {
	path := filepath.Join(dir, FindingsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	var out []Finding
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: not a JSON array of findings (id, claim, verdict, pass, detail, items): %w; move it away to start afresh", path, err)
	}
	return out, nil
}

// mergeFindings replaces the objects of the studies in ids with now (each
// study's objects where its first object was, a study not there yet at
// the end, in the order of ids) and keeps every other object as it was.
// Objects without an id (an older emlab's demo wrote them) are replaced
// too: the demo's studies rewrite them.
func mergeFindings(prev []Finding, ids []string, now []Finding) []Finding {
	byID := map[string][]Finding{}
	for _, f := range now {
		byID[f.ID] = append(byID[f.ID], f)
	}
	out := []Finding{}
	placed := map[string]bool{}
	for _, f := range prev {
		switch {
		case f.ID == "":
			continue
		case slices.Contains(ids, f.ID):
			if !placed[f.ID] {
				out = append(out, byID[f.ID]...)
				placed[f.ID] = true
			}
		default:
			out = append(out, f)
		}
	}
	for _, id := range ids {
		if !placed[id] {
			out = append(out, byID[id]...)
			placed[id] = true
		}
	}
	return out
}

// writeFindings writes findings.json atomically.
func writeFindings(dir string, fs []Finding) error {
	for i := range fs {
		if fs[i].Items == nil {
			fs[i].Items = []string{}
		}
	}
	b, err := json.MarshalIndent(fs, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, FindingsFile), append(b, '\n'))
}
