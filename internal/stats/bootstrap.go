package stats

import (
	"context"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
)

// bootChunk is the number of bootstrap replicates drawn from one generator.
// Replicates are split into fixed chunks, each with a generator seeded by
// (seed, label, chunk index), so the result does not depend on how many
// workers run them (the lm-evaluation-harness convention).
const bootChunk = 16

// chunkRNG returns the generator for one chunk of one labelled bootstrap.
func chunkRNG(seed uint64, label string, chunk int) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(label))
	return rand.New(rand.NewPCG(seed, h.Sum64()^(uint64(chunk)*0x9e3779b97f4a7c15)))
}

// runBootstrap calls fn(rng, b) for every replicate b < B; replicates in one
// chunk share a generator and run in order. fn must write only to slots
// indexed by b. workers ≤ 0 means GOMAXPROCS.
func runBootstrap(ctx context.Context, B, workers int, seed uint64, label string, fn func(rng *rand.Rand, b int)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	nChunks := (B + bootChunk - 1) / bootChunk
	jobs := make(chan int)
	var wg sync.WaitGroup
	for i := 0; i < workers && i < nChunks; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				rng := chunkRNG(seed, label, c)
				for b := c * bootChunk; b < B && b < (c+1)*bootChunk; b++ {
					fn(rng, b)
				}
			}
		}()
	}
	var err error
	for c := 0; c < nChunks; c++ {
		if err = ctx.Err(); err != nil {
			break
		}
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	return err
}

// quantile is the type-7 (linear interpolation) sample quantile of vals,
// q in [0, 1]; ±Inf values sort to the ends. NaN for an empty slice.
func quantile(vals []float64, q float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	hi := int(math.Ceil(h))
	if lo == hi || s[lo] == s[hi] {
		return s[lo]
	}
	return s[lo] + (h-float64(lo))*(s[hi]-s[lo])
}

// drawBinomial draws from Binomial(n, p): exactly for n ≤ 1000, else from
// the normal approximation (rounded and clipped), whose error there is
// far below the bootstrap's own Monte Carlo error.
func drawBinomial(rng *rand.Rand, n int, p float64) int {
	if p <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	if n <= 1000 {
		k := 0
		for i := 0; i < n; i++ {
			if rng.Float64() < p {
				k++
			}
		}
		return k
	}
	mu := float64(n) * p
	sd := math.Sqrt(mu * (1 - p))
	k := int(math.Round(mu + sd*rng.NormFloat64()))
	return min(max(k, 0), n)
}

// resamplePoint redraws one point's value over its items: a binomial draw
// for an accuracy with n items (resampling items with replacement), a normal
// draw for a value with a standard error, the value itself otherwise.
func resamplePoint(rng *rand.Rand, p Point) float64 {
	switch {
	case p.N > 0 && p.Stderr == 0 && p.Value >= 0 && p.Value <= 1:
		return float64(drawBinomial(rng, p.N, p.Value)) / float64(p.N)
	case p.Stderr > 0:
		return p.Value + p.Stderr*rng.NormFloat64()
	}
	return p.Value
}

// hasSampling reports whether the levels carry any sampling information
// (several seeds somewhere, or item counts, or standard errors); without it
// the bootstrap resamples residuals instead.
func hasSampling(levels []Level) bool {
	for _, l := range levels {
		if l.Seeds > 1 {
			return true
		}
		for _, p := range l.points {
			if p.N > 0 || p.Stderr > 0 {
				return true
			}
		}
	}
	return false
}

// normalResampleAbove is the number of points above which a level's mean
// is resampled from its normal approximation (see resampleMeans).
const normalResampleAbove = 32

// resampleMeans draws one bootstrap replicate of the level means: seeds are
// resampled with replacement within each level, then each chosen point's
// items, and each level gets a fresh draw of its random effect, N(0, tau2)
// (the model-to-model scatter: a replicate family of models). If the data
// carry no sampling information, residuals of the fitted curve (scaled by
// √(n/(n−k)) for the degrees of freedom used) are resampled instead (Efron &
// Tibshirani 1993, §9.5).
func resampleMeans(rng *rand.Rand, levels []Level, sampling bool, fitted, resid []float64, tau2 float64, out []float64) {
	if !sampling {
		for i := range levels {
			out[i] = fitted[i] + resid[rng.IntN(len(resid))]
		}
		return
	}
	for i, l := range levels {
		if len(l.points) > normalResampleAbove && l.Var > 0 {
			// A level pooling many points (a binned curve): its mean is
			// drawn from the normal approximation with the level's
			// variance, which the central limit theorem makes exact enough
			// and which keeps a replicate O(levels), not O(points × items).
			out[i] = l.Mean + math.Sqrt(l.Var+tau2)*rng.NormFloat64()
			continue
		}
		var s float64
		for j := 0; j < len(l.points); j++ {
			p := l.points[j]
			if len(l.points) > 1 {
				p = l.points[rng.IntN(len(l.points))]
			}
			s += resamplePoint(rng, p)
		}
		out[i] = s / float64(len(l.points))
		if tau2 > 0 {
			out[i] += math.Sqrt(tau2) * rng.NormFloat64()
		}
	}
}
