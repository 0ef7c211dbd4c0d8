package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"emlab/internal/rundir"
)

// runFiles are the files of a run directory the index reads; their sizes
// and modification times make a run's signature.
var runFiles = []string{rundir.ConfigFile, rundir.MetricsFile, rundir.EvalsFile, rundir.ProbesFile,
	rundir.SweepSpecFile, rundir.SweepStatusFile, rundir.DoneFile, rundir.ExternalFile}

// IsRunDir reports whether dir holds a started run (its config.json, or
// the record of a run trained elsewhere): the runs the index holds.
func IsRunDir(dir string) bool { return rundir.IsStarted(dir) }

// FindRuns lists the started run directories under root (rundir.FindRuns,
// keeping those IsRunDir accepts), sorted, as paths.
func FindRuns(root string) ([]string, error) {
	ids, err := rundir.FindRuns(root)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, id := range ids {
		if d := filepath.Join(root, filepath.FromSlash(id)); IsRunDir(d) {
			dirs = append(dirs, d)
		}
	}
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

// runRows is everything indexed about one run, read before the
// transaction so the write lock is held only for the inserts.
type runRows struct {
	id, sig, axes, state, errMsg string
	run                          *rundir.Run
}

func readRun(root, dir string) (*runRows, error) {
	id, err := runID(root, dir)
	if err != nil {
		return nil, err
	}
	sig := signature(dir)
	r, err := rundir.ReadRun(dir, id)
	if err != nil {
		return nil, err
	}
	if r.Config == nil {
		return nil, fmt.Errorf("%s is %w (no %s)", dir, rundir.ErrNotRun, rundir.ConfigFile)
	}
	rr := &runRows{id: id, sig: sig, run: r}
	if r.Done {
		rr.state = rundir.StateDone
	}
	if r.Spec != nil && r.Spec.Run.Axes != nil {
		if a, err := json.Marshal(r.Spec.Run.Axes); err == nil {
			rr.axes = string(a)
		}
	}
	if r.Sweep != nil && r.Sweep.State != "" {
		rr.state, rr.errMsg = r.Sweep.State, r.Sweep.Error
	}
	return rr, nil
}

// nullable maps NaN and Inf (which JSON cannot hold anyway) to NULL.
func nullable(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// insert replaces every row of the run: one per metrics step, one per
// evaluation line (per position and per subtask too) and one per probe
// line, each keyed as rundir keys the lines.
func (r *runRows) insert(tx *sql.Tx) error {
	for _, t := range tables {
		if _, err := tx.Exec(`DELETE FROM `+t+` WHERE run_id = ?`, r.id); err != nil {
			return err
		}
	}
	c := r.run.Config
	_, err := tx.Exec(`INSERT INTO runs (run_id, experiment, axes, state, error, done, arch, d_model, n_layers, n_heads,
		d_vocab, params, non_embedding_params, seed, steps, tokens_per_step, flops_per_token, data_source, tasks,
		code_version, config, sig, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.id, r.run.Experiment(), r.axes, r.state, r.errMsg, r.run.Done, c.Model.Arch, c.Model.DModel, c.Model.NLayers,
		c.Model.NHeads, c.Model.DVocab, c.Params, c.NonEmbeddingParams, int64(c.Seed), c.Train.Steps, c.TokensPerStep,
		c.FLOPsPerToken, c.Data.Source, c.Data.Tasks, c.CodeVersion, string(r.run.ConfigJSON), r.sig, time.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return err
	}
	ms, err := tx.Prepare(`INSERT INTO metrics (run_id, step, tokens, flops, loss, eval_loss, lr, grad_norm, seconds)
		VALUES (?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer ms.Close()
	for _, m := range r.run.Metrics {
		if _, err := ms.Exec(r.id, m.Step, int64(m.Tokens), m.FLOPs, nullable(m.Loss), nullable(m.EvalLoss), m.LR, m.GradNorm, m.Seconds); err != nil {
			return err
		}
	}
	es, err := tx.Prepare(`INSERT INTO evals (run_id, step, task, metric, position, subtask, value, stderr, n, chance)
		VALUES (?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer es.Close()
	for _, e := range r.run.Evals {
		if _, err := es.Exec(r.id, e.Step, e.Task, e.Metric, e.PositionOr(-1), e.SubtaskOr(-1), nullable(e.Value),
			nullable(e.Stderr), e.N, nullable(e.Chance)); err != nil {
			return err
		}
	}
	ps, err := tx.Prepare(`INSERT INTO probes (run_id, step, probe, layer, head, idx, task, var, value) VALUES (?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer ps.Close()
	for _, p := range r.run.Probes {
		if _, err := ps.Exec(r.id, p.Step, p.Probe, p.Layer, p.Head, p.IndexOr(-1), p.Task, p.Var, nullable(p.Value)); err != nil {
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
			for _, t := range tables {
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
		for _, t := range tables {
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
