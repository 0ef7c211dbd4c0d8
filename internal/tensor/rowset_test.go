package tensor

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// rowSets are the subsets the …Rows tests run: none, all, and random
// selections of about 60% in runs (the shape of a packed data stream's
// kept rows) and of single rows.
func rowSets(full int, rng *rand.Rand) map[string]*RowSet {
	sets := map[string]*RowSet{"none": {Full: full}, "all": {Full: full}}
	for r := 0; r < full; r++ {
		sets["all"].Idx = append(sets["all"].Idx, int32(r))
	}
	runs := &RowSet{Full: full}
	for r := 0; r < full; {
		l := 1 + rng.IntN(12)
		keep := rng.Float64() < 0.6
		for ; l > 0 && r < full; l, r = l-1, r+1 {
			if keep {
				runs.Idx = append(runs.Idx, int32(r))
			}
		}
	}
	sets["runs"] = runs
	single := &RowSet{Full: full}
	for r := 0; r < full; r++ {
		if rng.IntN(2) == 0 {
			single.Idx = append(single.Idx, int32(r))
		}
	}
	sets["single"] = single
	return sets
}

// compact returns the set's rows of full (rows of n floats) and full with
// every other row set to zero (the matrix whose full-size kernel the …Rows
// variant must match).
func compact(full []float32, set *RowSet, n int) (rows, zeroed []float32) {
	zeroed = make([]float32, len(full))
	for _, r := range set.Idx {
		rows = append(rows, full[int(r)*n:(int(r)+1)*n]...)
		copy(zeroed[int(r)*n:(int(r)+1)*n], full[int(r)*n:(int(r)+1)*n])
	}
	return rows, zeroed
}

// TestGemmTNRowsBitIdentical checks GemmTNRows against the full Gemm(true,
// false, …, beta 1) on matrices whose rows outside the set are zero in B
// (and arbitrary in A, as the model's activations there are), bit for bit,
// for each kernel set: k spans several k-blocks, m and n cover edge tiles,
// and lda > 128 takes the packed-Aᵀ path.
func TestGemmTNRowsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	isas := append(slices.Clone(gemmISAs), nil)
	for _, isa := range isas {
		for _, sh := range []struct{ m, n, k int }{{8, 11, 70}, {64, 61, 600}, {200, 48, 530}, {37, 300, 257}} {
			a := randSlice(rng, sh.k*sh.m)
			b := randSlice(rng, sh.k*sh.n)
			c0 := randSlice(rng, sh.m*sh.n) // accumulate onto a nonzero C
			for name, set := range rowSets(sh.k, rng) {
				ac, _ := compact(a, set, sh.m)
				bc, bz := compact(b, set, sh.n)
				want, got := slices.Clone(c0), slices.Clone(c0)
				saved := activeISA
				activeISA = isa
				Gemm(true, false, sh.m, sh.n, sh.k, a, sh.m, bz, sh.n, 1, want, sh.n)
				GemmTNRows(sh.m, sh.n, ac, sh.m, bc, sh.n, got, sh.n, set)
				activeISA = saved
				if !bitsEqual(got, want) {
					t.Errorf("%s %v rows %s (%d of %d): GemmTNRows differs from the full product", isaName(isa), sh, name, len(set.Idx), sh.k)
				}
			}
		}
	}
}

