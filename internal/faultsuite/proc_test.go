package faultsuite

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// baseEnv is the test process's environment without any BIGMARKET_ variable,
// so that nothing of the caller's configuration leaks into the processes.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BIGMARKET_") {
			env = append(env, kv)
		}
	}
	return env
}

// envList turns a map into KEY=value pairs.
func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// runCommand runs the bigmarket binary to completion (migrate, campaign apply)
// and fails t when it does not succeed within a minute.
func runCommand(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, the.binary, args...)
	cmd.Env = append(baseEnv(), envList(env)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bigmarket %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// process is a child OS process the test starts, stops and restarts; its output
// goes to a log file that is printed when the test fails.
type process struct {
	t    *testing.T
	name string
	path string
	args []string
	env  []string
	log  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when the current run ended
}

// newProcess prepares a process; start runs it. Whatever runs when the test
// ends is killed then.
func newProcess(t *testing.T, name, path string, env map[string]string, args ...string) *process {
	t.Helper()
	p := &process{t: t, name: name, path: path, args: args, env: append(baseEnv(), envList(env)...),
		log: filepath.Join(t.TempDir(), name+".log")}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.dumpLog(60)
		}
		p.keepLog()
	})
	return p
}

// start runs the process; it fails t when the process cannot be started.
func (p *process) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.t.Fatalf("%s: started twice", p.name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatalf("%s: log: %v", p.name, err)
	}
	fmt.Fprintf(f, "---- %s start %s\n", p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("%s: start: %v", p.name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		f.Close()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
}

// signal sends sig to the running process and waits up to wait for it to end;
// it returns false when the process did not end in time (it still runs).
func (p *process) signal(sig syscall.Signal, wait time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return true
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		p.cmd = nil
		return true
	case <-time.After(wait):
		return false
	}
}

// kill ends the process at once (SIGKILL) and waits for it.
func (p *process) kill() {
	if !p.signal(syscall.SIGKILL, time.Minute) {
		p.t.Errorf("%s: still running a minute after SIGKILL", p.name)
	}
}

// terminate sends SIGTERM and waits up to wait for a graceful end, failing t
// (and killing the process) when it takes longer.
func (p *process) terminate(wait time.Duration) time.Duration {
	p.t.Helper()
	begin := time.Now()
	if !p.signal(syscall.SIGTERM, wait) {
		p.t.Errorf("%s: still running %s after SIGTERM", p.name, wait)
		p.kill()
	}
	return time.Since(begin)
}

// running reports whether the process runs.
func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// startListening starts the process and waits until addr accepts TCP
// connections, failing t when the process exits or within passes first.
func (p *process) startListening(addr string, within time.Duration) {
	p.t.Helper()
	p.start()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) || !p.running() {
			p.dumpLog(20)
			p.t.Fatalf("%s did not listen on %s", p.name, addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logsVar names a directory to keep every process's log in (file names
// test-process.log); unset, logs go with the test's temporary directory.
const logsVar = "BIGMARKET_FAULT_LOGS"

func (p *process) keepLog() {
	dir := os.Getenv(logsVar)
	if dir == "" {
		return
	}
	b, err := os.ReadFile(p.log)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, p.t.Name()+"-"+p.name+".log"), b, 0o600)
	}
	if err != nil {
		p.t.Logf("keep log of %s: %v", p.name, err)
	}
}

func (p *process) dumpLog(lines int) {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	p.t.Logf("last %d lines of %s:\n%s", len(all), p.name, strings.Join(all, "\n"))
}

// logCount counts the lines of the process's log that contain s.
func (p *process) logCount(s string) int {
	b, _ := os.ReadFile(p.log)
	return bytes.Count(b, []byte(s))
}

// instance is one bigmarket serve process on a fixed address: it keeps the
// address across restarts, as a restarted instance behind a load balancer does.
type instance struct {
	*process
	addr string
}

// newInstance prepares `bigmarket serve` on a free loopback port with env (and
// the config file, when not empty); start it with start.
func newInstance(t *testing.T, name string, env map[string]string, configFile string) *instance {
	t.Helper()
	addr := freeAddr(t)
	e := map[string]string{"BIGMARKET_ADDR": addr}
	for k, v := range env {
		e[k] = v
	}
	if _, ok := e["BIGMARKET_DATA_DIR"]; !ok {
		e["BIGMARKET_DATA_DIR"] = t.TempDir()
	}
	args := []string{"serve"}
	if configFile != "" {
		args = append(args, "--config", configFile)
	}
	return &instance{process: newProcess(t, name, the.binary, e, args...), addr: addr}
}

// url is the instance's base URL.
func (in *instance) url() string { return "http://" + in.addr }

// start runs the instance and waits until it answers /healthz.
func (in *instance) start() {
	in.t.Helper()
	in.process.start()
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(in.url() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if !in.running() {
			in.dumpLog(40)
			in.t.Fatalf("%s exited during start", in.name)
		}
		if time.Now().After(deadline) {
			in.dumpLog(40)
			in.t.Fatalf("%s did not answer /healthz within a minute", in.name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// restart starts the instance again after it was stopped.
func (in *instance) restart() {
	in.t.Helper()
	in.start()
}
