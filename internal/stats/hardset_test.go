package stats

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

// The hard synthetic set: curves as real model families produce them.
// Every size is a different model, so each level carries a random effect
// (family sd, shared by the seeds of that size) besides the seed-to-seed
// spread and the binomial noise of n items; the largest size has one seed
// (as in published ladders, where the biggest model is trained once).
type hardSpec struct {
	name string
	// want lists the verdicts that count as right; the first is the
	// intended one.
	want   []string
	f      func(t float64) float64
	levels int
	family float64 // sd of the per-size random effect
}

const (
	hardChance = 0.1
	hardItems  = 100
	hardSeedSD = 0.01 // seed-to-seed sd of the success probability
)

func hardSpecs() []hardSpec {
	c := hardChance
	jump := func(t float64) float64 { return c + (0.85-c)*logistic((t-5.6)/0.05) }
	var out []hardSpec
	for _, lv := range []int{6, 8, 10} {
		out = append(out,
			hardSpec{"jump", []string{VerdictEmergent}, jump, lv, 0.03},
			hardSpec{"flat_scatter", []string{VerdictFlat}, func(t float64) float64 { return 0.3 }, lv, 0.05},
			hardSpec{"flat_big_scatter", []string{VerdictFlat}, func(t float64) float64 { return 0.3 }, lv, 0.1},
			hardSpec{"flat_at_chance", []string{VerdictFlat}, func(t float64) float64 { return c }, lv, 0.03},
			hardSpec{"inverse_line", []string{VerdictInverse}, func(t float64) float64 { return 0.6 - 0.4*(t-4)/3 }, lv, 0.03},
			hardSpec{"inverse_step", []string{VerdictInverse}, func(t float64) float64 { return 0.7 - 0.55*logistic((t-5.5)/0.05) }, lv, 0.03},
			hardSpec{"rise_then_fall", []string{VerdictNonMonotone}, func(t float64) float64 { return c + 0.55*math.Exp(-math.Pow((t-5.5)/0.9, 2)) }, lv, 0.03},
			hardSpec{"fall_then_rise", []string{VerdictNonMonotone}, func(t float64) float64 { return 0.65 - 0.5*math.Exp(-math.Pow((t-5.5)/0.9, 2)) }, lv, 0.03},
			hardSpec{"power_law", []string{VerdictSmooth}, func(t float64) float64 { return 1 - (1-c)*math.Pow(10, -0.5*(t-4)) }, lv, 0.03},
			hardSpec{"line", []string{VerdictSmooth}, func(t float64) float64 { return c + 0.7*(t-4)/3 }, lv, 0.03},
		)
	}
	out = append(out,
		hardSpec{"smooth4_line", []string{VerdictInsufficient, VerdictSmooth}, func(t float64) float64 { return c + 0.6*(t-4)/3 }, 4, 0.03},
		hardSpec{"smooth4_power", []string{VerdictInsufficient, VerdictSmooth}, func(t float64) float64 { return 1 - (1-c)*math.Pow(10, -0.5*(t-4)) }, 4, 0.03},
		hardSpec{"jump4", []string{VerdictInsufficient}, jump, 4, 0.03},
		hardSpec{"jump5", []string{VerdictInsufficient}, jump, 5, 0.03},
	)
	return out
}

// hardCurve draws one curve of s: levels log-spaced over t ∈ [4, 7], seeds
// replicates at each size but the largest (one), each the fraction of
// hardItems items answered right with probability f(t) + u_size + u_seed.
func hardCurve(rng *rand.Rand, s hardSpec, seeds int) *Curve {
	c := &Curve{Task: s.name, Metric: "exact_match", Axis: AxisParams, Chance: hardChance, HasChance: true}
	for i := 0; i < s.levels; i++ {
		t := 4 + 3*float64(i)/float64(s.levels-1)
		u := s.family * rng.NormFloat64()
		k := seeds
		if i == s.levels-1 {
			k = 1
		}
		for j := 0; j < k; j++ {
			p := math.Min(math.Max(s.f(t)+u+hardSeedSD*rng.NormFloat64(), 0.001), 0.999)
			v := float64(drawBinomial(rng, hardItems, p)) / hardItems
			c.Points = append(c.Points, Point{X: math.Pow(10, t), Value: v, N: hardItems, Seed: fmt.Sprint(j)})
		}
	}
	return c
}

