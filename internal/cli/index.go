package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"emlab/internal/store"
)

func init() {
	register("index", "index rebuild|update DIR: the SQLite index DIR/index.db of the run directories under DIR", runIndexCmd)
}

// indexOptions are the flags of emlab index.
type indexOptions struct {
	db string
}

func runIndexCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintln(stderr, "usage: emlab index rebuild|update DIR [--db FILE]")
		if len(args) > 0 {
			fmt.Fprintf(stderr, "Run 'emlab index SUBCOMMAND -h' for its flags.\n")
			return flag.ErrHelp
		}
		return errUsage
	}
	sub := args[0]
	fs := newFlagSet("index "+sub, stderr)
	var o indexOptions
	fs.StringVar(&o.db, "db", "", "index file (default DIR/index.db)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if sub != "rebuild" && sub != "update" {
		return fmt.Errorf("unknown index command %q%s", sub, didYouMean(sub, []string{"rebuild", "update"}))
	}
	if len(pos) != 1 {
		return fmt.Errorf("give one directory: emlab index %s DIR", sub)
	}
	dir := pos[0]
	if err := needDir(dir); err != nil {
		return err
	}
	if o.db == "" {
		o.db = filepath.Join(dir, store.IndexFile)
	}
	db, err := store.Open(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	var st store.SyncStats
	if sub == "rebuild" {
		st, err = db.Rebuild(ctx, dir)
	} else {
		st, err = db.Sync(ctx, dir)
	}
	if err != nil {
		return err
	}
	for _, e := range st.Errors {
		fmt.Fprintf(stderr, "index: skipped: %v\n", e)
	}
	n, err := db.Counts()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d runs indexed, %d unchanged, %d removed; holds %d runs, %d metrics, %d evals, %d probes\n",
		o.db, st.Indexed, st.Unchanged, st.Removed, n["runs"], n["metrics"], n["evals"], n["probes"])
	if len(st.Errors) > 0 {
		return fmt.Errorf("%d run(s) could not be indexed", len(st.Errors))
	}
	return nil
}
