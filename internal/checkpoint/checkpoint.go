// Package checkpoint saves and restores a training run's state as a
// safetensors file: the weights under GPT-2 style names, the AdamW moments
// under optim.exp_avg.<name> and optim.exp_avg_sq.<name> (PyTorch's names),
// and in the metadata the step, tokens seen, optimizer step, the resolved
// config and the code version. Files are written atomically, so a run killed
// mid-write leaves the previous checkpoint intact.
//
// Batches are pure functions of (seed, step) (see data.Source), so the step
// is the whole RNG state of the data stream; it is recorded as "rng" for
// readers.
package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"emlab/internal/atomicfile"
	"emlab/internal/nn"
	"emlab/internal/optim"
	"emlab/internal/safetensors"
)

// Format identifies emlab checkpoints in the metadata.
const Format = "emlab-checkpoint/1"

// Meta is what a checkpoint records besides tensors.
type Meta struct {
	Step        int             // optimizer steps taken
	Tokens      int64           // training tokens seen
	OptStep     int             // AdamW step counter (bias correction)
	Config      json.RawMessage // resolved run config
	CodeVersion string
	Extra       map[string]string // other metadata, kept verbatim
}

// ErrNonFinite is wrapped by the errors of Save and Load when a tensor holds
// NaN or ±Inf: such weights come from a diverged run and are never written
// nor accepted (a resume falls back past them like a damaged file).
var ErrNonFinite = errors.New("non-finite values")

// NonFinite returns the name of the first tensor of ps (or of opt's
// moments, under their checkpoint names) holding NaN or ±Inf, with the
// offending value; ok is false when every value is finite.
func NonFinite(ps *nn.ParamSet, opt *optim.AdamW) (name string, v float32, ok bool) {
	for _, p := range ps.Params {
		if i := firstNonFinite(ps.Data[p.Off : p.Off+p.Size]); i >= 0 {
			return p.Name, ps.Data[p.Off+i], true
		}
	}
	if opt == nil {
		return "", 0, false
	}
	for _, p := range ps.Params {
		if i := firstNonFinite(opt.M[p.Off : p.Off+p.Size]); i >= 0 {
			return "optim.exp_avg." + p.Name, opt.M[p.Off+i], true
		}
		if i := firstNonFinite(opt.V[p.Off : p.Off+p.Size]); i >= 0 {
			return "optim.exp_avg_sq." + p.Name, opt.V[p.Off+i], true
		}
	}
	return "", 0, false
}

// firstNonFinite is the index of the first NaN or ±Inf in x, or -1.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		// v−v is 0 for every finite v and NaN for NaN and ±Inf.
		if v-v != 0 {
			return i
		}
	}
	return -1
}

// nonFiniteError describes a non-finite value found in tensor name.
func nonFiniteError(name string, v float32) error {
	return fmt.Errorf("%w: tensor %q holds %v (the run diverged)", ErrNonFinite, name, v)
}

// Name returns the file name of the checkpoint at step.
func Name(step int) string { return fmt.Sprintf("step-%d.safetensors", step) }

// Save writes the checkpoint for step into dir (created if needed). It
// refuses, writing nothing, when a weight or moment is not finite.
func Save(dir string, m Meta, ps *nn.ParamSet, opt *optim.AdamW) (string, error) {
	if name, v, bad := NonFinite(ps, opt); bad {
		return "", fmt.Errorf("save checkpoint step %d: %w", m.Step, nonFiniteError(name, v))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("checkpoint dir: %w", err)
	}
	var ts []safetensors.Tensor
	for _, p := range ps.Params {
		ts = append(ts, safetensors.F32Tensor(p.Name, p.Shape, ps.Data[p.Off:p.Off+p.Size]))
	}
	if opt != nil {
		for _, p := range ps.Params {
			ts = append(ts, safetensors.F32Tensor("optim.exp_avg."+p.Name, p.Shape, opt.M[p.Off:p.Off+p.Size]))
			ts = append(ts, safetensors.F32Tensor("optim.exp_avg_sq."+p.Name, p.Shape, opt.V[p.Off:p.Off+p.Size]))
		}
	}
	md := map[string]string{}
	for k, v := range m.Extra {
		md[k] = v
	}
	md["format"] = Format
	md["step"] = strconv.Itoa(m.Step)
	md["tokens"] = strconv.FormatInt(m.Tokens, 10)
	md["optimizer_step"] = strconv.Itoa(m.OptStep)
	md["config"] = string(m.Config)
	md["code_version"] = m.CodeVersion
	md["rng"] = fmt.Sprintf(`{"data_step":%d}`, m.Step)
	path := filepath.Join(dir, Name(m.Step))
	err := atomicfile.WriteFile(path, func(w io.Writer) error { return safetensors.Encode(w, ts, md) })
	if err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	return path, nil
}

