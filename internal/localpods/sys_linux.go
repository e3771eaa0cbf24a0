package localpods

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts each child in its own process group, so signals to the group reach anything it forks and
// a terminal's Ctrl-C reaches only localpods (which then stops the children in order), and asks the kernel
// to SIGKILL the child if localpods dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func signalTerm(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }

func signalKill(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
