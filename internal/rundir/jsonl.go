package rundir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
)

// decodeLines applies the run directory's rule for .jsonl files to b, the
// content of the file named name: decode calls back with each non-blank
// line and its 1-based number, and its error, prefixed with "name:line: ",
// is returned. The last line is skipped, and its number returned, when it
// lacks its newline and is not valid JSON: the mark of a crash mid-append.
// Any other line that fails is damage.
func decodeLines(b []byte, name string, decode func(line int, raw []byte) error) (partial int, err error) {
	for ln := 1; len(b) > 0; ln++ {
		raw, rest, found := bytes.Cut(b, []byte{'\n'})
		b = rest
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		if !found && !json.Valid(raw) {
			return ln, nil
		}
		if err := decode(ln, raw); err != nil {
			return 0, fmt.Errorf("%s:%d: %w", name, ln, err)
		}
	}
	return 0, nil
}

// readLines reads and decodes one .jsonl file of the run directory fsys
// (label names it in errors). A missing file holds no lines.
func readLines[T any](fsys fs.FS, file, label string, check func(*T) error) (out []T, lines []int, partial int, err error) {
	b, err := readFile(fsys, file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, 0, nil
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read %s: %w", label, err)
	}
	partial, err = decodeLines(b, label, func(ln int, raw []byte) error {
		var v T
		if err := strictUnmarshal(raw, &v); err != nil {
			return err
		}
		if check != nil {
			if err := check(&v); err != nil {
				return err
			}
		}
		out = append(out, v)
		lines = append(lines, ln)
		return nil
	})
	if err != nil {
		return nil, nil, 0, err
	}
	return out, lines, partial, nil
}

// strictUnmarshal decodes one JSON value and rejects anything after it.
func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

// readFile reads a regular file of fsys. Anything else (a directory, a
// FIFO that would block the reader) is an error.
func readFile(fsys fs.FS, name string) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	return fs.ReadFile(fsys, name)
}
