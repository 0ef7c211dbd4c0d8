package rundir

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"unicode/utf8"
)

// MaxLine bounds the lines of a run's .jsonl files that readers decode.
// emlab writes lines of a few hundred bytes (a sample's generated text, a
// few kilobytes); a longer line is a writer gone wrong or a hostile file,
// and one such line must not fail every reader of the run (the report, the
// dashboard, a merge). It is skipped without being held in memory and
// listed like a partial line.
const MaxLine = 16 << 20

// scanLines applies the run directory's rule for .jsonl files to r, the
// content of the file named name: decode calls back with each non-blank
// line and its 1-based number, and its error, prefixed with "name:line: ",
// is returned. Lines are read at any length up to MaxLine, never whole
// files at once. Two kinds of line are skipped, each listed in skipped as
// "name:line: why": the last line when it lacks its newline and is not
// valid JSON (the mark of a crash mid-append), and a line longer than
// MaxLine. Any other line that fails, or that is not valid UTF-8, is
// damage.
func scanLines(r io.Reader, name string, decode func(line int, raw []byte) error) (skipped []string, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for ln := 1; ; ln++ {
		buf = buf[:0]
		var n int64 // the line's length, newline included
		long := false
		var rerr error
		for {
			var chunk []byte
			chunk, rerr = br.ReadSlice('\n')
			n += int64(len(chunk))
			if !long {
				if int64(len(buf))+int64(len(chunk)) > MaxLine+1 { // +1: the newline
					long, buf = true, buf[:0]
				} else {
					buf = append(buf, chunk...)
				}
			}
			if !errors.Is(rerr, bufio.ErrBufferFull) {
				break
			}
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return nil, fmt.Errorf("read %s: %w", name, rerr)
		}
		last := errors.Is(rerr, io.EOF) // the line has no newline
		raw := bytes.TrimSpace(buf)
		switch {
		case long:
			skipped = append(skipped, fmt.Sprintf("%s:%d: a line of %d bytes, longer than the %d any emlab file holds", name, ln, n, MaxLine))
		case len(raw) == 0:
		case last && !json.Valid(raw):
			skipped = append(skipped, fmt.Sprintf("%s:%d: a partial last line (a file being written, or cut short by a crash)", name, ln))
		case !utf8.Valid(raw):
			// encoding/json would decode it with U+FFFD in place of the
			// bytes: a task or probe renamed without a word. emlab writes
			// only valid UTF-8.
			return nil, fmt.Errorf("%s:%d: not valid UTF-8 (byte %d); emlab writes none such, so the line was written by something else", name, ln, invalidAt(raw)+1)
		default:
			if err := decode(ln, raw); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, ln, err)
			}
		}
		if last {
			return skipped, nil
		}
	}
}

// invalidAt is the offset of the first byte of b that does not begin a
// valid UTF-8 sequence (len(b) when there is none).
func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// readLines reads and decodes one .jsonl file of the run directory fsys
// (label names it in errors). A missing file holds no lines.
func readLines[T any](fsys fs.FS, file, label string, check func(*T) error) (out []T, lines []int, skipped []string, err error) {
	f, err := openRegular(fsys, file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read %s: %w", label, err)
	}
	defer f.Close()
	skipped, err = scanLines(f, label, func(ln int, raw []byte) error {
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
		return nil, nil, nil, err
	}
	return out, lines, skipped, nil
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

// openRegular opens a regular file of fsys. Anything else (a directory, a
// FIFO whose open would block the reader) is an error; the file is checked
// before it is opened, without opening it, and again once open.
func openRegular(fsys fs.FS, name string) (fs.File, error) {
	fi, err := statNoOpen(fsys, name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file", name)
		}
		return nil, err
	}
	return f, nil
}

// statNoOpen describes name without opening it: fs.Stat opens the file
// when fsys has no Stat method (fs.Sub's file systems have none), and an
// open blocks on a FIFO. Without Stat, Lstat serves, and a symbolic link,
// whose target it cannot describe, is refused.
func statNoOpen(fsys fs.FS, name string) (fs.FileInfo, error) {
	if s, ok := fsys.(fs.StatFS); ok {
		return s.Stat(name)
	}
	if _, ok := fsys.(fs.ReadLinkFS); ok {
		fi, err := fs.Lstat(fsys, name)
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s is a symbolic link (read the run through SubFS to follow links)", name)
		}
		return fi, err
	}
	return fs.Stat(fsys, name)
}

// SubFS is fs.Sub(fsys, dir) keeping fsys's Stat, so that reading a run
// below a root (ReadRunFS(SubFS(root, id), id)) follows the links the
// root allows and never opens a file to learn its type.
func SubFS(fsys fs.FS, dir string) (fs.FS, error) {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, err
	}
	st, ok := fsys.(fs.StatFS)
	if !ok || dir == "." {
		return sub, nil
	}
	return statSub{sub, st, dir}, nil
}

type statSub struct {
	fs.FS
	parent fs.StatFS
	dir    string
}

func (s statSub) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	return s.parent.Stat(path.Join(s.dir, name))
}

// readFile reads a regular file of fsys (see openRegular).
func readFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := openRegular(fsys, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
