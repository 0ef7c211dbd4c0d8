package checkpoint

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"emlab/internal/nn"
	"emlab/internal/optim"
)

func model(t *testing.T, d int, seed uint64) (*nn.ParamSet, *optim.AdamW) {
	t.Helper()
	cfg := nn.DefaultConfig(nn.ArchGPT)
	cfg.NLayers, cfg.DModel, cfg.NHeads, cfg.NCtx, cfg.DVocab = 1, d, 2, 8, 11
	m, err := nn.New(cfg, rand.New(rand.NewPCG(seed, 0)))
	if err != nil {
		t.Fatal(err)
	}
	ps := m.Params()
	o := optim.NewAdamW(optim.DefaultConfig(), ps)
	for i := range o.M {
		o.M[i], o.V[i] = float32(i), float32(2*i)
	}
	o.Step = 7
	return ps, o
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	ps, o := model(t, 8, 1)
	path, err := Save(dir, Meta{Step: 12, Tokens: 3456, OptStep: o.Step, Config: []byte(`{"x":1}`), CodeVersion: "abc"}, ps, o)
	if err != nil {
		t.Fatal(err)
	}
	ps2, o2 := model(t, 8, 2)
	o2.Step = 0
	m, err := Load(path, ps2, o2)
	if err != nil {
		t.Fatal(err)
	}
	if m.Step != 12 || m.Tokens != 3456 || m.OptStep != 7 || string(m.Config) != `{"x":1}` || m.CodeVersion != "abc" {
		t.Errorf("meta %+v", m)
	}
	if !slices.Equal(ps.Data, ps2.Data) || !slices.Equal(o.M, o2.M) || !slices.Equal(o.V, o2.V) || o2.Step != 7 {
		t.Error("state differs after load")
	}
	if steps, _ := Steps(dir); !slices.Equal(steps, []int{12}) {
		t.Errorf("Steps = %v", steps)
	}
}

func TestLoadErrorsLeaveStateAlone(t *testing.T) {
	dir := t.TempDir()
	ps, o := model(t, 8, 1)
	good, _ := Save(dir, Meta{Step: 1, Config: []byte(`{}`)}, ps, o)
	b, _ := os.ReadFile(good)
	cases := []struct {
		name string
		data []byte
		d    int // model width to load into
		want string
	}{
		{"truncated", b[:len(b)-10], 8, "outside"},
		{"bad header length", append([]byte{255, 255, 255, 255, 0, 0, 0, 0}, b[8:]...), 8, "header length"},
		{"shape mismatch", b, 16, "shape"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "step-1.safetensors")
			os.WriteFile(p, c.data, 0o644)
			ps2, o2 := model(t, c.d, 5)
			before := slices.Clone(ps2.Data)
			_, err := Load(p, ps2, o2)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("err = %v, want %q and the path", err, c.want)
			}
			if !slices.Equal(before, ps2.Data) {
				t.Error("failed load changed the parameters")
			}
		})
	}
}

func TestLoadLatestFallsBack(t *testing.T) {
	dir := t.TempDir()
	ps, o := model(t, 8, 1)
	Save(dir, Meta{Step: 4, Config: []byte(`{}`)}, ps, o)
	p8, _ := Save(dir, Meta{Step: 8, Config: []byte(`{}`)}, ps, o)
	os.WriteFile(p8, []byte("garbage"), 0o644)
	os.WriteFile(filepath.Join(dir, "step-x.safetensors"), nil, 0o644) // ignored: not a step
	m, path, skipped, found := LoadLatest(dir, ps, o)
	if !found || m.Step != 4 || !strings.HasSuffix(path, "step-4.safetensors") || len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "step-8") {
		t.Errorf("found=%v step=%d path=%s skipped=%v", found, m.Step, path, skipped)
	}
	_, _, _, found = LoadLatest(t.TempDir(), ps, o)
	if found {
		t.Error("found a checkpoint in an empty dir")
	}
}
