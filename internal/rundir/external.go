package rundir

// external.go: runs emlab did not train. A directory of checkpoints
// trained elsewhere (a Hugging Face model directory, or a folder of
// step<N>/ ones) becomes a run when eval or probe first write results for
// it: they write ExternalFile, which stands for config.json (whose name
// such a directory may already use for its own format) and says what the
// analysis needs — the parameter counts, the shape, the checkpoints — and
// then evals.jsonl, probes.jsonl and samples.jsonl as for any run.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"

	"emlab/internal/atomicfile"
)

// ExternalSource is Data.Source of a run trained elsewhere.
const ExternalSource = "external"

// External is ExternalFile's content. Its JSON form reads as a RunConfig
// (the same keys; no seed, so analyses label its points by directory).
type External struct {
	Params             int64   `json:"params"`
	NonEmbeddingParams int64   `json:"non_embedding_params"`
	FLOPsPerToken      float64 `json:"flops_per_token"` // training (forward + backward), at the model's context
	// TokensPerStep is what the model trained on per step, when the user
	// says (Pythia: 2,097,152); metrics.jsonl then has a line per
	// checkpoint with its tokens and FLOPs, for those axes. 0: unknown.
	TokensPerStep int64    `json:"tokens_per_step,omitempty"`
	CodeVersion   string   `json:"code_version"` // of the emlab that wrote the file
	Command       []string `json:"command,omitempty"`
	Model         struct {
		Arch    string `json:"arch"` // the family, as config.json's model_type (gpt2, gpt_neox)
		DModel  int    `json:"d_model"`
		NLayers int    `json:"n_layers"`
		NHeads  int    `json:"n_heads"`
		DVocab  int    `json:"d_vocab"`
		NCtx    int    `json:"n_ctx"`
	} `json:"model"`
	Data struct {
		Source string `json:"source"` // ExternalSource
		// Tasks is the task mixture eval scored (the union over its
		// runs), which later runs use when not given --tasks, with the
		// content of the task files it names (the JSON form of
		// tasks.Files, kept as written: this package is model-side free).
		Tasks     string          `json:"tasks"`
		TaskFiles json.RawMessage `json:"task_files,omitempty"`
	} `json:"data"`
	Train struct {
		Steps int `json:"steps"` // the last checkpoint's step
	} `json:"train"`
	// Checkpoints lists where each step's weights are: a Hugging Face
	// model directory each, as given (absolute, or relative to the
	// directory holding ExternalFile).
	Checkpoints []ExternalCheckpoint `json:"checkpoints"`
}

// ExternalCheckpoint is one step's model directory.
type ExternalCheckpoint struct {
	Step int    `json:"step"`
	Dir  string `json:"dir"`
}

// WriteExternal writes dir's ExternalFile atomically.
func WriteExternal(dir string, e *External) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", Path(dir, ExternalFile), err)
	}
	return atomicfile.WriteBytes(Path(dir, ExternalFile), append(b, '\n'))
}

// ReadExternal reads dir's ExternalFile; a missing file is an error
// wrapping fs.ErrNotExist.
func ReadExternal(dir string) (*External, error) {
	b, err := readFile(os.DirFS(dir), ExternalFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Path(dir, ExternalFile), err)
	}
	var e External
	if err := strictUnmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%s: %w", Path(dir, ExternalFile), err)
	}
	return &e, nil
}

// HasExternal reports whether dir holds an ExternalFile.
func HasExternal(dir string) bool {
	fi, err := os.Stat(Path(dir, ExternalFile))
	return err == nil && fi.Mode().IsRegular()
}

// IsStarted reports whether dir holds a started run: emlab's config.json,
// or ExternalFile (a run trained elsewhere, evaluated).
func IsStarted(dir string) bool {
	return HasExternal(dir) || HasConfig(dir) && !foreignConfig(os.DirFS(dir), ".")
}

// foreignConfig reports whether p's config.json is another format's: a
// Hugging Face model directory's, which has "model_type" (emlab's never
// does). Such a directory is a model, not a run, until it holds
// ExternalFile.
func foreignConfig(fsys fs.FS, p string) bool {
	b, err := readFile(fsys, path.Join(p, ConfigFile))
	if err != nil {
		return false
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(bytes.TrimSpace(b), &keys) != nil {
		return false
	}
	_, ok := keys["model_type"]
	return ok
}

// readRunConfigFS reads what stands for config.json in fsys: ExternalFile
// when present, else config.json. It returns nil and no error when there
// is neither, and whether the run is external.
func readRunConfigFS(fsys fs.FS, dir string) (b []byte, name string, external bool, err error) {
	b, err = readFile(fsys, ExternalFile)
	if err == nil {
		return b, ExternalFile, true, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", false, fmt.Errorf("read %s: %w", Path(dir, ExternalFile), err)
	}
	b, err = readConfigJSON(fsys, dir)
	if errors.Is(err, ErrNotRun) {
		return nil, "", false, nil
	}
	return b, ConfigFile, false, err
}
