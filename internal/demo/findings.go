package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"emlab/internal/atomicfile"
	"emlab/internal/rundir"
)

// ReadFindings reads DIR/findings.json: a JSON array of Finding objects.
// A missing file is no findings; a file that is not such an array is an
// error naming it (it is never overwritten then, so nothing written is
// lost).
func ReadFindings(dir string) ([]Finding, error) {
	return readFindings(os.DirFS(dir), filepath.Join(dir, FindingsFile))
}

// readFindings reads findings.json of fsys (path names it in errors).
func readFindings(fsys fs.FS, path string) ([]Finding, error) {
	b, err := fs.ReadFile(fsys, FindingsFile)
	if errors.Is(err, fs.ErrNotExist) {
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

// updateFindings merges the objects of the studies in ids (now) into
// DIR/findings.json, as mergeFindings does, and returns what it wrote.
// It reads the file again under the directory's merge lock
// (rundir.Update), so that a demo judging other studies into the same DIR
// at the same time, which wrote after this one began, keeps its objects.
func updateFindings(dir string, ids []string, now []Finding) ([]Finding, error) {
	var all []Finding
	err := rundir.Update(dir, FindingsFile, func(fsys fs.FS, label string) ([]byte, error) {
		prev, err := readFindings(fsys, label)
		if err != nil {
			return nil, err
		}
		all = mergeFindings(prev, ids, now)
		return encodeFindings(all)
	})
	if err != nil {
		return nil, err
	}
	return all, nil
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

// writeFindings writes findings.json atomically, replacing what it held.
func writeFindings(dir string, all []Finding) error {
	b, err := encodeFindings(all)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, FindingsFile), b)
}

// encodeFindings is findings.json's text: an indented array, each
// object's items an array (never null).
func encodeFindings(all []Finding) ([]byte, error) {
	for i := range all {
		if all[i].Items == nil {
			all[i].Items = []string{}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // claims compare with < and ≥
	enc.SetIndent("", "  ")
	if err := enc.Encode(all); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
