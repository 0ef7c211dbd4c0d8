package hf

import (
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"emlab/internal/nn"
	"emlab/internal/safetensors"
	"emlab/internal/tensor"
)

// variants are the fixture directories tools/reference/hf_models.py
// writes, with what each must exercise (checked against its Spec so a
// regenerated fixture cannot silently stop covering an option).
var variants = []struct {
	dir   string
	dtype safetensors.DType
	want  func(nn.Spec) bool
}{
	{"gpt2_f32", safetensors.F32, func(s nn.Spec) bool {
		return s.Arch == nn.ArchGPT2 && s.TiedEmbeddings && s.Act == nn.ActGELUTanh && !s.ScaleAttnByLayer
	}},
	{"gpt2_opts_f16", safetensors.F16, func(s nn.Spec) bool {
		return s.Arch == nn.ArchGPT2 && !s.TiedEmbeddings && s.Act == nn.ActGELUErf && s.ScaleAttnByLayer &&
			s.LNEps == 1e-3 && s.DMLP != 4*s.DModel
	}},
	{"neox_f32", safetensors.F32, func(s nn.Spec) bool {
		return s.Arch == nn.ArchNeoX && s.Rotary && s.ParallelResidual && s.Act == nn.ActGELUErf &&
			s.RotaryDims < s.DHead() && s.RotaryBase == 10000
	}},
	{"neox_seq_bf16", safetensors.BF16, func(s nn.Spec) bool {
		return s.Arch == nn.ArchNeoX && !s.ParallelResidual && s.RotaryDims == s.DHead() && s.RotaryBase == 500 &&
			s.Act == nn.ActGELUTanh && s.LNEps == 1e-3
	}},
}

// refTol are TestReference's tolerances, each relative to the largest
// magnitude of the quantity compared.
//
// The fixture is float64 arithmetic on the very weights in the file (bf16
// and fp16 widened exactly, as the loader widens them), so the only
// difference is emlab's float32 arithmetic: unit roundoff u ≈ 6e-8 per
// operation, over a depth of ≈ 30 roundings in sequence (two blocks of
// LayerNorm, a length-32 or -48 dot product, softmax, GELU, residual adds)
// and sums of ≤ 48 terms: ≈ u·√30·few ≈ 1e-6 of the scale, as in the GPT's
// own reference test. The bounds give 10× margin for the blocked FMA
// summation order of the assembly kernels. The precision of the weights
// (bf16: 8 bits of mantissa) does not enter: both sides use the same
// rounded weights. Anything a loader can get wrong — a transposed or
// mis-permuted matrix, the wrong GELU (tanh and erf differ by up to 5e-4 at
// a pre-activation), a missed rotary dim, a wrong LayerNorm epsilon
// (1e-3 vs 1e-5 moves outputs by ≈ 1e-3 relative), the per-layer score
// scale — moves these quantities by far more.
const (
	refTolLogits = 1e-5
	refTolActs   = 1e-5
)

func readRef(t *testing.T, dir string) (*safetensors.File, []int32, int, int) {
	t.Helper()
	path := filepath.Join("testdata", dir, "reference.safetensors")
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 tools/reference/hf_models.py)", err)
	}
	B, errB := strconv.Atoi(f.Metadata["B"])
	T, errT := strconv.Atoi(f.Metadata["T"])
	if errB != nil || errT != nil {
		t.Fatalf("%s: bad B/T metadata", path)
	}
	tokens, _, err := f.I32("tokens")
	if err != nil || len(tokens) != B*T {
		t.Fatalf("%s: tokens: %v", path, err)
	}
	return f, tokens, B, T
}

// TestReference loads each fixture directory through the loader and
// matches the PyTorch reference's logits and every named activation.
func TestReference(t *testing.T) {
	for _, v := range variants {
		t.Run(v.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", v.dir)
			m, err := LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !v.want(m.Spec()) {
				t.Fatalf("%s: spec %+v is not the variant this fixture is for", dir, m.Spec())
			}
			checkDType(t, dir, v.dtype)
			f, tokens, B, T := readRef(t, v.dir)
			m.Forward(tokens, nil, B, T)

			want, _, err := f.F64("logits")
			if err != nil {
				t.Fatal(err)
			}
			d := relDiff(m.Logits(), want)
			t.Logf("logits: max |Δ| / max|logit| = %.2g", d)
			if d > refTolLogits {
				t.Errorf("logits differ from the reference by %.3g of their scale (tolerance %g)", d, refTolLogits)
			}

			// Every activation the fixture holds, and the fixture holds
			// every activation the model names.
			names := m.ActivationNames()
			worst, worstName := 0.0, ""
			for _, name := range f.Names {
				if name == "tokens" || name == "logits" || name == "inv_freq" {
					continue
				}
				got, shape, ok := m.Activation(name)
				if !ok {
					t.Errorf("model has no activation %s", name)
					continue
				}
				want, wshape, err := f.F64(name)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(shape, wshape) {
					t.Errorf("%s: shape %v, reference %v", name, shape, wshape)
					continue
				}
				d := relDiff(got, want)
				if d > worst {
					worst, worstName = d, name
				}
				if d > refTolActs {
					t.Errorf("%s differs by %.3g of its scale (tolerance %g)", name, d, refTolActs)
				}
				names = slices.DeleteFunc(names, func(n string) bool { return n == name })
			}
			names = slices.DeleteFunc(names, func(n string) bool { return n == "hook_logits" })
			if len(names) > 0 {
				t.Errorf("activations the reference does not check: %v", names)
			}
			t.Logf("activations: worst max |Δ| / scale = %.2g (%s)", worst, worstName)

			if m.Spec().Rotary {
				inv, _, err := f.F32("inv_freq")
				if err != nil {
					t.Fatal(err)
				}
				got := tensor.RotaryInvFreq(m.Spec().RotaryDims, m.Spec().RotaryBase)
				if !slices.Equal(got, inv) {
					t.Errorf("rotary inverse frequencies %v, PyTorch %v", got, inv)
				}
			}
		})
	}
}

// checkDType confirms the fixture's weights are stored in the dtype the
// variant is meant to exercise.
func checkDType(t *testing.T, dir string, want safetensors.DType) {
	t.Helper()
	r, err := safetensors.Open(filepath.Join(dir, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, n := range r.Names() {
		info, _ := r.Lookup(n)
		if strings.HasSuffix(n, ".weight") && info.DType != want {
			t.Fatalf("%s: %s is %s, want %s", dir, n, info.DType, want)
		}
	}
}

// relDiff is max |got − want| / max |want|.
func relDiff(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var d, s float64
	for i, v := range want {
		d = max(d, math.Abs(float64(got[i])-v))
		s = max(s, math.Abs(v))
	}
	if math.IsNaN(d) {
		return math.Inf(1)
	}
	return d / s
}
