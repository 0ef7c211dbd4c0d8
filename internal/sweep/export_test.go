package sweep

// SetNumCPU makes the local pool share out n cores until restore is
// called, so that a test sees the pool of an n-core machine on any.
func SetNumCPU(n int) (restore func()) {
	old := numCPU
	numCPU = func() int { return n }
	return func() { numCPU = old }
}
