//go:build !linux

package faultsuite

import "os/exec"

// dieWithTest does nothing where the kernel offers no parent-death signal;
// t.Cleanup still kills every process the suite started.
func dieWithTest(*exec.Cmd) {}
