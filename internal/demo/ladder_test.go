package demo

import (
	"fmt"
	"slices"
	"testing"

	"emlab/internal/sweep"
	"emlab/internal/train"
)

// TestLadderSeeds: the demo's ladder trains every rung with at least three
// seeds, the quick demo's with two.
func TestLadderSeeds(t *testing.T) {
	for _, c := range []struct {
		quick bool
		seeds int
	}{{false, 3}, {true, 2}} {
		plan := ladderPlan(t, c.quick)
		seeds := map[int]map[uint64]bool{} // params → seeds
		for _, r := range plan.Runs {
			if seeds[r.Params] == nil {
				seeds[r.Params] = map[uint64]bool{}
			}
			seeds[r.Params][r.Config.Train.Seed] = true
		}
		for p, s := range seeds {
			if len(s) < c.seeds {
				t.Errorf("quick=%v: the %d-parameter rung has %d seeds, want ≥ %d", c.quick, p, len(s), c.seeds)
			}
		}
	}
}

// TestLadderSameDataOrder: for one seed every rung of the demo's ladder
// trains on the same batches in the same order (the Pythia convention: the
// models of a ladder differ in size, not in the data they saw), checked on
// the batches the training loop draws (train.Sources, Batch(step)) over the
// smallest rung's steps; different seeds see different data.
func TestLadderSameDataOrder(t *testing.T) {
	for _, quick := range []bool{false, true} {
		plan := ladderPlan(t, quick)
		bySeed := map[uint64][]sweep.Run{}
		steps := plan.Runs[0].Steps
		for _, r := range plan.Runs {
			bySeed[r.Config.Train.Seed] = append(bySeed[r.Config.Train.Seed], r)
			steps = min(steps, r.Steps)
		}
		first := map[uint64][]int32{} // seed → its first batch
		for seed, runs := range bySeed {
			var ref [][]int32
			for _, r := range runs {
				src, _, err := train.Sources(r.Config)
				if err != nil {
					t.Fatalf("%s: %v", r.ID, err)
				}
				B, T := r.Config.Train.BatchSize, r.Config.T()
				var got [][]int32
				for s := 0; s < steps; s++ {
					tok, tgt := make([]int32, B*T), make([]int32, B*T)
					src.Batch(int64(s), B, T, tok, tgt)
					got = append(got, append(tok, tgt...))
				}
				if ref == nil {
					ref = got
					first[seed] = got[0]
					continue
				}
				for s := range ref {
					if !slices.Equal(ref[s], got[s]) {
						t.Fatalf("quick=%v seed %d: %s's batch at step %d differs from %s's", quick, seed, r.ID, s, runs[0].ID)
					}
				}
			}
			if len(runs) < 4 {
				t.Errorf("quick=%v seed %d: only %d rungs", quick, seed, len(runs))
			}
		}
		var fs []string
		for _, b := range first {
			fs = append(fs, fmt.Sprint(b))
		}
		slices.Sort(fs)
		if len(slices.Compact(fs)) != len(bySeed) {
			t.Errorf("quick=%v: two seeds share their first batch", quick)
		}
		t.Logf("quick=%v: %d seeds × %d rungs, %d steps compared", quick, len(bySeed), len(plan.Runs)/len(bySeed), steps)
	}
}

func ladderPlan(t *testing.T, quick bool) *sweep.Plan {
	t.Helper()
	p, err := LoadPlan(ladderSweep, quick)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