// bitsEqual compares float32 slices bit for bit (so +0 and −0 differ).
func bitsEqual(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// TestLayerNormBackwardRowsBitIdentical checks LayerNormBackwardRows
// against LayerNormBackward over the full matrix with dout zero outside the
// set: the same dx rows and the same dgamma, dbeta bits (rows span several
// of the backward's 64-row chunks; n = 512 takes the vector kernel where
// the CPU has it).
func TestLayerNormBackwardRowsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sh := range []struct{ rows, n int }{{200, 24}, {150, 512}, {7, 8}} {
		x := randSlice(rng, sh.rows*sh.n)
		gamma, beta := randSlice(rng, sh.n), randSlice(rng, sh.n)
		out := make([]float32, len(x))
		mean, rstd := make([]float32, sh.rows), make([]float32, sh.rows)
		LayerNormForward(out, mean, rstd, x, gamma, beta, sh.rows, sh.n, 1e-5)
		dout := randSlice(rng, len(x))
		for name, set := range rowSets(sh.rows, rng) {
			for _, affine := range []bool{true, false} {
				g := gamma
				if !affine {
					g = nil
				}
				_, dz := compact(dout, set, sh.n)
				dxFull := randSlice(rng, len(x))
				dgW, dbW := randSlice(rng, sh.n), randSlice(rng, sh.n)
				dgG, dbG := slices.Clone(dgW), slices.Clone(dbW)
				dxc, _ := compact(dxFull, set, sh.n)
				LayerNormBackward(dxFull, dgW, dbW, dz, x, g, mean, rstd, sh.rows, sh.n)
				dc, _ := compact(dout, set, sh.n)
				xc, _ := compact(x, set, sh.n)
				mc, _ := compact(mean, set, 1)
				rc, _ := compact(rstd, set, 1)
				LayerNormBackwardRows(dxc, dgG, dbG, dc, xc, g, mc, rc, set, sh.n)
				wantDx, _ := compact(dxFull, set, sh.n)
				if !bitsEqual(dxc, wantDx) || !bitsEqual(dgG, dgW) || !bitsEqual(dbG, dbW) {
					t.Errorf("rows %d n %d set %s affine %v: dx equal %v, dgamma equal %v, dbeta equal %v", sh.rows, sh.n, name, affine,
						bitsEqual(dxc, wantDx), bitsEqual(dgG, dgW), bitsEqual(dbG, dbW))
				}
			}
		}
	}
}

// TestSoftmaxCrossEntropyRowsBitIdentical checks SoftmaxCrossEntropyRows
// against SoftmaxCrossEntropy with every row outside the set ignored: the
// same loss sum bits (rows span several chunks) and dlogits rows.
func TestSoftmaxCrossEntropyRowsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range []struct{ rows, V int }{{700, 61}, {90, 1000}, {5, 3}} {
		logits := randSlice(rng, sh.rows*sh.V)
		for name, set := range rowSets(sh.rows, rng) {
			targets := make([]int32, sh.rows)
			for i := range targets {
				targets[i] = -1
			}
			var tc []int32
			for _, r := range set.Idx {
				targets[r] = int32(rng.IntN(sh.V))
				tc = append(tc, targets[r])
			}
			dFull := make([]float32, len(logits))
			sumW, nW := SoftmaxCrossEntropy(dFull, logits, targets, sh.rows, sh.V, 0.01)
			lc, _ := compact(logits, set, sh.V)
			dc := make([]float32, len(lc))
			sumG, nG := SoftmaxCrossEntropyRows(dc, lc, tc, set, sh.V, 0.01)
			want, _ := compact(dFull, set, sh.V)
			if math.Float64bits(sumG) != math.Float64bits(sumW) || nG != nW || !bitsEqual(dc, want) {
				t.Errorf("rows %d V %d set %s: sum %v vs %v, count %d vs %d, dlogits equal %v", sh.rows, sh.V, name, sumG, sumW, nG, nW, bitsEqual(dc, want))
			}
		}
	}
}

// TestExpandAndGatherRows checks that GatherRows then ExpandRows, in place,
// put each kept row back where it was and zero the others.
func TestExpandAndGatherRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const full, n = 50, 3
	x := randSlice(rng, full*n)
	for name, set := range rowSets(full, rng) {
		buf := slices.Clone(x)
		GatherRows(buf, buf, set, n)
		want, zeroed := compact(x, set, n)
		if !slices.Equal(buf[:len(want)], want) {
			t.Fatalf("set %s: GatherRows in place gave the wrong rows", name)
		}
		ExpandRows(buf, set, n)
		if !bitsEqual(buf, zeroed) {
			t.Fatalf("set %s: ExpandRows did not restore the rows and zero the rest", name)
		}
	}
}
