package rundir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"emlab/internal/atomicfile"
)

// Info is what training records in config.json beside the resolved
// configuration: facts the analysis reads without building the model.
type Info struct {
	Params             int64    `json:"params"`               // every parameter
	NonEmbeddingParams int64    `json:"non_embedding_params"` // without token and position embeddings (Kaplan et al. 2020's N)
	Seed               uint64   `json:"seed"`
	FLOPsPerToken      float64  `json:"flops_per_token"` // training (forward + backward)
	TokensPerStep      int64    `json:"tokens_per_step"`
	CodeVersion        string   `json:"code_version"`
	Command            []string `json:"command,omitempty"` // the command line that started the run
}

// RunConfig is config.json as the analysis reads it: Info and the
// configuration keys the index, the report and the demo's checks show.
// The configuration's own type (package config) owns the rest.
type RunConfig struct {
	Info
	// HasSeed is false when the file has no "seed" (a run directory made
	// by hand); analyses then label the run by its directory.
	HasSeed bool `json:"-"`
	Model   struct {
		Arch    string `json:"arch"`
		DModel  int    `json:"d_model"`
		NLayers int    `json:"n_layers"`
		NHeads  int    `json:"n_heads"`
		DVocab  int    `json:"d_vocab"`
		NCtx    int    `json:"n_ctx"`
	} `json:"model"`
	Data struct {
		Source string `json:"source"`
		Tasks  string `json:"tasks"` // the task mixture as written, e.g. "add:2,icl:1"
	} `json:"data"`
	Train struct {
		Steps int `json:"steps"`
	} `json:"train"`
}

// SeedLabel is the seed as text, "" when the file has none.
func (c *RunConfig) SeedLabel() string {
	if !c.HasSeed {
		return ""
	}
	return strconv.FormatUint(c.Seed, 10)
}

// ParseRunConfig reads config.json's content; label names the file in
// errors. A missing "params" or "non_embedding_params" reads as 0 (a
// directory made by hand; analyses on those axes refuse it); a negative
// one is an error.
func ParseRunConfig(b []byte, label string) (*RunConfig, error) {
	var c RunConfig
	if err := strictUnmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	if c.Params < 0 || c.NonEmbeddingParams < 0 {
		return nil, fmt.Errorf("%s: \"params\" and \"non_embedding_params\" must not be negative, got %d and %d", label, c.Params, c.NonEmbeddingParams)
	}
	_, c.HasSeed = keys["seed"]
	return &c, nil
}

// ErrNotRun is wrapped by the error of ReadConfigJSON for a directory
// without config.json.
var ErrNotRun = errors.New("not a run directory")

// ReadConfigJSON returns dir's config.json as written; a missing file is
// an error wrapping ErrNotRun.
func ReadConfigJSON(dir string) ([]byte, error) {
	return readConfigJSON(os.DirFS(dir), dir)
}

func readConfigJSON(fsys fs.FS, label string) ([]byte, error) {
	b, err := readFile(fsys, ConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is %w (no %s)", label, ErrNotRun, ConfigFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Path(label, ConfigFile), err)
	}
	return b, nil
}

// ReadRunConfig reads and parses dir's config.json.
func ReadRunConfig(dir string) (*RunConfig, error) {
	b, err := ReadConfigJSON(dir)
	if err != nil {
		return nil, err
	}
	return ParseRunConfig(b, Path(dir, ConfigFile))
}

// WriteConfig writes config.json: the fields of cfg (the resolved
// configuration, which must encode as a JSON object) followed by those of
// info, indented, atomically.
func WriteConfig(dir string, cfg any, info Info) error {
	path := Path(dir, ConfigFile)
	a, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	b, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	if len(a) < 2 || a[0] != '{' || a[len(a)-1] != '}' {
		return fmt.Errorf("%s: the configuration is not a JSON object", path)
	}
	joined := append([]byte(nil), a[:len(a)-1]...)
	if len(a) > 2 {
		joined = append(joined, ',')
	}
	joined = append(joined, b[1:]...)
	var out bytes.Buffer
	if err := json.Indent(&out, joined, "", "  "); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	out.WriteByte('\n')
	return atomicfile.WriteBytes(path, out.Bytes())
}

// WriteTokenizer writes tokenizer.json (the tokenizer's own JSON form),
// atomically.
func WriteTokenizer(dir string, b []byte) error {
	return atomicfile.WriteBytes(Path(dir, TokenizerFile), append(bytes.TrimRight(b, "\n"), '\n'))
}

// ReadTokenizer returns dir's tokenizer.json, or nil when there is none
// (the synthetic stream has no tokenizer).
func ReadTokenizer(dir string) ([]byte, error) {
	b, err := readFile(os.DirFS(dir), TokenizerFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Path(dir, TokenizerFile), err)
	}
	return b, nil
}

// MarkDone writes DONE, training's last act; its content is the code
// version that finished the run.
func MarkDone(dir, codeVersion string) error {
	return atomicfile.WriteBytes(Path(dir, DoneFile), []byte(codeVersion+"\n"))
}

// IsDone reports whether dir holds a finished run (its DONE file).
func IsDone(dir string) bool {
	fi, err := os.Stat(Path(dir, DoneFile))
	return err == nil && fi.Mode().IsRegular()
}

// HasConfig reports whether dir holds a started run (its config.json).
func HasConfig(dir string) bool {
	fi, err := os.Stat(Path(dir, ConfigFile))
	return err == nil && fi.Mode().IsRegular()
}
