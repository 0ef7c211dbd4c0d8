package tasks

import (
	"math/rand/v2"
	"strconv"

	"emlab/internal/data"
)

// splitter decides which items are held out: key k is held out when
// Unit(Hash64(salt + "|" + k)) < frac. The salt is the task name and
// version, so the split is the same for every run seed.
type splitter struct {
	salt string
	frac float64
}

func newSplitter(name string, version int, frac float64) splitter {
	return splitter{salt: name + "/v" + strconv.Itoa(version), frac: frac}
}

func (s splitter) heldout(key string) bool {
	return data.Unit(data.Hash64(s.salt+"|"+key)) < s.frac
}

// maxTries bounds rejection sampling; with a held-out fraction ≤ 0.9 the
// chance of 1000 rejections in a row is below 0.9^1000 ≈ 1e-46.
const maxTries = 1000

// evalRNG is the generator for one variant of an evaluation set.
func evalRNG(seed uint64, spec, variant string) *rand.Rand {
	return data.RNG(seed, "tasks/eval/"+spec+"/"+variant)
}

// collect draws held-out items for one variant until n distinct items
// (by prompt and answer) are found or tries draws have been made (small
// held-out sets give fewer).
func collect(n, tries int, draw func() (Item, bool)) []Item {
	var out []Item
	seen := map[string]bool{}
	for t := 0; t < tries && len(out) < n; t++ {
		it, ok := draw()
		id := it.Prompt + "\x00" + it.Answer
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, it)
	}
	return out
}

// collectBalanced is collect with the items spread evenly over classes
// (e.g. the right answer of a minimal pair: "was" or "were", "his" or
// "her"): an item is kept only while its class is not ahead of any other.
// Without it a held-out set that happens to hold mostly one class lets a
// model that always prefers one answer score far from chance.
func collectBalanced(n, tries, classes int, draw func() (Item, int, bool)) []Item {
	count := make([]int, classes)
	return collect(n, tries, func() (Item, bool) {
		it, c, ok := draw()
		if !ok {
			return Item{}, false
		}
		for _, k := range count {
			if count[c] > k {
				return Item{}, false
			}
		}
		count[c]++
		return it, true
	})
}
