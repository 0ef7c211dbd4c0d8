package tasks

// file_check.go: what `emlab tasks validate` reports on a task file beyond
// loading it: samples of its documents and items, the held-out share it
// actually obtains, and warnings about splits that leak.

import (
	"context"
	"fmt"
	"math"
	"strings"

	"emlab/internal/data"
)

// FileCheck is the report on a task file.
type FileCheck struct {
	Docs  []string // training documents
	Items []Item   // evaluation items, up to the n asked for per variant
	// KeyShare is the held-out share among items of trained variants (what
	// split.heldout asks for); Measured says over how many.
	KeyShare float64
	Measured int
	Warnings []string
}

// checkDocs is how many training documents CheckFile draws to look for
// evaluation items among them.
const checkDocs = 5000

// CheckFile samples ft (n documents and n items per variant, from seed)
// and checks its split: the held-out share obtained against the one asked
// for, evaluation items that are also training documents (a split key that
// does not determine the text), items whose split Heldout cannot re-derive
// from their text, variants without items, and draws that fail. Once ctx
// is done it stops with ctx's error (a large n draws for long; the item
// draw is abandoned as Draw abandons one).
func CheckFile(ctx context.Context, ft FileTask, seed uint64, n int) (FileCheck, error) {
	var c FileCheck
	st := ft.Stats()
	r := data.RNG(seed, "tasks/validate/"+ft.Name())
	train := map[string]bool{}
	heldDocs, heldExample := 0, ""
	for i := range checkDocs {
		if err := ctx.Err(); err != nil {
			return FileCheck{}, err
		}
		d := ft.Generate(r)
		if i < n {
			c.Docs = append(c.Docs, d)
		}
		train[d] = true
		if ft.Heldout(d) {
			if heldDocs++; heldExample == "" {
				heldExample = d
			}
		}
	}
	all, err := Draw(ctx, func() []Item { return ft.Eval(seed, max(n, 200)) })
	if err != nil {
		return FileCheck{}, err
	}
	perVariant := map[string]int{}
	overlap, unread := 0, 0
	example := ""
	for i, it := range all {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return FileCheck{}, err
			}
		}
		text := it.Prompt + it.Answer
		if train[text] {
			overlap++
			if example == "" {
				example = text
			}
		}
		if !ft.Heldout(text) {
			unread++
		}
		if perVariant[it.Variant] < n {
			c.Items = append(c.Items, it)
		}
		perVariant[it.Variant]++
	}
	if overlap > 0 || heldDocs > 0 {
		if example == "" {
			example = heldExample
		}
		c.warn("train and held-out overlap: %d of %d evaluation items are also training documents, and %d of %d training documents are held-out texts (e.g. %q): the same text has keys on both sides; key the split on what determines the text",
			overlap, len(all), heldDocs, checkDocs, example)
	}
	if unread > 0 {
		c.warn("%d evaluation items do not read back as held out from their text", unread)
	}
	for _, v := range ft.Variants() {
		if perVariant[v.Name] == 0 {
			c.warn("variant %s has no evaluation items (none of its draws is held out)", v.Name)
		}
	}
	c.Measured = st.Draws - st.Failed - st.Rejected - st.Untrained
	if c.Measured > 0 {
		c.KeyShare = float64(st.Heldout-st.Untrained) / float64(c.Measured)
	}
	want := ft.HeldoutFraction()
	// A share off by more than 4 binomial standard errors (and 2 points)
	// means few keys or keys that repeat: the split is coarser than asked.
	if se := math.Sqrt(want * (1 - want) / float64(max(c.Measured, 1))); math.Abs(c.KeyShare-want) > max(4*se, 0.02) {
		c.warn("held out %.1f%% of %d, asked for %.1f%%: few distinct keys, or keys that repeat across items", 100*c.KeyShare, c.Measured, 100*want)
	}
	if st.Failed > 0 {
		c.warn("%d of %d draws failed and were redrawn (first: %s)", st.Failed, st.Draws, st.FirstFailure)
	}
	if st.Rejected > 0 {
		c.warn("%d of %d draws had a variant [[variants]] does not declare and were redrawn", st.Rejected, st.Draws)
	}
	return c, nil
}

func (c *FileCheck) warn(format string, args ...any) {
	c.Warnings = append(c.Warnings, strings.TrimSpace(fmt.Sprintf(format, args...)))
}
