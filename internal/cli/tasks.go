package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"emlab/internal/data"
	"emlab/internal/eval"
	"emlab/internal/tasks"
)

func init() {
	register("tasks", "list the ability battery, sample a task's training documents and evaluation items, or validate a task file", runTasksCmd)
}

// tasksSampleOpts are the flags of `emlab tasks sample`.
type tasksSampleOpts struct {
	spec string
	n    int
	seed uint64
}

func runTasksCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintln(stderr, "usage: emlab tasks list | emlab tasks sample NAME [--n N] [--seed S] | emlab tasks validate FILE [--n N] [--seed S]")
		if len(args) > 0 {
			fmt.Fprintf(stderr, "Run 'emlab tasks SUBCOMMAND -h' for its flags.\n")
			return flag.ErrHelp
		}
		return errUsage
	}
	switch args[0] {
	case "list":
		fs := newFlagSet("tasks list", stderr)
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return fmt.Errorf("list takes no arguments, got %q", pos)
		}
		return runTasksList(stdout)
	case "sample":
		fs := newFlagSet("tasks sample", stderr)
		var o tasksSampleOpts
		fs.IntVar(&o.n, "n", 5, "training documents, and evaluation items per variant, to print")
		fs.Uint64Var(&o.seed, "seed", 0, "seed of the training documents and of the evaluation set")
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		if err := atLeast(fs, map[string]int64{"n": 1}); err != nil {
			return err
		}
		if len(pos) != 1 {
			return fmt.Errorf("sample needs one task, e.g. 'add' or 'add(digits=3,format=scratchpad)'; got %d arguments", len(pos))
		}
		if o.n < 1 || o.n > eval.MaxItems {
			return fmt.Errorf("--n %d: want 1 to %d", o.n, eval.MaxItems)
		}
		o.spec = pos[0]
		return runTasksSample(ctx, o, stdout)
	case "validate":
		fs := newFlagSet("tasks validate", stderr)
		var o tasksSampleOpts
		fs.IntVar(&o.n, "n", 5, "training documents, and evaluation items per variant, to print")
		fs.Uint64Var(&o.seed, "seed", 0, "seed of the samples")
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return fmt.Errorf("validate needs one task file (TOML); got %d arguments", len(pos))
		}
		if o.n < 1 || o.n > eval.MaxItems {
			return fmt.Errorf("--n %d: want 1 to %d", o.n, eval.MaxItems)
		}
		o.spec = pos[0]
		return runTasksValidate(ctx, o, stdout)
	default:
		return fmt.Errorf("unknown tasks subcommand %q%s (want list, sample or validate)", args[0], didYouMean(args[0], []string{"list", "sample", "validate"}))
	}
}

func runTasksList(w io.Writer) error {
	for _, info := range tasks.List() {
		fmt.Fprintf(w, "%s (v%d): %s\n", info.Name, info.Version, info.Summary)
		fmt.Fprintf(w, "  default: %s\n", info.Spec)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, p := range info.Params {
			fmt.Fprintf(tw, "  param\t%s=%s\t%s\n", p.Name, p.Default, p.Doc)
		}
		for _, v := range info.Variants {
			fmt.Fprintf(tw, "  variant\t%s\tchance %s\t%s%s\n", v.Name, fmtChance(v.Chance), strings.Join(v.Metrics, ","), variantNote(v))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func fmtChance(c float64) string { return strconv.FormatFloat(c, 'g', 3, 64) }

func variantNote(v tasks.Variant) string {
	var notes []string
	if v.Generate {
		notes = append(notes, "generated")
	}
	if !v.Trained {
		notes = append(notes, "untrained shape")
	}
	if v.Memorised {
		notes = append(notes, "memorised: scored on trained items")
	}
	if v.Perturbs != "" {
		notes = append(notes, "perturbs "+v.Perturbs)
	}
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, ", ") + ")"
}

func runTasksSample(ctx context.Context, o tasksSampleOpts, w io.Writer) error {
	t, err := tasks.Lookup(o.spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s (v%d), max %d characters\n\ntraining documents:\n", t.Spec(), t.Version(), t.MaxLen())
	r := data.RNG(o.seed, "tasks/sample/"+t.Spec())
	for range o.n {
		if err := ctx.Err(); err != nil { // --n may be huge
			return err
		}
		fmt.Fprintf(w, "  %s\n", t.Generate(r))
	}
	fmt.Fprintln(w, "\nevaluation items, held out unless the variant is memorised (prompt | answer):")
	items, err := tasks.Draw(ctx, func() []tasks.Item { return t.Eval(o.seed, o.n) })
	if err != nil {
		return err
	}
	for _, it := range items {
		fmt.Fprintln(w, itemLine(it))
	}
	return nil
}

// runTasksValidate loads a task file (schema errors name the line and
// suggest keys), then prints what it is, samples of its documents and
// items, the held-out share it obtains and any warnings.
func runTasksValidate(ctx context.Context, o tasksSampleOpts, w io.Writer) error {
	t, err := tasks.LoadFile(o.spec)
	if err != nil {
		return err
	}
	ft := t.(tasks.FileTask)
	st := ft.Stats()
	kind, unit := "a template", "draws of the load-time sample"
	if ft.IsItemList() {
		kind, unit = "an item list", "items"
	}
	src := ft.Source()
	fmt.Fprintf(w, "%s: %s (v%d), %s; sha256 %s\n", o.spec, t.Name(), t.Version(), kind, src.SHA256[:16])
	if s := ft.Summary(); s != "" {
		fmt.Fprintf(w, "  %s\n", s)
	}
	fmt.Fprintf(w, "  use it as --tasks %s\n", t.Spec())
	fmt.Fprintf(w, "  documents up to %d characters, over %d characters %q\n", t.MaxLen(), len([]rune(t.Alphabet())), t.Alphabet())
	c, err := tasks.CheckFile(ctx, ft, o.seed, o.n)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  split: %.1f%% asked for; %.1f%% held out by key of %d %s", 100*ft.HeldoutFraction(), 100*c.KeyShare, c.Measured, unit)
	if st.Untrained > 0 {
		fmt.Fprintf(w, ", and %d of untrained variants", st.Untrained)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "\nvariants:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range t.Variants() {
		fmt.Fprintf(tw, "  %s\tchance %s\t%s%s\n", v.Name, fmtChance(v.Chance), strings.Join(v.Metrics, ","), variantNote(v))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\ntraining documents:")
	for _, d := range c.Docs {
		fmt.Fprintf(w, "  %s\n", d)
	}
	fmt.Fprintln(w, "\nevaluation items (prompt | answer):")
	for _, it := range c.Items {
		fmt.Fprintln(w, itemLine(it))
	}
	if len(c.Warnings) == 0 {
		fmt.Fprintln(w, "\nok: no warnings")
		return nil
	}
	fmt.Fprintln(w, "\nwarnings:")
	for _, m := range c.Warnings {
		fmt.Fprintf(w, "  - %s\n", m)
	}
	return nil
}

// itemLine prints an evaluation item on one line.
func itemLine(it tasks.Item) string {
	line := fmt.Sprintf("  [%s] %s | %s", it.Variant, it.Prompt, it.Answer)
	if it.Target != it.Answer {
		line += fmt.Sprintf("  → %s", it.Target)
	}
	if len(it.Choices) > 0 {
		line += fmt.Sprintf("  choices %q correct %d", it.Choices, it.Correct)
	}
	return line
}
