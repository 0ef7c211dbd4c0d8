package store

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Files of a run directory the index reads (DESIGN.md; sweep.json and
// status.json are the sweep's).
var runFiles = []string{"config.json", "metrics.jsonl", "evals.jsonl", "probes.jsonl", "sweep.json", "status.json", "DONE"}

// IsRunDir reports whether dir holds a run (its config.json).
func IsRunDir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "config.json"))
	return err == nil && st.Mode().IsRegular()
}

// FindRuns lists the run directories under root (root itself if it is
// one), sorted. It does not descend into run directories or hidden
// directories.
func FindRuns(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if IsRunDir(path) {
			dirs = append(dirs, path)
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find runs in %s: %w", root, err)
	}
	sort.Strings(dirs)
	return dirs, nil
}

// signature summarizes the run's files (size and modification time of
// each); a run whose signature is unchanged need not be indexed again.
func signature(dir string) string {
	var b strings.Builder
	for _, f := range runFiles {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			b.WriteString("-;")
			continue
		}
		fmt.Fprintf(&b, "%d:%d;", st.Size(), st.ModTime().UnixNano())
	}
	return b.String()
}

// runID is dir relative to root, with forward slashes ("." for root).
func runID(root, dir string) (string, error) {
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

// runInfo is the part of config.json the index keeps in columns.
type runInfo struct {
	Model struct {
		Arch    string `json:"arch"`
		DModel  int    `json:"d_model"`
		NLayers int    `json:"n_layers"`
		NHeads  int    `json:"n_heads"`
		DVocab  int    `json:"d_vocab"`
	} `json:"model"`
	Data struct {
		Source string `json:"source"`
		Tasks  string `json:"tasks"`
	} `json:"data"`
	Train struct {
		Steps int `json:"steps"`
	} `json:"train"`
	Params             int64   `json:"params"`
	NonEmbeddingParams int64   `json:"non_embedding_params"`
	Seed               uint64  `json:"seed"`
	FLOPsPerToken      float64 `json:"flops_per_token"`
	TokensPerStep      int64   `json:"tokens_per_step"`
	CodeVersion        string  `json:"code_version"`
}

type metricsRow struct {
	Step     int64    `json:"step"`
	Tokens   int64    `json:"tokens"`
	FLOPs    float64  `json:"flops"`
	Loss     *float64 `json:"loss"`
	EvalLoss *float64 `json:"eval_loss"`
	LR       float64  `json:"lr"`
	GradNorm float64  `json:"grad_norm"`
	Seconds  float64  `json:"seconds"`
}

type evalRow struct {
	Step   *int64   `json:"step"`
	Task   string   `json:"task"`
	Metric string   `json:"metric"`
	Value  *float64 `json:"value"`
	Stderr *float64 `json:"stderr"`
	N      *int64   `json:"n"`
	Chance *float64 `json:"chance"`
}

type probeRow struct {
	Step  *int64   `json:"step"`
	Probe string   `json:"probe"`
	Layer *int64   `json:"layer"` // absent for whole-model probes: stored as -1
	Head  *int64   `json:"head"`  // absent for per-layer probes: stored as -1
	Value *float64 `json:"value"`
}

// readJSONL decodes each line of path into a new T. A missing file is no
// lines; a partial last line (a crash mid-append) is skipped; any other bad
// line is an error naming the file and line.
func readJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var bad error
	for line := 1; sc.Scan(); line++ {
		if bad != nil {
			return nil, bad
		}
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			bad = fmt.Errorf("%s line %d: %w", path, line, err)
			continue
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// runRows is everything indexed about one run, read before the
// transaction so the write lock is held only for the inserts.
type runRows struct {
	id, sig, configJSON string
	info                runInfo
	experiment, axes    string
	state, errMsg       string
	done                bool
	metrics             []metricsRow
	evals               []evalRow
	probes              []probeRow
}

func readRun(root, dir string) (*runRows, error) {
	id, err := runID(root, dir)
	if err != nil {
		return nil, err
	}
	r := &runRows{id: id, sig: signature(dir)}
	cfg, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(cfg, &r.info); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	r.configJSON = string(cfg)
	if _, err := os.Stat(filepath.Join(dir, "DONE")); err == nil {
		r.done, r.state = true, "done"
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sweep.json")); err == nil {
		var spec struct {
			Experiment string `json:"experiment"`
			Run        struct {
				Axes map[string]string `json:"axes"`
			} `json:"run"`
		}
		if json.Unmarshal(b, &spec) == nil {
			r.experiment = spec.Experiment
			if a, err := json.Marshal(spec.Run.Axes); err == nil && spec.Run.Axes != nil {
				r.axes = string(a)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "status.json")); err == nil {
		var st struct {
			State string `json:"state"`
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &st) == nil && st.State != "" {
			r.state, r.errMsg = st.State, st.Error
		}
	}
	if r.metrics, err = readJSONL[metricsRow](filepath.Join(dir, "metrics.jsonl")); err != nil {
		return nil, err
	}
	if r.evals, err = readJSONL[evalRow](filepath.Join(dir, "evals.jsonl")); err != nil {
		return nil, err
	}
	for i, e := range r.evals {
		if e.Step == nil || e.Task == "" || e.Metric == "" || e.Value == nil {
			return nil, fmt.Errorf("%s line %d: needs step, task, metric and value", filepath.Join(dir, "evals.jsonl"), i+1)
		}
	}
	if r.probes, err = readJSONL[probeRow](filepath.Join(dir, "probes.jsonl")); err != nil {
		return nil, err
	}
	for i, p := range r.probes {
		if p.Step == nil || p.Probe == "" || p.Value == nil {
			return nil, fmt.Errorf("%s line %d: needs step, probe and value", filepath.Join(dir, "probes.jsonl"), i+1)
		}
	}
	return r, nil
}

// nullable maps NaN and Inf (which JSON cannot hold anyway) and nil to NULL.
func nullable(p *float64) any {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	return *p
}

func orMinus1(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// insert replaces every row of the run. Lines repeated in a .jsonl file
// (an evaluation appended twice) keep the last value.
func (r *runRows) insert(tx *sql.Tx) error {
	for _, t := range []string{"metrics", "evals", "probes", "runs"} {
		if _, err := tx.Exec(`DELETE FROM `+t+` WHERE run_id = ?`, r.id); err != nil {
			return err
		}
	}
	i := r.info
	_, err := tx.Exec(`INSERT INTO runs (run_id, experiment, axes, state, error, done, arch, d_model, n_layers, n_heads,
		d_vocab, params, non_embedding_params, seed, steps, tokens_per_step, flops_per_token, data_source, tasks,
		code_version, config, sig, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.id, r.experiment, r.axes, r.state, r.errMsg, r.done, i.Model.Arch, i.Model.DModel, i.Model.NLayers,
		i.Model.NHeads, i.Model.DVocab, i.Params, i.NonEmbeddingParams, int64(i.Seed), i.Train.Steps, i.TokensPerStep,
		i.FLOPsPerToken, i.Data.Source, i.Data.Tasks, i.CodeVersion, r.configJSON, r.sig, time.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return err
	}
	ms, err := tx.Prepare(`INSERT OR REPLACE INTO metrics (run_id, step, tokens, flops, loss, eval_loss, lr, grad_norm, seconds)
		VALUES (?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer ms.Close()
	for _, m := range r.metrics {
		if _, err := ms.Exec(r.id, m.Step, m.Tokens, m.FLOPs, nullable(m.Loss), nullable(m.EvalLoss), m.LR, m.GradNorm, m.Seconds); err != nil {
			return err
		}
	}
	es, err := tx.Prepare(`INSERT OR REPLACE INTO evals (run_id, step, task, metric, value, stderr, n, chance) VALUES (?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer es.Close()
	for _, e := range r.evals {
		var n any
		if e.N != nil {
			n = *e.N
		}
		if _, err := es.Exec(r.id, *e.Step, e.Task, e.Metric, nullable(e.Value), nullable(e.Stderr), n, nullable(e.Chance)); err != nil {
			return err
		}
	}
	ps, err := tx.Prepare(`INSERT OR REPLACE INTO probes (run_id, step, probe, layer, head, value) VALUES (?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer ps.Close()
	for _, p := range r.probes {
		if _, err := ps.Exec(r.id, *p.Step, p.Probe, orMinus1(p.Layer), orMinus1(p.Head), nullable(p.Value)); err != nil {
			return err
		}
	}
	return nil
}

// IndexRun (re)indexes the run directory dir, whose id is its path
// relative to root, replacing all of its rows in one transaction.
func (d *DB) IndexRun(ctx context.Context, root, dir string) error {
	r, err := readRun(root, dir)
	if err != nil {
		return fmt.Errorf("index %s: %w", dir, err)
	}
	if err := d.write(ctx, r.insert); err != nil {
		return fmt.Errorf("index %s: %w", dir, err)
	}
	return nil
}

// SyncStats says what Sync did.
type SyncStats struct {
	Indexed, Unchanged, Removed int
	Errors                      []error // runs that could not be read (left as they were)
}

// Sync brings the index up to date with the run directories under root:
// runs whose files changed are reindexed, runs whose directories are gone
// are removed. A run that cannot be read is reported and does not stop
// the others.
func (d *DB) Sync(ctx context.Context, root string) (SyncStats, error) {
	var st SyncStats
	dirs, err := FindRuns(root)
	if err != nil {
		return st, err
	}
	known := map[string]string{}
	rows, err := d.db.QueryContext(ctx, `SELECT run_id, sig FROM runs`)
	if err != nil {
		return st, fmt.Errorf("index: %w", err)
	}
	for rows.Next() {
		var id, sig string
		if err := rows.Scan(&id, &sig); err != nil {
			rows.Close()
			return st, err
		}
		known[id] = sig
	}
	rows.Close()
	seen := map[string]bool{}
	for _, dir := range dirs {
		id, err := runID(root, dir)
		if err != nil {
			return st, err
		}
		seen[id] = true
		if sig, ok := known[id]; ok && sig == signature(dir) {
			st.Unchanged++
			continue
		}
		if err := d.IndexRun(ctx, root, dir); err != nil {
			st.Errors = append(st.Errors, err)
			continue
		}
		st.Indexed++
	}
	for id := range known {
		if seen[id] {
			continue
		}
		err := d.write(ctx, func(tx *sql.Tx) error {
			for _, t := range []string{"metrics", "evals", "probes", "runs"} {
				if _, err := tx.Exec(`DELETE FROM `+t+` WHERE run_id = ?`, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("index: remove %s: %w", id, err)
		}
		st.Removed++
	}
	return st, nil
}

// Rebuild empties the index and indexes every run under root again.
func (d *DB) Rebuild(ctx context.Context, root string) (SyncStats, error) {
	err := d.write(ctx, func(tx *sql.Tx) error {
		for _, t := range []string{"metrics", "evals", "probes", "runs"} {
			if _, err := tx.Exec(`DELETE FROM ` + t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SyncStats{}, fmt.Errorf("index: %w", err)
	}
	return d.Sync(ctx, root)
}
