// Package safetensors reads and writes the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON header mapping tensor names to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// byte after the header) plus an optional "__metadata__" object of strings,
// then the raw little-endian tensor bytes.
//
// The reader validates everything a corrupted or truncated file can get
// wrong (header length, JSON, dtype, shape × dtype size versus offsets,
// offsets inside the buffer, overlaps) and returns an error rather than
// panicking; it is fuzzed (FuzzDecode).
//
// Reader (reader.go) reads the header of a file on disk and then one tensor
// at a time, converted to float32 in bounded chunks, so a model far larger
// than the memory spare for a second copy can be loaded into its own
// buffer: the way Hugging Face checkpoints are read.
//
// What it deliberately does not do: memory-map files, or write F16/BF16
// (they are read and widened to float32 exactly, never produced).
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// DType names as spelled in safetensors headers.
type DType string

const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	U8   DType = "U8"
)

// Size returns the byte size of one element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16:
		return 2
	case U8:
		return 1
	}
	return 0
}

// Tensor is one named tensor with its raw little-endian bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// File is a decoded safetensors file.
type File struct {
	Metadata map[string]string
	Tensors  map[string]Tensor
	Names    []string // in data-offset order
}

// maxHeader bounds the JSON header (safetensors itself caps it at 100 MB).
const maxHeader = 100 << 20

type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Decode parses a whole safetensors file held in b. The returned tensors'
// Data slices alias b.
func Decode(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file too short (%d bytes) for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > maxHeader || n > uint64(len(b)-8) {
		return nil, fmt.Errorf("header length %d exceeds the file (%d bytes) or the 100 MB limit", n, len(b))
	}
	data := b[8+n:]
	h, err := parseHeader(b[8:8+n], int64(len(data)))
	if err != nil {
		return nil, err
	}
	f := &File{Metadata: h.metadata, Tensors: map[string]Tensor{}, Names: h.names}
	for name, e := range h.entries {
		f.Tensors[name] = Tensor{Name: name, DType: e.DType, Shape: e.Shape, Data: data[e.DataOffsets[0]:e.DataOffsets[1]]}
	}
	return f, nil
}

// header is a parsed and validated safetensors header.
type header struct {
	metadata map[string]string
	entries  map[string]headerEntry
	names    []string // in data-offset order
}

// parseHeader parses the JSON header hdr of a file whose data section (the
// bytes after the header) is dataLen bytes long, and checks every entry:
// known dtype, shape × dtype size equal to its byte span, spans inside the
// data section and not overlapping.
func parseHeader(hdr []byte, dataLen int64) (*header, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("header JSON: %w", err)
	}
	h := &header{metadata: map[string]string{}, entries: map[string]headerEntry{}}
	type span struct {
		name       string
		begin, end int64
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &h.metadata); err != nil {
				return nil, fmt.Errorf("header __metadata__: %w", err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("header entry %q: %w", name, err)
		}
		size := e.DType.Size()
		if size == 0 {
			return nil, fmt.Errorf("tensor %q: unknown dtype %q", name, e.DType)
		}
		count := int64(1)
		for _, s := range e.Shape {
			if s < 0 {
				return nil, fmt.Errorf("tensor %q: negative dimension in shape %v", name, e.Shape)
			}
			if s > 0 && count > math.MaxInt64/int64(s)/8 {
				return nil, fmt.Errorf("tensor %q: shape %v too large", name, e.Shape)
			}
			count *= int64(s)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > dataLen {
			return nil, fmt.Errorf("tensor %q: data offsets [%d, %d] outside the %d data bytes (truncated file?)", name, begin, end, dataLen)
		}
		if end-begin != count*int64(size) {
			return nil, fmt.Errorf("tensor %q: %d bytes for shape %v of %s (want %d)", name, end-begin, e.Shape, e.DType, count*int64(size))
		}
		h.entries[name] = e
		spans = append(spans, span{name, begin, end})
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].name < spans[j].name
	})
	for i, s := range spans {
		if i > 0 && s.begin < spans[i-1].end {
			return nil, fmt.Errorf("tensors %q and %q overlap", spans[i-1].name, s.name)
		}
		h.names = append(h.names, s.name)
	}
	return h, nil
}

// ReadFile reads and decodes the file at path; errors name the file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return f, nil
}

