package stats

import (
	"context"
	"encoding/binary"
	"maps"
	"math"
	"slices"
	"sync"
)

// fitMemo shares the model fits (fitAll) of curves that carry the same
// levels among the curves AnalyzeCurves analyses: two metrics can score a
// task identically (exact match and the multiple-choice grade when every
// answer is one choice), and then every fit to all rungs, with its
// leave-one-out refits, is the same computation on the same numbers. The
// key is every input of fitAll, bit for bit, so a shared fit set is the
// one fitAll would return; each curve gets its own copy. The bootstraps
// are not shared: each curve's replicates are drawn from a generator
// labelled with its own key.
type fitMemo struct {
	mu   sync.Mutex
	sets map[string]*memoEntry
	hits int // fit sets served from the memo (for tests)
}

type memoEntry struct {
	done chan struct{} // closed when fs and err are set
	fs   *fitSet
	err  error
}

func newFitMemo() *fitMemo { return &fitMemo{sets: map[string]*memoEntry{}} }

// fitAll is fitAll through the memo; a nil memo fits every call. A call
// whose fits another curve is computing waits for them.
func (m *fitMemo) fitAll(ctx context.Context, t, y, v []float64, known bool, mc modelContext, loo bool) (*fitSet, error) {
	if m == nil {
		return fitAll(ctx, t, y, v, known, mc, loo)
	}
	key := fitKey(t, y, v, known, mc, loo)
	m.mu.Lock()
	if e, ok := m.sets[key]; ok {
		m.hits++
		m.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil {
			return nil, e.err
		}
		return e.fs.copyFor(t, y, v), nil
	}
	e := &memoEntry{done: make(chan struct{})}
	m.sets[key] = e
	m.mu.Unlock()
	e.fs, e.err = fitAll(ctx, t, y, v, known, mc, loo)
	close(e.done)
	if e.err != nil {
		return nil, e.err
	}
	// The first curve keeps a copy too: the memo's set stays as fitAll
	// made it whatever a result does with its fits.
	return e.fs.copyFor(t, y, v), nil
}

// fitKey encodes every input of fitAll by its bits.
func fitKey(t, y, v []float64, known bool, mc modelContext, loo bool) string {
	b := make([]byte, 0, 8*(3*len(t)+6)+2)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(t)))
	for _, s := range [][]float64{t, y, v, {mc.tref, mc.dir, mc.lo, mc.hi}} {
		for _, x := range s {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
	}
	var flags byte
	if known {
		flags |= 1
	}
	if loo {
		flags |= 2
	}
	return string(append(b, flags))
}

// copyFor is a deep copy of fs (every fit's parameters, maps and
// weights) over the caller's own levels t, y, v, which equal fs's.
func (fs *fitSet) copyFor(t, y, v []float64) *fitSet {
	out := *fs
	out.t, out.y, out.v = t, y, v
	out.fits = make([]Fit, len(fs.fits))
	for i, f := range fs.fits {
		f.Params = maps.Clone(f.Params)
		f.AtBound = slices.Clone(f.AtBound)
		f.ExponentLimit = maps.Clone(f.ExponentLimit)
		f.theta = slices.Clone(f.theta)
		f.w = slices.Clone(f.w)
		out.fits[i] = f
	}
	return &out
}
