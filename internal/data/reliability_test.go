package data

import (
	"strings"
	"testing"
)

// TestReliabilityMixtureWeightsOverflow: weights that are each finite but
// whose sum overflows (1e308 + 1e308 = +Inf) are refused with the sum, in
// the spec parser and in the mixture itself; before, the cumulative weights
// became +Inf and every document came from the last task.
func TestReliabilityMixtureWeightsOverflow(t *testing.T) {
	for _, spec := range []string{"add:1e308,icl:1e308", "add:1.7e308,icl:1.7e308,markov:1"} {
		t.Run(spec, func(t *testing.T) {
			if _, err := ParseMixSpec(spec); err == nil || !strings.Contains(err.Error(), "sum") {
				t.Errorf("ParseMixSpec(%q) = %v, want an error about the sum", spec, err)
			}
		})
	}
	for _, spec := range []string{"add:1e307,icl:1e307", "add:1e-300,icl:1"} {
		t.Run(spec, func(t *testing.T) {
			if _, err := ParseMixSpec(spec); err != nil {
				t.Errorf("ParseMixSpec(%q) = %v, want it accepted (only ratios matter)", spec, err)
			}
		})
	}
	tok, _ := NewCharTokenizer("ab")
	g := lenGen{'a', 1, 5}
	_, err := NewMixture([]Component{{Name: "x", Weight: 1e308, Gen: g}, {Name: "y", Weight: 1e308, Gen: g}}, tok, MixtureConfig{NCtx: 64})
	if err == nil || !strings.Contains(err.Error(), "sum") {
		t.Errorf("NewMixture with overflowing weights: %v", err)
	}
}
