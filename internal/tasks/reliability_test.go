package tasks

import (
	"strings"
	"testing"
)

// TestReliabilityMixtureWeights: weights that are each finite but whose
// sum overflows (1e308 + 1e308 = +Inf) are refused with the sum; before,
// the cumulative weights became +Inf and every document came from the last
// task. Large and tiny weights whose sum is finite stay accepted.
func TestReliabilityMixtureWeights(t *testing.T) {
	cases := []struct {
		spec string
		ok   bool
	}{
		{"add:1e308,icl:1e308", false},
		{"add:1.7e308,icl:1.7e308,markov:1", false},
		{"add:1e307,icl:1e307", true},
		{"add:1e-300,icl:1", true},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			m, err := ParseMixture(c.spec)
			switch {
			case c.ok && err != nil:
				t.Errorf("ParseMixture(%q) = %v, want it accepted (only ratios matter)", c.spec, err)
			case c.ok && len(m.Weights()) != strings.Count(c.spec, ",")+1:
				t.Errorf("ParseMixture(%q): weights %v", c.spec, m.Weights())
			case !c.ok && (err == nil || !strings.Contains(err.Error(), "sum to +Inf")):
				t.Errorf("ParseMixture(%q) = %v, want an error about the sum", c.spec, err)
			}
		})
	}
}
