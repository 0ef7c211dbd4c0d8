package tensor

// ReLUForward writes out = max(x, 0) (out may alias x; NaN gives 0). Used by
// the GPT's optional ReLU MLP and by the small MLP model (Nanda et al.
// 2023's grokking setup uses ReLU).
func ReLUForward(out, x []float32) {
	run(&elemJobs, elemChunks(len(x)), elemJob{op: elemReLU, x: x, y: out[:len(x)]})
}

// ReLUBackward accumulates dx += dout·1[x > 0] (the subgradient at 0 is 0,
// as in torch).
func ReLUBackward(dx, x, dout []float32) {
	run(&elemJobs, elemChunks(len(x)), elemJob{op: elemReLUBwd, x: x, y: dx[:len(x)], z: dout[:len(x)]})
}

// reluForwardGo is ReLUForward's span: the plain loop.
func reluForwardGo(out, x []float32) {
	out = out[:len(x)]
	for i, v := range x {
		if v > 0 {
			out[i] = v
		} else {
			out[i] = 0
		}
	}
}

// reluBackwardGo is ReLUBackward's span.
func reluBackwardGo(dx, x, dout []float32) {
	dx, dout = dx[:len(x)], dout[:len(x)]
	for i, v := range x {
		if v > 0 {
			dx[i] += dout[i]
		}
	}
}
