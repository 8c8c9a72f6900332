package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestBinaryHasNoTestingPackage: test helpers live in test-only packages, so the
// production binary does not link package testing (and its flags).
func TestBinaryHasNoTestingPackage(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if slices.Contains(deps, "testing") {
		var via []string
		for _, d := range deps {
			if strings.HasPrefix(d, "github.com/bigmarket/bigmarket/") {
				imp, _ := exec.Command(gobin, "list", "-f", `{{join .Imports " "}}`, d).Output()
				if slices.Contains(strings.Fields(string(imp)), "testing") {
					via = append(via, d)
				}
			}
		}
		t.Fatalf("bigmarket links package testing, imported by %v", via)
	}
}
