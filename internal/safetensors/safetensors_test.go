package safetensors

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func sample() []Tensor {
	return []Tensor{
		F32Tensor("h.0.attn.c_attn.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		I64Tensor("step", []int{}, []int64{42}),
		F64Tensor("d", []int{1}, []float64{0.25}),
		I32Tensor("tokens", []int{3}, []int32{7, -1, 9}),
	}
}

func encode(t *testing.T, ts []Tensor, md map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, ts, md); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	b := encode(t, sample(), map[string]string{"config": `{"a":1}`})
	if binary.LittleEndian.Uint64(b)%8 != 0 {
		t.Errorf("header length not padded to 8")
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["config"] != `{"a":1}` {
		t.Errorf("metadata = %v", f.Metadata)
	}
	w, shape, err := f.F32("h.0.attn.c_attn.weight")
	if err != nil || !reflect.DeepEqual(w, []float32{1, 2, 3, 4, 5, 6}) || !reflect.DeepEqual(shape, []int{2, 3}) {
		t.Errorf("F32 = %v %v %v", w, shape, err)
	}
	tok, _, err := f.I32("tokens")
	if err != nil || !reflect.DeepEqual(tok, []int32{7, -1, 9}) {
		t.Errorf("I32 = %v %v", tok, err)
	}
	step, _, err := f.I32("step")
	if err != nil || step[0] != 42 {
		t.Errorf("I32 from I64 = %v %v", step, err)
	}
	if want := []string{"h.0.attn.c_attn.weight", "step", "d", "tokens"}; !reflect.DeepEqual(f.Names, want) {
		t.Errorf("Names = %v, want %v", f.Names, want)
	}
	// Deterministic bytes: encoding twice gives the same file.
	if !bytes.Equal(b, encode(t, sample(), map[string]string{"config": `{"a":1}`})) {
		t.Error("Encode is not deterministic")
	}
}

// TestPythonFixture reads a file written by tools/reference/st.py, the
// writer of the PyTorch fixtures, so the two implementations agree.
func TestPythonFixture(t *testing.T) {
	f, err := ReadFile("testdata/python_v1.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	a, shape, err := f.F32("a")
	if err != nil || !reflect.DeepEqual(a, []float32{0, 1, 2, 3, 4, 5}) || !reflect.DeepEqual(shape, []int{2, 3}) {
		t.Errorf("a = %v %v %v", a, shape, err)
	}
	i, _, err := f.I32("i")
	if err != nil || !reflect.DeepEqual(i, []int32{1, -2, 3}) {
		t.Errorf("i = %v %v", i, err)
	}
	d, _, err := f.F64("d")
	if err != nil || d[0] != 0.5 {
		t.Errorf("d = %v %v", d, err)
	}
	if f.Metadata["made_by"] != "tools/reference/st.py" {
		t.Errorf("metadata %v", f.Metadata)
	}
}

func TestCorrupt(t *testing.T) {
	good := encode(t, sample(), nil)
	hlen := int(binary.LittleEndian.Uint64(good))
	setLen := func(n uint64) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint64(b, n)
		return b
	}
	withHeader := func(h string) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, uint64(len(h)))
		b.WriteString(h)
		b.Write(make([]byte, 16))
		return b.Bytes()
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"header length past end", setLen(uint64(len(good))), "exceeds"},
		{"huge header length", setLen(1 << 62), "exceeds"},
		{"truncated data", good[:len(good)-3], "outside"},
		{"broken json", withHeader(`{"a": {"dtype": "F32", `), "header JSON"},
		{"bad dtype", withHeader(`{"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,4]}}`), "unknown dtype"},
		{"size mismatch", withHeader(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,4]}}`), "want 12"},
		{"negative dim", withHeader(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`), "negative"},
		{"overlap", withHeader(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`), "overlap"},
		{"bad metadata", withHeader(`{"__metadata__":{"x":1}}`), "__metadata__"},
	}
	_ = hlen
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestWrongDType(t *testing.T) {
	f, err := Decode(encode(t, sample(), nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.F32("tokens"); err == nil {
		t.Error("F32 of an I32 tensor succeeded")
	}
	if _, _, err := f.I32("missing"); err == nil {
		t.Error("missing tensor succeeded")
	}
}

func TestEncodeErrors(t *testing.T) {
	var buf bytes.Buffer
	bad := []Tensor{{Name: "x", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}
	if err := Encode(&buf, bad, nil); err == nil {
		t.Error("size mismatch encoded")
	}
	dup := []Tensor{F32Tensor("x", []int{1}, []float32{1}), F32Tensor("x", []int{1}, []float32{1})}
	if err := Encode(&buf, dup, nil); err == nil {
		t.Error("duplicate encoded")
	}
}

// FuzzDecode: Decode must never panic, and whatever it accepts must
// re-encode to a file that decodes to the same tensors.
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	Encode(&buf, sample(), map[string]string{"k": "v"})
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			return
		}
		var ts []Tensor
		for _, n := range file.Names {
			ts = append(ts, file.Tensors[n])
		}
		var out bytes.Buffer
		if err := Encode(&out, ts, file.Metadata); err != nil {
			t.Fatalf("re-encode of accepted file failed: %v", err)
		}
		again, err := Decode(out.Bytes())
		if err != nil {
			t.Fatalf("re-decode failed: %v", err)
		}
		for _, n := range file.Names {
			if !bytes.Equal(again.Tensors[n].Data, file.Tensors[n].Data) {
				t.Fatalf("tensor %q changed in round trip", n)
			}
		}
	})
}