// Load reads the checkpoint at path into ps (and opt, if not nil). It checks
// every tensor's presence, dtype, shape and finiteness before changing
// anything, so a bad file leaves ps and opt untouched. Errors name the file;
// a NaN or ±Inf gives an error wrapping ErrNonFinite.
func Load(path string, ps *nn.ParamSet, opt *optim.AdamW) (Meta, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return Meta{}, fmt.Errorf("load checkpoint: %w", err)
	}
	m, err := parseMeta(f.Metadata)
	if err != nil {
		return Meta{}, fmt.Errorf("load checkpoint %s: %w", path, err)
	}
	data := make([]float32, len(ps.Data))
	var mom, vel []float32
	if opt != nil {
		mom, vel = make([]float32, len(ps.Data)), make([]float32, len(ps.Data))
	}
	read := func(name string, p nn.Param, dst []float32) error {
		t, ok := f.Tensors[name]
		if !ok {
			return fmt.Errorf("missing tensor %q", name)
		}
		if t.DType != safetensors.F32 {
			return fmt.Errorf("tensor %q: dtype %s, want F32", name, t.DType)
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return fmt.Errorf("tensor %q: shape %v, the model has %v (different config?)", name, t.Shape, p.Shape)
		}
		v, _, err := f.F32(name)
		if err != nil {
			return err
		}
		if i := firstNonFinite(v); i >= 0 {
			return nonFiniteError(name, v[i])
		}
		copy(dst[p.Off:p.Off+p.Size], v)
		return nil
	}
	for _, p := range ps.Params {
		if err := read(p.Name, p, data); err != nil {
			return Meta{}, fmt.Errorf("load checkpoint %s: %w", path, err)
		}
		if opt != nil {
			if err := read("optim.exp_avg."+p.Name, p, mom); err != nil {
				return Meta{}, fmt.Errorf("load checkpoint %s: %w", path, err)
			}
			if err := read("optim.exp_avg_sq."+p.Name, p, vel); err != nil {
				return Meta{}, fmt.Errorf("load checkpoint %s: %w", path, err)
			}
		}
	}
	copy(ps.Data, data)
	if opt != nil {
		copy(opt.M, mom)
		copy(opt.V, vel)
		opt.Step = m.OptStep
	}
	return m, nil
}

// ReadMeta reads only a checkpoint's metadata (and validates the file).
func ReadMeta(path string) (Meta, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return Meta{}, fmt.Errorf("read checkpoint: %w", err)
	}
	m, err := parseMeta(f.Metadata)
	if err != nil {
		return Meta{}, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	return m, nil
}

func parseMeta(md map[string]string) (Meta, error) {
	if md["format"] != Format {
		return Meta{}, fmt.Errorf("metadata format %q, want %q", md["format"], Format)
	}
	var m Meta
	var err error
	if m.Step, err = strconv.Atoi(md["step"]); err != nil || m.Step < 0 {
		return Meta{}, fmt.Errorf("metadata step %q is not a step number", md["step"])
	}
	if m.Tokens, err = strconv.ParseInt(md["tokens"], 10, 64); err != nil {
		return Meta{}, fmt.Errorf("metadata tokens %q is not a number", md["tokens"])
	}
	if m.OptStep, err = strconv.Atoi(md["optimizer_step"]); err != nil {
		return Meta{}, fmt.Errorf("metadata optimizer_step %q is not a number", md["optimizer_step"])
	}
	if !json.Valid([]byte(md["config"])) {
		return Meta{}, errors.New("metadata config is not valid JSON")
	}
	m.Config = json.RawMessage(md["config"])
	m.CodeVersion = md["code_version"]
	m.Extra = map[string]string{}
	for k, v := range md {
		switch k {
		case "format", "step", "tokens", "optimizer_step", "config", "code_version", "rng":
		default:
			m.Extra[k] = v
		}
	}
	return m, nil
}

// Steps lists the steps of the checkpoint files in dir, ascending (by file
// name; validity is checked when loading).
func Steps(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var steps []int
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "step-") || !strings.HasSuffix(name, ".safetensors") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "step-"), ".safetensors"))
		if err != nil || n < 0 {
			continue
		}
		steps = append(steps, n)
	}
	slices.Sort(steps)
	return steps, nil
}

// LoadLatest loads the newest checkpoint in dir that loads cleanly, falling
// back past corrupted ones. It returns the metadata, the path used, and one
// error per checkpoint skipped (for the caller to report). found is false
// when there is no loadable checkpoint.
func LoadLatest(dir string, ps *nn.ParamSet, opt *optim.AdamW) (m Meta, path string, skipped []error, found bool) {
	steps, err := Steps(dir)
	if err != nil {
		return Meta{}, "", []error{err}, false
	}
	for i := len(steps) - 1; i >= 0; i-- {
		p := filepath.Join(dir, Name(steps[i]))
		m, err := Load(p, ps, opt)
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		if m.Step != steps[i] {
			skipped = append(skipped, fmt.Errorf("checkpoint %s: metadata says step %d", p, m.Step))
			continue
		}
		return m, p, skipped, true
	}
	return Meta{}, "", skipped, false
}
