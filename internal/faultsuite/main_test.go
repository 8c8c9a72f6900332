package faultsuite

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// enableVar must be "1" for the suite to run. The suite kills and restarts
// processes, cuts connections through its own proxies and needs a few minutes of
// the machine's CPU on its own: run in parallel with the other packages (the
// `go test ./...` steps of .ci/run), its load would slow them and theirs would
// blur its timings. So `go test ./...` skips it with a message, and .ci/run sets
// the variable only in the suite's own serial step, after the race tests.
const enableVar = "BIGMARKET_FAULT_SUITE"

// fleetVar must be "1" for the fleet test (TestFleetBehindNginx: Debian's nginx
// in front of three instances, one killed and restarted, then the fleet scraped
// by Prometheus) to run; .ci/run sets it in a serial step of its own, next to
// the suite's. With either variable set TestMain builds the binary.
const fleetVar = "BIGMARKET_FLEET_SUITE"

// suite is what TestMain prepares once for every test: the built binary and the
// table of figures printed at the end. Tests run one after the other.
type suite struct {
	binary string // path of the bigmarket binary built for this run

	mu      sync.Mutex
	figures []figures
	fleet   []fleetFigures // of TestFleetBehindNginx
}

// the is set once by TestMain before any test runs.
var the suite

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Getenv(enableVar) != "1" && os.Getenv(fleetVar) != "1" {
		return m.Run() // every test skips with the reason
	}
	dir, err := os.MkdirTemp("", "bigmarket-faultsuite-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "faultsuite: temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bigmarket")
	build := exec.Command(goTool(), "build", "-o", bin, "github.com/bigmarket/bigmarket/cmd/bigmarket")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "faultsuite: go build: %v\n%s", err, out)
		return 1
	}
	the.binary = bin
	code := m.Run()
	the.printTable(os.Stdout)
	return code
}

// goTool returns the go command that runs this test, or the one on PATH.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// needSuite skips t unless the suite is enabled.
func needSuite(t *testing.T) {
	t.Helper()
	if os.Getenv(enableVar) != "1" || the.binary == "" {
		t.Skipf("fault-injection suite skipped: set %s=1 to run it (it starts, kills and restarts bigmarket processes for minutes; .ci/run runs it in its own serial step)", enableVar)
	}
}

// needFleet skips t unless the fleet test is enabled.
func needFleet(t *testing.T) {
	t.Helper()
	if os.Getenv(fleetVar) != "1" || the.binary == "" {
		t.Skipf("fleet test skipped: set %s=1 to run it (nginx in front of three bigmarket processes, one killed and restarted, for minutes; .ci/run runs it in its own serial step)", fleetVar)
	}
}
