package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Param is one named tensor inside a ParamSet.
type Param struct {
	Name  string // GPT-2 style, e.g. "h.0.attn.c_attn.weight"
	Shape []int  // e.g. (DModel, 3·DModel) for c_attn.weight, (in, out) layout
	Off   int    // offset into ParamSet.Data and ParamSet.Grad
	Size  int    // product of Shape
	Decay bool   // weight decay applies (matrices only, by default)
}

// ParamSet holds all parameters of a model in one flat buffer, and their
// gradients in another with the same layout.
type ParamSet struct {
	Data   []float32
	Grad   []float32
	Params []Param // in layout order
	index  map[string]int
}

// paramBuilder lays out tensors one after the other before allocating.
type paramBuilder struct {
	params []Param
	n      int
}

func (b *paramBuilder) add(name string, decay bool, shape ...int) {
	size := 1
	for _, s := range shape {
		size *= s
	}
	b.params = append(b.params, Param{Name: name, Shape: shape, Off: b.n, Size: size, Decay: decay})
	b.n += size
}

func (b *paramBuilder) build() *ParamSet {
	ps := b.buildNoGrad()
	ps.Grad = make([]float32, b.n)
	return ps
}

// buildNoGrad allocates the values only (Grad stays nil): an inference-only
// model holds one copy of its weights.
func (b *paramBuilder) buildNoGrad() *ParamSet {
	ps := &ParamSet{Data: make([]float32, b.n), Params: b.params, index: map[string]int{}}
	for i, p := range b.params {
		ps.index[p.Name] = i
	}
	return ps
}

// Get returns the values of the named tensor (a view into Data); it panics
// on an unknown name, which is a programming error inside nn.
func (ps *ParamSet) Get(name string) []float32 {
	p := ps.mustParam(name)
	return ps.Data[p.Off : p.Off+p.Size]
}

// GradOf returns the gradient view of the named tensor.
func (ps *ParamSet) GradOf(name string) []float32 {
	p := ps.mustParam(name)
	return ps.Grad[p.Off : p.Off+p.Size]
}

// DataAt returns the values of the i-th tensor in layout order (a view).
func (ps *ParamSet) DataAt(i int) []float32 {
	p := ps.Params[i]
	return ps.Data[p.Off : p.Off+p.Size]
}

// GradAt returns the gradient view of the i-th tensor in layout order.
func (ps *ParamSet) GradAt(i int) []float32 {
	p := ps.Params[i]
	return ps.Grad[p.Off : p.Off+p.Size]
}

// Lookup returns the named tensor's description.
func (ps *ParamSet) Lookup(name string) (Param, bool) {
	i, ok := ps.index[name]
	if !ok {
		return Param{}, false
	}
	return ps.Params[i], true
}

func (ps *ParamSet) mustParam(name string) Param {
	p, ok := ps.Lookup(name)
	if !ok {
		panic(fmt.Sprintf("nn: no parameter %q", name))
	}
	return p
}

// Count is the total number of parameters.
func (ps *ParamSet) Count() int { return len(ps.Data) }

// ZeroGrad clears all gradients.
func (ps *ParamSet) ZeroGrad() { clear(ps.Grad) }

// normal fills x with N(0, std²) draws from rng.
func normal(x []float32, std float64, rng *rand.Rand) {
	for i := range x {
		x[i] = float32(rng.NormFloat64() * std)
	}
}

// uniform fills x with U(−a, a) draws from rng.
func uniform(x []float32, a float64, rng *rand.Rand) {
	for i := range x {
		x[i] = float32((2*rng.Float64() - 1) * a)
	}
}

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

var _ = math.Sqrt
