package hf

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	ckpt "emlab/internal/checkpoint"
	"emlab/internal/nn"
)

// LoadModel reads dir's config.json and weights into a new model. Errors
// name the file and the key or tensor at fault.
func LoadModel(dir string) (*nn.Pretrained, error) {
	s, err := ReadSpec(dir)
	if err != nil {
		return nil, err
	}
	m, err := nn.NewPretrained(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if err := loadInto(m, dir); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadWeights overwrites m's weights with the checkpoint in dir, which
// must describe the same model (its config.json gives m's Spec): the next
// checkpoint of a training run is loaded into the buffers of the previous
// one, allocating nothing the size of the weights. On error m's weights
// may be partly overwritten.
func LoadWeights(m *nn.Pretrained, dir string) error {
	s, err := ReadSpec(dir)
	if err != nil {
		return err
	}
	if s != m.Spec() {
		return fmt.Errorf("%s describes %+v, not the loaded model %+v", filepath.Join(dir, ConfigFile), s, m.Spec())
	}
	return loadInto(m, dir)
}

func loadInto(m *nn.Pretrained, dir string) (err error) {
	c, err := openCheckpoint(dir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	if err := c.load(m.Spec(), m.Params()); err != nil {
		return err
	}
	// NaN or ±Inf weights come from a diverged run: refused as emlab's own
	// checkpoints are, before any probe's eigensolver iterates on them.
	if name, v, bad := ckpt.NonFinite(m.Params(), nil); bad {
		return fmt.Errorf("%s: %w: tensor %q holds %v", dir, ckpt.ErrNonFinite, name, v)
	}
	return nil
}

// IsModelDir reports whether dir holds a config.json (a Hugging Face model
// directory, as opposed to a folder of them).
func IsModelDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ConfigFile))
	return err == nil
}

// IsModel reports whether dir is a Hugging Face model directory: its
// config.json names a model_type (emlab's run directories have a
// config.json of their own, which never does).
func IsModel(dir string) bool {
	c, err := readConfig(dir)
	return err == nil && c.has("model_type")
}

// SameTokenizer checks that two model directories have byte-identical
// tokenizer files (tokenizer.json, or vocab.json and merges.txt): the
// checkpoints of one training run share a tokenizer, and one loaded once
// serves them all.
func SameTokenizer(a, b string) error {
	ha, err := tokenizerDigest(a)
	if err != nil {
		return err
	}
	hb, err := tokenizerDigest(b)
	if err != nil {
		return err
	}
	if ha != hb {
		return fmt.Errorf("%s has another tokenizer than %s: one run's checkpoints share one", b, a)
	}
	return nil
}

func tokenizerDigest(dir string) ([32]byte, error) {
	h := sha256.New()
	names := []string{TokenizerFile}
	if _, err := os.Stat(filepath.Join(dir, TokenizerFile)); err != nil {
		names = []string{VocabFile, MergesFile}
	}
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			return [32]byte{}, err
		}
		fmt.Fprintf(h, "%s\n", n)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return [32]byte{}, fmt.Errorf("%s: %w", filepath.Join(dir, n), err)
		}
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}

// Checkpoint is one training step's model directory.
type Checkpoint struct {
	Step int
	Dir  string
}

// stepDir is the name of a training checkpoint's directory: step<N>, as
// Pythia's revisions are named (step0 … step143000).
var stepDir = regexp.MustCompile(`^step(\d+)$`)

// StepOf returns N for a directory named step<N>, as Pythia's revisions
// are; ok is false for any other name.
func StepOf(dir string) (step int, ok bool) {
	m := stepDir.FindStringSubmatch(filepath.Base(filepath.Clean(dir)))
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// Steps lists the step<N> subdirectories of dir that are model directories,
// in increasing step order. It fails when dir has none, or when two name
// the same step (step010 and step10).
func Steps(dir string) ([]Checkpoint, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Checkpoint
	seen := map[int]string{}
	for _, e := range entries {
		m := stepDir.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if !IsModelDir(sub) {
			continue
		}
		step, err := strconv.Atoi(m[1])
		if err != nil {
			return nil, fmt.Errorf("%s: step number: %w", sub, err)
		}
		if prev, dup := seen[step]; dup {
			return nil, fmt.Errorf("%s and %s are both step %d", prev, sub, step)
		}
		seen[step] = sub
		out = append(out, Checkpoint{Step: step, Dir: sub})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no step<N>/ subdirectories with a %s", dir, ConfigFile)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out, nil
}
