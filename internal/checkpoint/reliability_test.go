package checkpoint

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"emlab/internal/safetensors"
)

// TestReliabilityNonFinite: a checkpoint holding NaN or ±Inf in any tensor
// (weights or optimizer moments) is never written and never loaded; both
// errors name the tensor and wrap ErrNonFinite, and a refused load leaves
// the model untouched.
func TestReliabilityNonFinite(t *testing.T) {
	cases := []struct {
		name   string
		poison func(w, m, v []float32)
		want   string
	}{
		{"NaN weight", func(w, m, v []float32) { w[3] = float32(math.NaN()) }, "NaN"},
		{"+Inf weight", func(w, m, v []float32) { w[len(w)-1] = float32(math.Inf(1)) }, "+Inf"},
		{"-Inf first moment", func(w, m, v []float32) { m[0] = float32(math.Inf(-1)) }, "optim.exp_avg."},
		{"NaN second moment", func(w, m, v []float32) { v[7] = float32(math.NaN()) }, "optim.exp_avg_sq."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ps, o := model(t, 8, 1)
			c.poison(ps.Data, o.M, o.V)
			_, err := Save(dir, Meta{Step: 3, Config: []byte(`{}`)}, ps, o)
			if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Save: err = %v, want ErrNonFinite naming %q", err, c.want)
			}
			if steps, _ := Steps(dir); len(steps) != 0 {
				t.Fatalf("Save wrote %v despite the non-finite value", steps)
			}

			// A file written by another tool (or damaged in place) with the
			// same value is refused on load, naming the file.
			p := writeRaw(t, dir, 3, ps.Data, o.M, o.V)
			ps2, o2 := model(t, 8, 2)
			before := slices.Clone(ps2.Data)
			_, err = Load(p, ps2, o2)
			if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("Load: err = %v, want ErrNonFinite naming %q and the file", err, c.want)
			}
			if !slices.Equal(before, ps2.Data) {
				t.Error("a refused load changed the parameters")
			}
			// LoadLatest falls back past it like a damaged checkpoint.
			good, _ := model(t, 8, 3)
			if _, err := Save(dir, Meta{Step: 1, Config: []byte(`{}`)}, good, o2); err != nil {
				t.Fatal(err)
			}
			m, path, skipped, found := LoadLatest(dir, ps2, o2)
			if !found || m.Step != 1 || len(skipped) != 1 || !errors.Is(skipped[0], ErrNonFinite) {
				t.Errorf("LoadLatest: found=%v step=%d path=%s skipped=%v", found, m.Step, path, skipped)
			}
		})
	}
}

// writeRaw writes a checkpoint without Save's checks.
func writeRaw(t *testing.T, dir string, step int, w, m, v []float32) string {
	t.Helper()
	ps0, _ := model(t, 8, 1)
	var ts []safetensors.Tensor
	for _, p := range ps0.Params {
		ts = append(ts, safetensors.F32Tensor(p.Name, p.Shape, w[p.Off:p.Off+p.Size]))
		ts = append(ts, safetensors.F32Tensor("optim.exp_avg."+p.Name, p.Shape, m[p.Off:p.Off+p.Size]))
		ts = append(ts, safetensors.F32Tensor("optim.exp_avg_sq."+p.Name, p.Shape, v[p.Off:p.Off+p.Size]))
	}
	md := map[string]string{"format": Format, "step": strconv.Itoa(step), "tokens": "0", "optimizer_step": "3", "config": "{}"}
	path := filepath.Join(dir, Name(step))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := safetensors.Encode(f, ts, md); err != nil {
		t.Fatal(err)
	}
	return path
}
