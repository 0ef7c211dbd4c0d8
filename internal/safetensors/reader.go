package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// Reader reads a safetensors file on disk tensor by tensor. Open reads and
// validates only the header; ReadFloat32 then streams one tensor's bytes in
// chunks of at most chunkBytes, so reading a tensor never holds more than a
// chunk of it besides the caller's destination. A Reader is not safe for
// concurrent use.
type Reader struct {
	path    string
	f       *os.File
	dataOff int64 // file offset of the data section
	h       *header
	raw     []byte    // chunk of raw bytes, reused
	conv    []float32 // chunk converted, reused
}

// chunkBytes bounds the raw bytes ReadFloat32 holds at once (and the
// float32 chunk it converts them to: at most 2× this for F16/BF16).
const chunkBytes = 1 << 20

// Info describes one tensor of a Reader.
type Info struct {
	Name  string
	DType DType
	Shape []int
}

// Len is the number of elements (the product of Shape; 1 for a scalar).
func (i Info) Len() int {
	n := 1
	for _, s := range i.Shape {
		n *= s
	}
	return n
}

// Open opens the safetensors file at path and reads its header. Errors name
// the file. The caller must Close the Reader.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := newReader(path, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return r, nil
}

func newReader(path string, f *os.File) (*Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	var lenb [8]byte
	if size < 8 {
		return nil, fmt.Errorf("file too short (%d bytes) for the 8-byte header length", size)
	}
	if _, err := f.ReadAt(lenb[:], 0); err != nil {
		return nil, fmt.Errorf("header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenb[:])
	if n > maxHeader || n > uint64(size-8) {
		return nil, fmt.Errorf("header length %d exceeds the file (%d bytes) or the 100 MB limit", n, size)
	}
	hdr := make([]byte, n)
	if _, err := f.ReadAt(hdr, 8); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	h, err := parseHeader(hdr, size-8-int64(n))
	if err != nil {
		return nil, err
	}
	return &Reader{path: path, f: f, dataOff: 8 + int64(n), h: h}, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Path is the file the Reader reads.
func (r *Reader) Path() string { return r.path }

// Metadata is the header's __metadata__ (empty when absent); the caller
// must not modify it.
func (r *Reader) Metadata() map[string]string { return r.h.metadata }

// Names lists the tensors in data-offset order.
func (r *Reader) Names() []string { return slices.Clone(r.h.names) }

// Lookup describes the named tensor.
func (r *Reader) Lookup(name string) (Info, bool) {
	e, ok := r.h.entries[name]
	if !ok {
		return Info{}, false
	}
	return Info{Name: name, DType: e.DType, Shape: slices.Clone(e.Shape)}, true
}

// ReadFloat32 streams the named tensor as float32 values, in row-major
// element order: fn is called with the offset of the chunk's first element
// and the chunk (a buffer reused by the next call, which fn must not keep).
// F32 is read as stored, F64 rounded to nearest, F16 and BF16 widened
// exactly. An error from fn stops the read and is returned as is.
func (r *Reader) ReadFloat32(name string, fn func(off int, v []float32) error) error {
	e, ok := r.h.entries[name]
	if !ok {
		return fmt.Errorf("safetensors %s: no tensor %q", r.path, name)
	}
	size := e.DType.Size()
	switch e.DType {
	case F32, F64, F16, BF16:
	default:
		return fmt.Errorf("safetensors %s: tensor %q: dtype %s, want F32, F64, F16 or BF16", r.path, name, e.DType)
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	per := chunkBytes / size // elements per chunk
	if cap(r.raw) < per*size {
		r.raw = make([]byte, per*size)
	}
	if cap(r.conv) < per {
		r.conv = make([]float32, per)
	}
	for off := begin; off < end; off += int64(per * size) {
		nb := int(min(int64(per*size), end-off))
		raw := r.raw[:nb]
		if _, err := r.f.ReadAt(raw, r.dataOff+off); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("safetensors %s: tensor %q: %w", r.path, name, err)
		}
		v := r.conv[:nb/size]
		convertF32(v, raw, e.DType)
		if err := fn(int((off-begin)/int64(size)), v); err != nil {
			return err
		}
	}
	return nil
}

// ReadInto reads the named tensor into dst, whose length must be the
// tensor's element count (see ReadFloat32 for the conversions).
func (r *Reader) ReadInto(name string, dst []float32) error {
	info, ok := r.Lookup(name)
	if !ok {
		return fmt.Errorf("safetensors %s: no tensor %q", r.path, name)
	}
	if info.Len() != len(dst) {
		return fmt.Errorf("safetensors %s: tensor %q has %d elements (shape %v), want %d", r.path, name, info.Len(), info.Shape, len(dst))
	}
	return r.ReadFloat32(name, func(off int, v []float32) error {
		copy(dst[off:], v)
		return nil
	})
}

// convertF32 widens or narrows len(dst) little-endian values of dtype d
// (F32, F64, F16 or BF16) from raw into dst.
func convertF32(dst []float32, raw []byte, d DType) {
	switch d {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	case F16:
		for i := range dst {
			dst[i] = F16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	default:
		panic("safetensors: convertF32 of " + string(d))
	}
}

// BF16ToF32 widens a bfloat16 (the top 16 bits of a float32) exactly.
func BF16ToF32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// F16ToF32 widens an IEEE 754 binary16 exactly: normals, subnormals
// (exponent 0: m·2⁻²⁴), ±0, ±Inf and NaN (payload kept in the top bits).
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0: // normal: rebias 15 → 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: shift the mantissa up to a normal float32.
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}