// hardConfusion classifies draws curves of every spec and returns, per
// spec, the count of each verdict.
func hardConfusion(t *testing.T, draws, seeds int) (specs []hardSpec, counts []map[string]int) {
	t.Helper()
	o := DefaultOptions()
	o.Boot = 0
	specs = hardSpecs()
	for si, s := range specs {
		cnt := map[string]int{}
		for d := 0; d < draws; d++ {
			rng := rand.New(rand.NewPCG(uint64(d), uint64(1000*si+seeds)))
			r, err := Analyze(context.Background(), hardCurve(rng, s, seeds), o)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			cnt[r.Verdict]++
		}
		counts = append(counts, cnt)
	}
	return specs, counts
}

func confusionTable(specs []hardSpec, counts []map[string]int, seeds, draws int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| shape | levels | want |")
	for _, v := range Verdicts {
		fmt.Fprintf(&b, " %s |", v)
	}
	b.WriteString("\n|---|---|---|" + strings.Repeat("---|", len(Verdicts)) + "\n")
	for i, s := range specs {
		fmt.Fprintf(&b, "| %s | %d | %s |", s.name, s.levels, strings.Join(s.want, " or "))
		for _, v := range Verdicts {
			fmt.Fprintf(&b, " %d |", counts[i][v])
		}
		b.WriteString("\n")
	}
	_ = seeds
	_ = draws
	return b.String()
}

// TestHardSet: on the hard synthetic set no curve without a real jump is
// called emergent, real jumps on 6+ levels are found, flat curves with
// model-to-model scatter stay flat, and the other shapes get their verdict
// on 8+ levels; on 6 levels a shape may be missed, but only as flat (too
// little evidence), never as another shape. The rates asserted are below
// those measured with 100 draws (docs/stats.md) by a margin that 12 draws
// leave room for.
func TestHardSet(t *testing.T) {
	const draws = 12
	for _, seeds := range []int{1, 3} {
		specs, counts := hardConfusion(t, draws, seeds)
		t.Logf("seeds=%d\n%s", seeds, confusionTable(specs, counts, seeds, draws))
		for i, s := range specs {
			name := fmt.Sprintf("seeds=%d %s/%d levels", seeds, s.name, s.levels)
			if s.want[0] != VerdictEmergent && counts[i][VerdictEmergent] > 0 {
				t.Errorf("%s: %d of %d draws called emergent", name, counts[i][VerdictEmergent], draws)
			}
			right := 0
			for _, w := range s.want {
				right += counts[i][w]
			}
			minRight := 0.0
			switch {
			case s.want[0] == VerdictEmergent || s.want[0] == VerdictFlat:
				minRight = 0.85
			case s.levels >= 8 || s.levels <= 5:
				minRight = 0.7
			}
			if float64(right) < minRight*draws {
				t.Errorf("%s: %d of %d draws right (%v), want at least %.0f%%", name, right, draws, counts[i], 100*minRight)
			}
			if wrong := draws - right - counts[i][VerdictFlat]; s.levels == 6 && wrong > 0 && s.want[0] != VerdictFlat {
				t.Errorf("%s: %d draws got a wrong verdict other than flat (%v)", name, wrong, counts[i])
			}
		}
	}
}

// TestMeasureHardSet prints the confusion table of docs/stats.md.
// Run: go test ./internal/stats -run TestMeasureHardSet -measure -v
func TestMeasureHardSet(t *testing.T) {
	if !*measure {
		t.Skip("long measurement; enable with -measure (see docs/stats.md)")
	}
	const draws = 100
	for _, seeds := range []int{1, 3} {
		specs, counts := hardConfusion(t, draws, seeds)
		keys := make([]string, 0)
		for _, v := range Verdicts {
			keys = append(keys, v)
		}
		sort.Strings(keys)
		t.Logf("seeds=%d (largest size 1), %d draws each\n%s", seeds, draws, confusionTable(specs, counts, seeds, draws))
	}
}
