package experiments

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the worker when the sweep process dies, so that a
// killed sweep leaves no worker writing into its folder.
func setDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
