package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"emlab/internal/atomicfile"
	"emlab/internal/store"
)

func init() {
	register("export", "export DIR --csv FILE [--x AXIS]: tidy CSV of the evaluations (what analyze --csv reads)", runExportCmd)
}

// exportOptions are the flags of emlab export.
type exportOptions struct {
	csv, x, format, experiment, db string
	loss, breakdown                bool
}

// canWrite reports whether this process can create files in dir (the
// index and its write-ahead log), by creating one: permission bits say
// nothing of read-only mounts, nor of root.
func canWrite(dir string) bool {
	f, err := os.CreateTemp(dir, ".emlab-write-test-*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

func runExportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", stderr)
	var o exportOptions
	fs.StringVar(&o.csv, "csv", "", "output CSV file (- for stdout; required)")
	fs.StringVar(&o.x, "x", "params", "x axis: "+strings.Join(store.Axes, ", "))
	fs.StringVar(&o.format, "format", "tidy", "tidy (task,metric,x,value,… for analyze) or scaling (params,tokens,loss for scaling fit)")
	fs.StringVar(&o.experiment, "experiment", "", "only runs of this sweep experiment")
	fs.StringVar(&o.db, "db", "", "index file (default DIR/index.db)")
	fs.BoolVar(&o.loss, "loss", false, "tidy: add the LM loss as task lm, metric eval_loss")
	fs.BoolVar(&o.breakdown, "breakdown", false, "tidy: add the per-position and per-subtask lines (columns position, subtask; not curves for analyze)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("give one directory: emlab export DIR --csv FILE")
	}
	if o.csv == "" {
		return errors.New("--csv FILE is required (- for stdout)")
	}
	dir := pos[0]
	if err := needDir(dir); err != nil {
		return err
	}
	if o.db == "" {
		o.db = filepath.Join(dir, store.IndexFile)
		if !canWrite(dir) {
			// Exporting only reads the runs: with DIR read-only (another
			// user's runs, a read-only mount) the index is built aside.
			tmp, err := os.MkdirTemp("", "emlab-export-")
			if err != nil {
				return fmt.Errorf("export: %s is read-only and no temporary index can be made: %w", dir, err)
			}
			defer os.RemoveAll(tmp)
			o.db = filepath.Join(tmp, store.IndexFile)
			fmt.Fprintf(stderr, "export: %s is read-only: indexing into a temporary file\n", dir)
		}
	}
	db, err := store.Open(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	// The run directories are the truth: bring the index up to date first.
	sst, err := db.Sync(ctx, dir)
	if err != nil {
		return err
	}
	for _, e := range sst.Errors {
		fmt.Fprintf(stderr, "export: skipped: %v\n", e)
	}
	write := func(w io.Writer) error {
		switch o.format {
		case "tidy":
			st, err := db.Export(ctx, w, store.ExportOptions{X: o.x, Loss: o.loss, Experiment: o.experiment, Breakdown: o.breakdown})
			if err != nil {
				return err
			}
			msg := fmt.Sprintf("export: %d rows on x=%s", st.Rows, o.x)
			if st.DroppedNonPositive > 0 {
				msg += fmt.Sprintf(", %d at x ≤ 0 left out (a log axis cannot hold them)", st.DroppedNonPositive)
			}
			if st.DroppedNoMetrics > 0 {
				msg += fmt.Sprintf(", %d without an eval loss at their step left out", st.DroppedNoMetrics)
			}
			fmt.Fprintln(stderr, msg)
			return nil
		case "scaling":
			n, err := db.ExportScaling(ctx, w, o.experiment)
			fmt.Fprintf(stderr, "export: %d finished runs\n", n)
			return err
		}
		return fmt.Errorf("--format: unknown format %q (want tidy or scaling)", o.format)
	}
	if o.csv == "-" {
		return write(stdout)
	}
	return atomicfile.WriteFile(o.csv, write)
}
