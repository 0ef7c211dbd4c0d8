//go:build !amd64 || purego

package tensor

// No assembly kernels on this architecture (or with the purego tag).
var (
	gemmISAs  []*gemmISA
	activeISA *gemmISA
)
