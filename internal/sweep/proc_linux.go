package sweep

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill a step when the sweep process dies,
// even by SIGKILL, so that no orphaned training keeps writing into a run
// directory that a rerun is about to resume.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