func (f *File) get(name string) (Tensor, error) {
	t, ok := f.Tensors[name]
	if !ok {
		return Tensor{}, fmt.Errorf("no tensor %q", name)
	}
	return t, nil
}

// F32 returns the named tensor as float32 (F32 as stored; F64 rounded to
// nearest; F16 and BF16 widened exactly).
func (f *File) F32(name string) ([]float32, []int, error) {
	t, err := f.get(name)
	if err != nil {
		return nil, nil, err
	}
	switch t.DType {
	case F32:
		out := make([]float32, len(t.Data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return out, t.Shape, nil
	case F64, F16, BF16:
		out := make([]float32, len(t.Data)/t.DType.Size())
		convertF32(out, t.Data, t.DType)
		return out, t.Shape, nil
	}
	return nil, nil, fmt.Errorf("tensor %q: dtype %s, want F32, F64, F16 or BF16", name, t.DType)
}

// F64 returns the named tensor as float64 (F64 as stored; F32 widened).
func (f *File) F64(name string) ([]float64, []int, error) {
	t, err := f.get(name)
	if err != nil {
		return nil, nil, err
	}
	switch t.DType {
	case F64:
		out := make([]float64, len(t.Data)/8)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
		}
		return out, t.Shape, nil
	case F32:
		out := make([]float64, len(t.Data)/4)
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:])))
		}
		return out, t.Shape, nil
	}
	return nil, nil, fmt.Errorf("tensor %q: dtype %s, want F64 or F32", name, t.DType)
}

// I32 returns the named tensor as int32 (I32 as stored; I64 narrowed, with
// an error if a value does not fit).
func (f *File) I32(name string) ([]int32, []int, error) {
	t, err := f.get(name)
	if err != nil {
		return nil, nil, err
	}
	switch t.DType {
	case I32:
		out := make([]int32, len(t.Data)/4)
		for i := range out {
			out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return out, t.Shape, nil
	case I64:
		out := make([]int32, len(t.Data)/8)
		for i := range out {
			v := int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
			if v < math.MinInt32 || v > math.MaxInt32 {
				return nil, nil, fmt.Errorf("tensor %q: value %d does not fit int32", name, v)
			}
			out[i] = int32(v)
		}
		return out, t.Shape, nil
	}
	return nil, nil, fmt.Errorf("tensor %q: dtype %s, want I32 or I64", name, t.DType)
}

// F32Tensor wraps float32 values as a tensor (copying them to bytes).
func F32Tensor(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: F32, Shape: shape, Data: b}
}

// F64Tensor wraps float64 values as a tensor.
func F64Tensor(name string, shape []int, v []float64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return Tensor{Name: name, DType: F64, Shape: shape, Data: b}
}

// I64Tensor wraps int64 values as a tensor.
func I64Tensor(name string, shape []int, v []int64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Tensor{Name: name, DType: I64, Shape: shape, Data: b}
}

// I32Tensor wraps int32 values as a tensor.
func I32Tensor(name string, shape []int, v []int32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return Tensor{Name: name, DType: I32, Shape: shape, Data: b}
}

// Encode writes tensors (in the given order) and metadata in safetensors
// format. Names must be unique and not "__metadata__"; each tensor's byte
// length must match its shape and dtype. The header is padded with spaces to
// a multiple of 8 bytes, as the reference implementation does.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	hdr := map[string]any{}
	if len(metadata) > 0 {
		hdr["__metadata__"] = metadata
	}
	var off int64
	for _, t := range tensors {
		if t.Name == "__metadata__" {
			return errors.New("safetensors: tensor name __metadata__ is reserved")
		}
		if _, dup := hdr[t.Name]; dup {
			return fmt.Errorf("safetensors: duplicate tensor %q", t.Name)
		}
		count := 1
		for _, s := range t.Shape {
			count *= s
		}
		if t.DType.Size() == 0 || count*t.DType.Size() != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q: %d bytes for shape %v of %s", t.Name, len(t.Data), t.Shape, t.DType)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[t.Name] = headerEntry{DType: t.DType, Shape: shape, DataOffsets: [2]int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	js, err := json.Marshal(hdr) // map keys are sorted: the header is deterministic
	if err != nil {
		return fmt.Errorf("safetensors: header: %w", err)
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	var lenb [8]byte
	binary.LittleEndian.PutUint64(lenb[:], uint64(len(js)))
	if _, err := w.Write(lenb[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}
