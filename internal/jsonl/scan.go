package jsonl

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxScanLine bounds a line Scan hands to its callback. emlab's lines are
// a few hundred bytes; a longer one is a writer gone wrong or a hostile
// file, and one such line must not fail a whole report.
const MaxScanLine = 16 << 20

// Scan calls fn with every non-blank line of r (without its newline) and
// its 1-based number. A line longer than MaxScanLine is skipped without
// being held in memory, and skipped is told its number and length; fn's
// error stops the scan and is returned.
func Scan(r io.Reader, fn func(line int, b []byte) error, skipped func(line int, n int64)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for ln := 1; ; ln++ {
		buf = buf[:0]
		var n int64
		long := false
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			n += int64(len(chunk))
			if !long {
				if int64(len(buf))+int64(len(chunk)) > MaxScanLine+1 { // +1: the newline
					long, buf = true, buf[:0]
				} else {
					buf = append(buf, chunk...)
				}
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if long {
			if skipped != nil {
				skipped(ln, n)
			}
		} else if b := bytes.TrimSpace(buf); len(b) > 0 {
			if ferr := fn(ln, b); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}
