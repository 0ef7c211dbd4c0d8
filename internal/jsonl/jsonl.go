// Package jsonl reads the JSON Lines files of a run directory
// (metrics.jsonl, evals.jsonl, probes.jsonl) with one rule for all of them:
// they are appended while a run may be killed, so a malformed LAST line is a
// partial write and is skipped, while a malformed line anywhere else is
// damage and an error naming the line.
package jsonl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// maxLine bounds one line (1 MiB; emlab's lines are a few hundred bytes).
const maxLine = 1 << 20

// Read decodes every line of the file at path into a T. A missing file
// gives (nil, nil) when missingOK, else the error (os.ErrNotExist wrapped).
func Read[T any](path string, missingOK bool) ([]T, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if missingOK && errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Decode[T](b, path)
}

// Decode decodes JSON Lines held in b; name is used in errors.
func Decode[T any](b []byte, name string) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), maxLine)
	line := 0
	var bad error
	for sc.Scan() {
		line++
		if bad != nil {
			return nil, bad // the malformed line was not the last
		}
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			bad = fmt.Errorf("%s line %d: %w", name, line, err)
			continue
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}
