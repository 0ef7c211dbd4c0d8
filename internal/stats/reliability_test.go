package stats

import (
	"strings"
	"testing"
)

// TestReliabilityNonFiniteChance: a NaN or infinite chance column is an
// error saying so (it read "chance NaN differs from NaN" on the second row).
func TestReliabilityNonFiniteChance(t *testing.T) {
	for _, v := range []string{"NaN", "Inf", "-Inf"} {
		t.Run(v, func(t *testing.T) {
			csv := "task,metric,x,value,chance\na,em,1,0.1," + v + "\na,em,2,0.2," + v + "\n"
			_, err := ReadCurvesCSV(strings.NewReader(csv), "")
			if err == nil || !strings.Contains(err.Error(), "line 2: curve") || !strings.Contains(err.Error(), "not a rate") {
				t.Errorf("chance %s: err = %v", v, err)
			}
		})
	}
}
