package cli

import "emlab/internal/demo"

// The verdicts the studies that look inside the models measured
// (docs/studies.md, "What was measured"), for TestStudiesQuick: keys are
// the start of each finding's claim.
func init() {
	for name, v := range map[string]map[string]string{
		"abstraction": {"Variables written in the prompt": demo.VerdictSupported},
		"distributed": {"A variable is read from a whole MLP layer": demo.VerdictInconclusive},
		"capacity":    {"A model whose world holds more than 2 bits": demo.VerdictNotSupported},
		"composition": {
			"Two relations trained separately": demo.VerdictNotSupported,
			"Chains one hop longer":            demo.VerdictNotSupported,
		},
		"code": {
			"Tracing 3-statement programs":        demo.VerdictInconclusive,
			"Longer programs need larger models":  demo.VerdictInconclusive,
			"Tracing generalises to programs one": demo.VerdictNotSupported,
		},
		"robustness": {"The gap between clean and perturbed accuracy": demo.VerdictNotSupported},
	} {
		studyVerdicts[name] = v
	}
}
