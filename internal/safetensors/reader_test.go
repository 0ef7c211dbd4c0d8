package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestF16ToF32 checks every one of the 65536 binary16 values against the
// definition: (−1)^s·2^(e−15)·(1 + m/1024) for normals, (−1)^s·2^−14·m/1024
// for subnormals, Inf and NaN for e = 31.
func TestF16ToF32(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		s, e, m := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case e == 0x1f && m == 0:
			want = math.Inf(1)
		case e == 0x1f:
			want = math.NaN()
		case e == 0:
			want = math.Ldexp(float64(m)/1024, -14)
		default:
			want = math.Ldexp(1+float64(m)/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		got := F16ToF32(uint16(h))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("F16ToF32(%#04x) = %v, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (s == 1) {
			t.Fatalf("F16ToF32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

func TestBF16ToF32(t *testing.T) {
	for _, x := range []float32{0, 1, -2.5, 3.140625, float32(math.Inf(-1)), 1e-40} {
		b := uint16(math.Float32bits(x) >> 16)
		if got, want := BF16ToF32(b), math.Float32frombits(uint32(b)<<16); got != want {
			t.Errorf("BF16ToF32(%#04x) = %v, want %v", b, got, want)
		}
	}
	// Values exactly representable in bf16 round-trip.
	if got := BF16ToF32(0x4049); got != 3.140625 {
		t.Errorf("BF16ToF32(0x4049) = %v, want 3.140625", got)
	}
}

// half16 builds an F16 or BF16 tensor from raw 16-bit patterns.
func half16(name string, d DType, shape []int, bits []uint16) Tensor {
	b := make([]byte, 2*len(bits))
	for i, v := range bits {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return Tensor{Name: name, DType: d, Shape: shape, Data: b}
}

func writeFile(t *testing.T, ts []Tensor) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.safetensors")
	var buf bytes.Buffer
	if err := Encode(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReaderStreams reads every dtype through the Reader, including an F32
// tensor longer than one chunk (so a chunk boundary falls inside it), and
// checks the values and the chunk offsets.
func TestReaderStreams(t *testing.T) {
	big := make([]float32, chunkBytes/4*2+1234) // 2 chunks and a bit
	for i := range big {
		big[i] = float32(i) * 0.5
	}
	path := writeFile(t, []Tensor{
		F32Tensor("big", []int{len(big)}, big),
		F64Tensor("d", []int{2}, []float64{1.5, 1.0 / 3}),
		half16("h", F16, []int{3}, []uint16{0x3c00, 0xc000, 0x0001}),
		half16("b", BF16, []int{2}, []uint16{0x4049, 0xbf80}),
		I32Tensor("ids", []int{1}, []int32{3}),
	})
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Metadata()["format"] != "pt" {
		t.Errorf("metadata = %v", r.Metadata())
	}
	got := make([]float32, len(big))
	var offs []int
	err = r.ReadFloat32("big", func(off int, v []float32) error {
		offs = append(offs, off)
		copy(got[off:], v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(offs) != 3 || offs[1] != chunkBytes/4 {
		t.Errorf("chunk offsets %v, want 3 chunks of %d", offs, chunkBytes/4)
	}
	for i := range big {
		if got[i] != big[i] {
			t.Fatalf("big[%d] = %v, want %v", i, got[i], big[i])
		}
	}
	for _, tc := range []struct {
		name string
		want []float32
	}{
		{"d", []float32{1.5, float32(1.0 / 3)}},
		{"h", []float32{1, -2, float32(math.Ldexp(1, -24))}},
		{"b", []float32{3.140625, -1}},
	} {
		dst := make([]float32, len(tc.want))
		if err := r.ReadInto(tc.name, dst); err != nil {
			t.Fatal(err)
		}
		for i := range dst {
			if dst[i] != tc.want[i] {
				t.Errorf("%s[%d] = %v, want %v", tc.name, i, dst[i], tc.want[i])
			}
		}
	}
	if err := r.ReadInto("ids", make([]float32, 1)); err == nil || !strings.Contains(err.Error(), "dtype I32") {
		t.Errorf("reading I32 as float: %v", err)
	}
	if err := r.ReadInto("d", make([]float32, 3)); err == nil || !strings.Contains(err.Error(), `"d" has 2 elements`) {
		t.Errorf("wrong length: %v", err)
	}
	if err := r.ReadInto("nope", nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("missing tensor error should name the file: %v", err)
	}
	if info, ok := r.Lookup("h"); !ok || info.DType != F16 || info.Len() != 3 {
		t.Errorf("Lookup(h) = %+v %v", info, ok)
	}
}

// TestReaderRejectsTruncated: a file cut short fails at Open (the header's
// offsets point past the end), naming the file.
func TestReaderRejectsTruncated(t *testing.T) {
	path := writeFile(t, []Tensor{F32Tensor("w", []int{4}, []float32{1, 2, 3, 4})})
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, b[:len(b)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("Open of a truncated file: %v", err)
	}
}

// TestDecodeConvertsHalf: the in-memory File converts F16 and BF16 too.
func TestDecodeConvertsHalf(t *testing.T) {
	b := encode(t, []Tensor{half16("h", F16, []int{1}, []uint16{0x3555}), half16("b", BF16, []int{1}, []uint16{0x3eab})}, nil)
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := f.F32("h")
	if err != nil || h[0] != F16ToF32(0x3555) {
		t.Errorf("F32(h) = %v %v", h, err)
	}
	bf, _, err := f.F32("b")
	if err != nil || bf[0] != BF16ToF32(0x3eab) {
		t.Errorf("F32(b) = %v %v", bf, err)
	}
}
