//go:build !linux

package localpods

import (
	"os"
	"os/exec"
	"syscall"
)

// sysProcAttr has nothing to add outside Linux: there is no parent-death signal, so children of a localpods
// that was killed with SIGKILL keep running.
func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalTerm(cmd *exec.Cmd) {
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = cmd.Process.Signal(os.Kill)
	}
}

func signalKill(cmd *exec.Cmd) { _ = cmd.Process.Signal(os.Kill) }
