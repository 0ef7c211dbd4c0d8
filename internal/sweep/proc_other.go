//go:build !linux

package sweep

import "os/exec"

// setDeathSignal has no portable equivalent outside Linux: there a killed
// sweep may leave a step running until it finishes; the run's lock (held by
// the sweep, not the step) then lets a rerun start it again.
func setDeathSignal(cmd *exec.Cmd) {}
