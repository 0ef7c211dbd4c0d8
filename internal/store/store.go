// Package store is the SQLite index of run directories: runs, metrics,
// evaluations and probes in four tables, for queries across a sweep and
// for the tidy CSV export that `emlab analyze --csv` and users' own tools
// (pandas, R) read.
//
// The run directories stay the source of truth: the index reads them
// through package rundir, is rebuildable from them at any time, and
// indexing a run replaces all of its rows in one transaction, so indexing
// twice never duplicates a row. Each table row is one line of a run's file
// under the key rundir gives it: an evaluation per (step, task, metric,
// position, subtask), a probe per (step, probe, layer, head, index, task,
// var); an absent position, subtask, layer, head or index is −1.
//
// # Several writers
//
// Sweeps index each run as it finishes, from as many processes as there
// are workers (local pool, Slurm array tasks). The database runs in WAL
// mode (readers never block the writer), every write transaction begins
// IMMEDIATE (it takes the write lock at BEGIN, so two writers never
// deadlock upgrading read locks), waits up to BusyTimeout for the lock,
// and is retried whole if SQLite still reports it busy. WAL needs a
// filesystem with shared memory between the writers: local disks are fine;
// for a cluster without a shared lockable filesystem, index after the
// sweep with `emlab index rebuild`.
//
// The driver is modernc.org/sqlite, SQLite compiled to Go: no cgo.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// IndexFile is the index's file name inside a sweep's output directory.
const IndexFile = "index.db"

// BusyTimeout is how long a writer waits for another writer's transaction.
const BusyTimeout = 30 * time.Second

// schemaVersion changes when the tables change; an index with another
// version must be rebuilt from the run directories (it holds nothing else).
// Version 2 keys evaluations by position and subtask and probes by index,
// task and variable (version 1 kept one line of each and lost the rest).
const schemaVersion = "2"

// tables lists the tables that hold runs' rows, runs last.
var tables = []string{"metrics", "evals", "probes", "runs"}

var schema = []string{
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS runs (
		run_id TEXT PRIMARY KEY,       -- directory relative to the index's root
		experiment TEXT, axes TEXT,    -- from sweep.json: experiment name, axis labels (JSON)
		state TEXT, error TEXT,        -- from status.json (sweep runs) or DONE
		done INTEGER NOT NULL,         -- DONE exists
		arch TEXT, d_model INTEGER, n_layers INTEGER, n_heads INTEGER, d_vocab INTEGER,
		params INTEGER, non_embedding_params INTEGER, seed INTEGER, steps INTEGER,
		tokens_per_step INTEGER, flops_per_token REAL, data_source TEXT, tasks TEXT,
		code_version TEXT, config TEXT NOT NULL,
		sig TEXT NOT NULL, indexed_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS metrics (
		run_id TEXT NOT NULL, step INTEGER NOT NULL, tokens INTEGER, flops REAL,
		loss REAL, eval_loss REAL, lr REAL, grad_norm REAL, seconds REAL,
		PRIMARY KEY (run_id, step))`,
	`CREATE TABLE IF NOT EXISTS evals (
		run_id TEXT NOT NULL, step INTEGER NOT NULL, task TEXT NOT NULL, metric TEXT NOT NULL,
		position INTEGER NOT NULL, subtask INTEGER NOT NULL, -- -1 on a task's aggregate line
		value REAL, stderr REAL, n INTEGER, chance REAL,
		PRIMARY KEY (run_id, step, task, metric, position, subtask))`,
	`CREATE TABLE IF NOT EXISTS probes (
		run_id TEXT NOT NULL, step INTEGER NOT NULL, probe TEXT NOT NULL,
		layer INTEGER NOT NULL, head INTEGER NOT NULL, idx INTEGER NOT NULL,
		task TEXT NOT NULL, var TEXT NOT NULL, value REAL,
		PRIMARY KEY (run_id, step, probe, layer, head, idx, task, var))`,
}

// DB is an open index.
type DB struct {
	db   *sql.DB
	path string
}

// Open opens (creating if needed) the index at path.
func Open(path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+abs+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	d := &DB{db: db, path: path}
	err = d.write(context.Background(), func(tx *sql.Tx) error {
		for _, s := range schema {
			if _, err := tx.Exec(s); err != nil {
				return err
			}
		}
		var v string
		err := tx.QueryRow(`SELECT value FROM meta WHERE key = 'schema'`).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.Exec(`INSERT INTO meta(key, value) VALUES ('schema', ?)`, schemaVersion)
			return err
		case err != nil:
			return err
		case v != schemaVersion:
			return fmt.Errorf("schema version %s, this emlab writes %s: delete %s and run emlab index rebuild", v, schemaVersion, path)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	return d, nil
}

// Close closes the index.
func (d *DB) Close() error { return d.db.Close() }

// Path is the index's file.
func (d *DB) Path() string { return d.path }

// SQL exposes the database for read queries (tests, tools).
func (d *DB) SQL() *sql.DB { return d.db }

// write runs fn in an IMMEDIATE transaction, retrying the whole
// transaction while SQLite reports the database busy or locked (the busy
// timeout covers most waits; a retry covers the rest, e.g. the WAL being
// set up by another process at the same moment).
func (d *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	delay := 10 * time.Millisecond
	deadline := time.Now().Add(2 * BusyTimeout)
	for {
		err := d.tryWrite(ctx, fn)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

func (d *DB) tryWrite(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isBusy reports SQLITE_BUSY or SQLITE_LOCKED (by message: the driver's
// error type is internal to it).
func isBusy(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLITE_BUSY") || strings.Contains(s, "database is locked") ||
		strings.Contains(s, "SQLITE_LOCKED") || strings.Contains(s, "database table is locked")
}

// Counts returns the number of rows in each table.
func (d *DB) Counts() (map[string]int, error) {
	out := map[string]int{}
	for _, t := range tables {
		var n int
		if err := d.db.QueryRow(`SELECT COUNT(*) FROM ` + t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}
