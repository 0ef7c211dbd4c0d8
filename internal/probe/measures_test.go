package probe

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func eye(n int, s float64) *mat.Dense {
	d := mat.NewDense(n, n, nil)
	for i := range n {
		d.Set(i, i, s)
	}
	return d
}

func randDense(r *rand.Rand, rows, cols int) *mat.Dense {
	d := mat.NewDense(rows, cols, nil)
	for i := range rows {
		for j := range cols {
			d.Set(i, j, r.NormFloat64())
		}
	}
	return d
}

func TestCopyingScore(t *testing.T) {
	const V, C, Dh = 10, 8, 8
	// W_E (V, C) = first C rows of the identity: the circuit is the
	// identity on the first C tokens, 0 on the rest.
	we := mat.NewDense(V, C, nil)
	for i := range C {
		we.Set(i, i, 1)
	}
	wu := mat.DenseCopyOf(we.T())
	cases := []struct {
		name string
		wo   *mat.Dense
		want float64
	}{
		{"copying circuit (identity)", eye(C, 1), 1},
		{"suppressing circuit (−identity)", eye(C, -1), -1},
	}
	for _, c := range cases {
		got, err := CopyingScore(we, eye(C, 1), c.wo, wu)
		if err != nil {
			t.Fatal(err)
		}
		// Exact eigenvalues ±1: only round-off.
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// A rotation by 90° in each plane has eigenvalues ±i: real part 0.
	rot := mat.NewDense(C, C, nil)
	for i := 0; i < C; i += 2 {
		rot.Set(i, i+1, 1)
		rot.Set(i+1, i, -1)
	}
	if got, _ := CopyingScore(we, eye(C, 1), rot, wu); math.Abs(got) > 1e-12 {
		t.Errorf("rotation circuit: %v, want 0", got)
	}
	// Random Gaussian circuits score 0 on average: over 200 draws the mean
	// must be within 0.05 (each draw's score has std ≈ 0.2, so the mean's
	// std is ≈ 0.015; 0.05 is > 3 σ).
	r := rand.New(rand.NewPCG(7, 7))
	var sum float64
	for range 200 {
		s, err := CopyingScore(randDense(r, V, C), randDense(r, C, Dh), randDense(r, Dh, C), randDense(r, C, V))
		if err != nil {
			t.Fatal(err)
		}
		sum += s
	}
	if m := sum / 200; math.Abs(m) > 0.05 {
		t.Errorf("random circuits: mean score %.3f, want ≈ 0", m)
	}
	if _, err := CopyingScore(we, eye(C, 1), eye(C, 1), mat.NewDense(C, V+1, nil)); err == nil {
		t.Error("mismatched shapes accepted")
	}
	if _, err := CopyingScore(we, eye(C, 1), mat.NewDense(C, C, nil), wu); err == nil {
		t.Error("a zero circuit gave a score")
	}
}

func TestICLPositionsAndScore(t *testing.T) {
	for _, c := range []struct{ nctx, early, late int }{
		{512, 49, 499}, // Olsson et al.'s 50th and 500th tokens
		{64, 5, 62},
		{8, 0, 7},
	} {
		e, l := ICLPositions(c.nctx)
		if e != c.early || l != c.late {
			t.Errorf("ICLPositions(%d) = %d, %d; want %d, %d", c.nctx, e, l, c.early, c.late)
		}
	}
	curve := make([]float64, 64)
	for i := range curve {
		curve[i] = 4 - float64(i)/32 // loss falls along the context
	}
	s, e, l, err := ICLScore(curve)
	if err != nil || math.Abs(s-(curve[l]-curve[e])) > 1e-12 || s >= 0 {
		t.Errorf("ICLScore = %v (%d→%d) %v, want %v < 0", s, e, l, err, curve[l]-curve[e])
	}
	curve[62] = math.NaN()
	if _, _, _, err := ICLScore(curve); err == nil {
		t.Error("NaN at the late position gave a score")
	}
}

func TestEffectiveRankAndPCA(t *testing.T) {
	// ±e_i for each of d axes: covariance ∝ I, so PR = d exactly.
	const d = 6
	var iso []float32
	for i := range d {
		for _, s := range []float32{1, -1} {
			row := make([]float32, d)
			row[i] = s
			iso = append(iso, row...)
		}
	}
	if got, err := EffectiveRank(iso, 2*d, d); err != nil || math.Abs(got-d) > 1e-9 {
		t.Errorf("isotropic: %v %v, want %d", got, err, d)
	}
	// Points on a line: PR = 1, PCA explains everything with PC 1 and
	// recovers the positions along the line up to centring and sign.
	dir := []float32{3, 4, 0} // |dir| = 5
	var line []float32
	for k := range 5 {
		for _, x := range dir {
			line = append(line, float32(k)*x)
		}
	}
	if got, err := EffectiveRank(line, 5, 3); err != nil || math.Abs(got-1) > 1e-9 {
		t.Errorf("line: %v %v, want 1", got, err)
	}
	p, err := PrincipalComponents(line, 5, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(p.Explained[0]-1) > 1e-9 || math.Abs(p.Explained[1]) > 1e-9 {
		t.Errorf("explained %v, want [1 0]", p.Explained)
	}
	for k := range 5 {
		// Centre at k = 2, 5 units apart, largest |coord| made positive (k = 0 and 4 tie at 10: the first wins).
		want := math.Abs(float64(k-2) * 5)
		if math.Abs(math.Abs(p.Coords[k][0])-want) > 1e-6 {
			t.Errorf("point %d: coordinate %v, want ±%v", k, p.Coords[k][0], want)
		}
	}
	if _, err := EffectiveRank(make([]float32, 12), 4, 3); err == nil {
		t.Error("constant data gave a rank")
	}
	if _, err := PrincipalComponents(line, 5, 3, 4); err == nil {
		t.Error("k > d accepted")
	}
}

func TestGini(t *testing.T) {
	cases := []struct {
		x    []float64
		want float64
	}{
		{[]float64{1, 1, 1, 1}, 0},
		{[]float64{0, 0, 0, 5}, 0.75}, // 1 − 1/n
		{[]float64{1, 3}, 0.25},       // |1−3|·2 / (2·2·4)
	}
	for _, c := range cases {
		if got := Gini(c.x); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Gini(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if !math.IsNaN(Gini(nil)) || !math.IsNaN(Gini([]float64{0, 0})) {
		t.Error("empty or zero input should give NaN")
	}
}

// TestFourierOnAGrokkedCircuit builds the algorithm Nanda et al. found:
// residues embedded as cos/sin at one key frequency and logits
// β·cos(w(a+b−c)). The energy must sit at that frequency, the Gini
// coefficient be maximal, the restricted loss equal the full loss and the
// excluded loss be chance, ln p.
func TestFourierOnAGrokkedCircuit(t *testing.T) {
	const p, key, d = 13, 4, 2
	w := 2 * math.Pi * key / p
	E := make([]float32, p*d)
	for a := range p {
		E[a*d], E[a*d+1] = float32(math.Cos(w*float64(a))), float32(math.Sin(w*float64(a)))
	}
	en, err := FourierEnergy(E, p, d)
	if err != nil {
		t.Fatal(err)
	}
	// float32 embedding: shares off the key frequency are round-off, < 1e-12·p².
	if math.Abs(en[key-1]-1) > 1e-9 {
		t.Errorf("energy %v, want all at k=%d", en, key)
	}
	if keys := KeyFrequencies(en, 0.9, 6); len(keys) != 1 || keys[0] != key {
		t.Errorf("key frequencies %v, want [%d]", keys, key)
	}
	if g := Gini(en); math.Abs(g-(1-1.0/float64(len(en)))) > 1e-6 {
		t.Errorf("Gini %v, want %v", g, 1-1.0/float64(len(en)))
	}
	const beta = 40 // the nearest rival answer is then ≥ 4.6 nats behind
	logits := make([]float64, p*p*p)
	train := make([]bool, p*p)
	for a := range p {
		for b := range p {
			train[a*p+b] = (a+b)%2 == 0
			for c := range p {
				logits[(a*p+b)*p+c] = beta * math.Cos(w*float64(a+b-c))
			}
		}
	}
	fl, err := RestrictedExcluded(logits, p, []int{key}, train)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", fl)
	// Projections of an exact cosine are exact up to round-off (1e-9).
	if math.Abs(fl.Restricted-fl.Full) > 1e-9 {
		t.Errorf("restricted %v, full %v: want equal", fl.Restricted, fl.Full)
	}
	if math.Abs(fl.Excluded-math.Log(p)) > 1e-9 {
		t.Errorf("excluded %v, want ln p = %v", fl.Excluded, math.Log(p))
	}
	if fl.Full > 0.1 {
		t.Errorf("full loss %v: the circuit should be confident", fl.Full)
	}
	// Restricting to a wrong frequency loses everything.
	wrong, _ := RestrictedExcluded(logits, p, []int{key + 1}, train)
	if math.Abs(wrong.Restricted-math.Log(p)) > 1e-9 || math.Abs(wrong.Excluded-fl.Full) > 1e-9 {
		t.Errorf("wrong key: %+v", wrong)
	}
	if _, err := RestrictedExcluded(logits, p, []int{0}, train); err == nil {
		t.Error("key 0 accepted")
	}
}

func TestLinearProbe(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	const n, d = 300, 5
	x := make([]float64, n*d)
	sep, noise := make([]int, n), make([]int, n)
	for i := 0; i < n; {
		for j := range d {
			x[i*d+j] = r.NormFloat64()
		}
		// Three classes: the largest of the first three features (an
		// argmax of linear functions, so exactly linearly separable),
		// keeping only points with a margin of 0.3 to the runner-up.
		f := x[i*d : i*d+3]
		best, second := 0, 1
		if f[1] > f[0] {
			best, second = 1, 0
		}
		if f[2] > f[best] {
			best, second = 2, best
		} else if f[2] > f[second] {
			second = 2
		}
		if f[best]-f[second] < 0.3 {
			continue
		}
		sep[i] = best
		noise[i] = r.IntN(3)
		i++
	}
	res, err := LinearProbe(x, sep, n, d, 200)
	if err != nil {
		t.Fatal(err)
	}
	// 100 test points: a separable rule learned from 200 should miss ≤ 5.
	if res.Accuracy < 0.95 {
		t.Errorf("separable labels: accuracy %v, want ≥ 0.95", res.Accuracy)
	}
	res2, err := LinearProbe(x, noise, n, d, 200)
	if err != nil {
		t.Fatal(err)
	}
	// Random labels over 3 classes: chance 1/3; 100 test points give a
	// standard error of 0.047, so 0.55 is > 4 σ above chance.
	if res2.Accuracy > 0.55 {
		t.Errorf("random labels: accuracy %v, want ≈ 1/3", res2.Accuracy)
	}
	t.Logf("separable %.2f, random %.2f (majority %.2f)", res.Accuracy, res2.Accuracy, res2.Majority)
	a, _ := LinearProbe(x, sep, n, d, 200)
	if a != res {
		t.Error("not deterministic")
	}
	if _, err := LinearProbe(x, sep, n, d, n); err == nil {
		t.Error("no test rows accepted")
	}
}

func TestParityCoefficient(t *testing.T) {
	bits := []int{0, 1, 1, 0}
	sure := func(b int) float64 { // log-prob: right answer ≈ 1
		if b == 1 {
			return 0
		}
		return -30
	}
	lp1, lp0 := make([]float64, 4), make([]float64, 4)
	for i, b := range bits {
		lp1[i], lp0[i] = sure(b), sure(1-b)
	}
	if got := ParityCoefficient(lp1, lp0, bits); math.Abs(got-1) > 1e-9 {
		t.Errorf("perfect model: %v, want 1", got)
	}
	flat := []float64{-0.7, -0.7, -0.7, -0.7}
	if got := ParityCoefficient(flat, flat, bits); got != 0 {
		t.Errorf("uniform model: %v, want 0", got)
	}
	if got := ParityCoefficient(lp0, lp1, bits); math.Abs(got+1) > 1e-9 {
		t.Errorf("anti-parity model: %v, want −1", got)
	}
}
