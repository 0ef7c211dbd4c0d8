package tensor

// ReLUForward writes out = max(x, 0) (out may alias x). Used by the GPT's
// optional ReLU MLP and by the small MLP model (Nanda et al. 2023's grokking
// setup uses ReLU).
func ReLUForward(out, x []float32) {
	for i, v := range x {
		if v > 0 {
			out[i] = v
		} else {
			out[i] = 0
		}
	}
}

// ReLUBackward accumulates dx += dout·1[x > 0] (the subgradient at 0 is 0,
// as in torch).
func ReLUBackward(dx, x, dout []float32) {
	for i, v := range x {
		if v > 0 {
			dx[i] += dout[i]
		}
	}
}
