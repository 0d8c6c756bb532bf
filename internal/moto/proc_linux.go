package moto

import "syscall"

// sysProcAttr puts the server in its own process group, so that kill ends
// it and whatever it started, and has the kernel kill it if the test
// binary dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// kill ends the process group pid leads.
func kill(pid int) {
	if pid > 0 {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
}
