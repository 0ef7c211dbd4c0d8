//go:build !unix

package nn

import "time"

// cpuTime is 0 where getrusage is missing: the benchmarks' cpu-ns metrics
// then read 0 and only wall time counts.
func cpuTime() time.Duration { return 0 }
