package data

// Decoders for the public-domain English prose that scripts/get-text.sh
// installs from Debian packages, so natural-language runs need nothing
// downloaded at run time:
//
//   - sword-text-web: the World English Bible as a SWORD "zText" module
//     (/usr/share/sword/modules/texts/ztext/engWEB2015eb/), OSIS markup in
//     zlib-compressed blocks;
//   - r-cran-janeaustenr: Jane Austen's six novels as R lazy-load data
//     (/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb), one character
//     vector of lines per novel in R's XDR serialization.
//
// This file deliberately does not read other SWORD drivers (rawText,
// zCom), other markups (ThML, GBF), or R objects other than character
// vectors.

import (
	"bytes"
	"compress/bzip2"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// DecodeSword reads a SWORD zText module directory (ot.bzs/bzv/bzz and
// nt.bzs/bzv/bzz; either testament may be absent) and returns its text as
// paragraphs: OSIS paragraph and chapter marks start a new one; notes,
// titles and all other markup are dropped.
//
// Format (SWORD zText): NN.bzs holds one 12-byte record per compressed
// block (offset, compressed size, uncompressed size; uint32 little-endian)
// into NN.bzz, whose blocks are zlib streams; NN.bzv holds one 10-byte
// record per verse (block index, offset, size: uint32, uint32, uint16
// little-endian) into the uncompressed block.
func DecodeSword(dir string) ([]string, error) {
	var raw strings.Builder
	found := false
	for _, t := range []string{"ot", "nt"} {
		bzs, err1 := os.ReadFile(filepath.Join(dir, t+".bzs"))
		bzv, err2 := os.ReadFile(filepath.Join(dir, t+".bzv"))
		bzz, err3 := os.ReadFile(filepath.Join(dir, t+".bzz"))
		if os.IsNotExist(err1) && os.IsNotExist(err2) && os.IsNotExist(err3) {
			continue
		}
		for _, err := range []error{err1, err2, err3} {
			if err != nil {
				return nil, fmt.Errorf("sword module %s: %w", dir, err)
			}
		}
		found = true
		if err := decodeTestament(&raw, bzs, bzv, bzz); err != nil {
			return nil, fmt.Errorf("sword module %s, %s: %w", dir, t, err)
		}
	}
	if !found {
		return nil, fmt.Errorf("sword module %s: no ot.bzs or nt.bzs (not a zText module)", dir)
	}
	paras := osisParagraphs(raw.String())
	if len(paras) == 0 {
		return nil, fmt.Errorf("sword module %s: empty: no text", dir)
	}
	return paras, nil
}

func decodeTestament(out *strings.Builder, bzs, bzv, bzz []byte) error {
	if len(bzs)%12 != 0 || len(bzv)%10 != 0 {
		return fmt.Errorf("index sizes %d (bzs) and %d (bzv) are not multiples of 12 and 10", len(bzs), len(bzv))
	}
	blocks := make([][]byte, len(bzs)/12)
	for i := 0; i < len(bzv); i += 10 {
		bl := binary.LittleEndian.Uint32(bzv[i:])
		off := binary.LittleEndian.Uint32(bzv[i+4:])
		size := uint32(binary.LittleEndian.Uint16(bzv[i+8:]))
		if size == 0 {
			continue
		}
		if int(bl) >= len(blocks) {
			return fmt.Errorf("verse record %d points to block %d of %d", i/10, bl, len(blocks))
		}
		if blocks[bl] == nil {
			r := bzs[bl*12:]
			o, c, u := binary.LittleEndian.Uint32(r), binary.LittleEndian.Uint32(r[4:]), binary.LittleEndian.Uint32(r[8:])
			if uint64(o)+uint64(c) > uint64(len(bzz)) {
				return fmt.Errorf("block %d (%d+%d) beyond the %d-byte data file", bl, o, c, len(bzz))
			}
			zr, err := zlib.NewReader(bytes.NewReader(bzz[o : o+c]))
			if err != nil {
				return fmt.Errorf("block %d: %w", bl, err)
			}
			b, err := io.ReadAll(zr)
			if err != nil {
				return fmt.Errorf("block %d: %w", bl, err)
			}
			if uint32(len(b)) != u {
				return fmt.Errorf("block %d: %d bytes, index says %d", bl, len(b), u)
			}
			blocks[bl] = b
		}
		b := blocks[bl]
		if uint64(off)+uint64(size) > uint64(len(b)) {
			return fmt.Errorf("verse record %d (%d+%d) beyond block %d of %d bytes", i/10, off, size, bl, len(b))
		}
		out.Write(b[off : off+size])
		out.WriteByte(' ')
	}
	return nil
}

var (
	osisDrop  = regexp.MustCompile(`(?s)<note\b.*?</note>|<title\b.*?</title>`)
	osisBreak = regexp.MustCompile(`<div\b[^>]*type="x-p"[^>]*/>|<chapter\b[^>]*/>`)
	osisTag   = regexp.MustCompile(`<[^>]*>`)
	spaces    = regexp.MustCompile(`\s+`)
)

// osisParagraphs turns OSIS markup into plain paragraphs.
func osisParagraphs(s string) []string {
	s = osisDrop.ReplaceAllString(s, "")
	s = osisBreak.ReplaceAllString(s, "\x00")
	var out []string
	for _, p := range strings.Split(s, "\x00") {
		p = html.UnescapeString(osisTag.ReplaceAllString(p, ""))
		p = strings.TrimSpace(spaces.ReplaceAllString(p, " "))
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// DecodeRData reads an R lazy-load database (a package's data/Rdata.rdb)
// and returns the paragraphs of every character vector in it: consecutive
// non-empty elements are lines of one paragraph, empty elements separate
// paragraphs (the layout of janeaustenr's novels).
//
// Format: the .rdb is a sequence of objects, each a 4-byte big-endian
// uncompressed length followed by a zlib stream (or, for R's other
// compression settings, a type byte 'Z' zlib, '2' bzip2, '0' none); the
// payload is R's XDR serialization ("X\n", version 2 or 3).
func DecodeRData(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("R data: %w", err)
	}
	var paras []string
	r := bytes.NewReader(b)
	for obj := 0; r.Len() > 0; obj++ {
		payload, err := readRObject(r)
		if err != nil {
			return nil, fmt.Errorf("R data %s: object %d: %w", path, obj, err)
		}
		lines, err := unserializeStrings(payload)
		if err != nil {
			return nil, fmt.Errorf("R data %s: object %d: %w", path, obj, err)
		}
		paras = append(paras, linesToParagraphs(lines)...)
	}
	if len(paras) == 0 {
		return nil, fmt.Errorf("R data %s: empty: no text", path)
	}
	return paras, nil
}

// readRObject reads one compressed object from r, leaving r after it.
func readRObject(r *bytes.Reader) ([]byte, error) {
	var n uint32
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return nil, fmt.Errorf("length: %w", err)
	}
	kind, err := r.ReadByte()
	if err != nil {
		return nil, fmt.Errorf("compression byte: %w", err)
	}
	var src io.Reader
	switch kind {
	case 'Z':
		kind = 0
		fallthrough
	case 0x78: // a zlib header: R's default compress=TRUE
		if kind != 0 {
			r.UnreadByte()
		}
		// bytes.Reader is an io.ByteReader, so the decompressor reads
		// exactly the stream and r ends up at the next object.
		zr, err := zlib.NewReader(r)
		if err != nil {
			return nil, err
		}
		src = zr
	case '2':
		src = bzip2.NewReader(r)
	case '0':
		src = io.LimitReader(r, int64(n))
	case 'X':
		return nil, fmt.Errorf("xz-compressed objects are not supported")
	default:
		return nil, fmt.Errorf("unknown compression byte 0x%02x", kind)
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(src, out); err != nil {
		return nil, fmt.Errorf("decompress %d bytes: %w", n, err)
	}
	if zr, ok := src.(io.ReadCloser); ok {
		// Read to the end so the checksum is verified and consumed.
		if _, err := io.Copy(io.Discard, zr); err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
	}
	return out, nil
}

// unserializeStrings decodes an R XDR serialization whose top object is a
// character vector (STRSXP); NA elements become "". Any other top object
// gives nil (skipped: lazy-load databases also hold environments).
func unserializeStrings(b []byte) ([]string, error) {
	if len(b) < 14 || string(b[:2]) != "X\n" {
		return nil, fmt.Errorf("not R XDR serialization (header %q)", b[:min(2, len(b))])
	}
	p := 2
	u32 := func() (uint32, error) {
		if p+4 > len(b) {
			return 0, fmt.Errorf("truncated at byte %d", p)
		}
		v := binary.BigEndian.Uint32(b[p:])
		p += 4
		return v, nil
	}
	version, _ := u32()
	u32() // writer version
	u32() // minimal reader version
	switch version {
	case 2:
	case 3:
		n, err := u32()
		if err != nil || int(n) > len(b)-p {
			return nil, fmt.Errorf("bad native-encoding header")
		}
		p += int(n)
	default:
		return nil, fmt.Errorf("serialization version %d (want 2 or 3)", version)
	}
	flags, err := u32()
	if err != nil {
		return nil, err
	}
	const strsxp, charsxp = 16, 9
	if flags&0xff != strsxp {
		return nil, nil
	}
	n, err := u32()
	if err != nil {
		return nil, err
	}
	if int32(n) < 0 {
		return nil, fmt.Errorf("long vectors are not supported")
	}
	out := make([]string, 0, n)
	for i := uint32(0); i < n; i++ {
		f, err := u32()
		if err != nil {
			return nil, err
		}
		if f&0xff != charsxp {
			return nil, fmt.Errorf("element %d has type %d, want CHARSXP", i, f&0xff)
		}
		l, err := u32()
		if err != nil {
			return nil, err
		}
		if int32(l) == -1 { // NA_character_
			out = append(out, "")
			continue
		}
		if int(l) > len(b)-p {
			return nil, fmt.Errorf("element %d: length %d beyond the data", i, l)
		}
		out = append(out, string(b[p:p+int(l)]))
		p += int(l)
	}
	if err := checkUTF8([]byte(strings.Join(out, "\n"))); err != nil {
		return nil, err
	}
	return out, nil
}

func linesToParagraphs(lines []string) []string {
	var out, cur []string
	for _, l := range append(lines, "") {
		l = strings.TrimSpace(l)
		if l == "" {
			if len(cur) > 0 {
				out = append(out, strings.Join(cur, " "))
				cur = cur[:0]
			}
			continue
		}
		cur = append(cur, l)
	}
	return out
}
