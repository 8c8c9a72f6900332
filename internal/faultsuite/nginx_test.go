package faultsuite

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// shippedNginx is the nginx example shipped with bigmarket, which the fleet
// test runs (an http-context file, as nginx's conf.d holds).
const shippedNginx = "../../deploy/nginx.conf"

// lookNginx returns the nginx binary (Debian installs it in /usr/sbin, which is
// not on every user's PATH); without one it skips t, or fails it when
// BIGMARKET_REQUIRE_SERVICES=1.
func lookNginx(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil && fileExists("/usr/sbin/nginx") {
		bin, err = "/usr/sbin/nginx", nil
	}
	if err != nil {
		if testsvc.Required() {
			t.Fatalf("nginx is required (BIGMARKET_REQUIRE_SERVICES=1) but not installed: %v (apt-get install nginx; .ci/run installs it)", err)
		}
		t.Skipf("nginx not installed (%v); skipping. Install it (apt-get install nginx), or set BIGMARKET_REQUIRE_SERVICES=1 to fail instead", err)
	}
	return bin
}

var (
	upstreamServer = regexp.MustCompile(`(?m)^(\s*)server\s+[0-9.]+:\d+(\s[^;]*)?;\n`)
	listenLine     = regexp.MustCompile(`(?m)^(\s*)listen\s+80;`)
)

// fleetNginxConf turns the shipped file into the test's: its upstream servers
// become backends (each with the parameters of the shipped servers: passive
// health checks) and it listens on listen; everything else is kept. It fails
// when the shipped file no longer has the lines it replaces.
func fleetNginxConf(shipped, listen string, backends []string) (string, error) {
	servers := upstreamServer.FindAllStringSubmatch(shipped, -1)
	if len(servers) == 0 {
		return "", fmt.Errorf("%s: no upstream \"server ADDR:PORT …;\" line", shippedNginx)
	}
	indent, params := servers[0][1], servers[0][2]
	var ours strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&ours, "%sserver %s%s;\n", indent, b, params)
	}
	first := true
	out := upstreamServer.ReplaceAllStringFunc(shipped, func(string) string {
		if first {
			first = false
			return ours.String()
		}
		return ""
	})
	if n := len(listenLine.FindAllString(out, -1)); n != 1 {
		return "", fmt.Errorf("%s: %d \"listen 80;\" lines, want 1", shippedNginx, n)
	}
	return listenLine.ReplaceAllString(out, "${1}listen "+listen+";"), nil
}

// nginx is Debian's nginx running the shipped configuration in front of the
// test's instances, with an access log of its own that records, per request,
// which instances nginx tried and what they answered.
type nginx struct {
	*process
	addr      string
	accessLog string
}

// accessFormat is the test's log format: time, status, the instances tried
// ("a, b" when the first failed before the request was sent) and their
// statuses, the request's time in nginx, the request.
const accessFormat = `$msec|$status|$upstream_addr|$upstream_status|$request_time|$request_method $uri`

// startNginx generates the configuration into a temporary directory (prefix,
// pid file, temp paths, logs all there) and runs nginx in the foreground.
func startNginx(t *testing.T, bin string, backends ...string) *nginx {
	t.Helper()
	shipped, err := os.ReadFile(shippedNginx)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	site, err := fleetNginxConf(string(shipped), addr, backends)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := &nginx{addr: addr, accessLog: filepath.Join(dir, "access.log")}
	var conf strings.Builder
	// Run as root, the master would hand the workers to "nobody", who cannot
	// read the test's temporary directory.
	if os.Geteuid() == 0 {
		conf.WriteString("user root;\n")
	}
	fmt.Fprintf(&conf, "worker_processes 1;\nevents { worker_connections 1024; }\nhttp {\n")
	for _, p := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&conf, "    %s_temp_path %s;\n", p, filepath.Join(dir, p+"_temp"))
	}
	fmt.Fprintf(&conf, "    log_format fleet '%s';\n    access_log %s fleet;\n\n", accessFormat, n.accessLog)
	conf.WriteString(site)
	conf.WriteString("}\n")
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-q", "-p", dir, "-e", "stderr", "-c", file).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t with the shipped %s: %v\n%s\nconfiguration:\n%s", shippedNginx, err, out, conf.String())
	}
	n.process = newProcess(t, "nginx", bin, nil, "-p", dir, "-e", "stderr", "-c", file,
		"-g", fmt.Sprintf("daemon off; pid %s; error_log stderr;", filepath.Join(dir, "nginx.pid")))
	// nginx's workers outlive a master killed with SIGKILL (the process's own
	// cleanup): stop the master with SIGTERM first, which ends its workers too.
	// Cleanups run last-registered first, so this one runs before the kill.
	t.Cleanup(func() { n.terminate(10 * time.Second) })
	n.startListening(addr, 30*time.Second)
	return n
}

// url is nginx's base URL.
func (n *nginx) url() string { return "http://" + n.addr }

// hit is one request of nginx's access log.
type hit struct {
	at     time.Time
	status int
	took   time.Duration // from the request's first byte to the answer's last
	tried  []string      // instances in the order nginx tried them
	served string        // the last one tried: the answer's instance
}

// hits reads the access log.
func (n *nginx) hits(t *testing.T) []hit {
	t.Helper()
	f, err := os.Open(n.accessLog)
	if err != nil {
		t.Fatalf("nginx access log: %v", err)
	}
	defer f.Close()
	var out []hit
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "|")
		if len(fields) != 6 {
			t.Fatalf("nginx access log: line %q", sc.Text())
		}
		ms, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			t.Fatalf("nginx access log: time %q: %v", fields[0], err)
		}
		status, _ := strconv.Atoi(fields[1])
		took, _ := strconv.ParseFloat(fields[4], 64)
		h := hit{at: time.UnixMilli(int64(ms * 1000)), status: status, took: time.Duration(took * float64(time.Second))}
		for _, a := range strings.Split(fields[2], ",") {
			if a = strings.TrimSpace(a); a != "" && a != "-" {
				h.tried = append(h.tried, a)
			}
		}
		if len(h.tried) > 0 {
			h.served = h.tried[len(h.tried)-1]
		}
		out = append(out, h)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("nginx access log: %v", err)
	}
	return out
}

// TestFleetNginxConf checks, without nginx, that the shipped file still has
// the lines the fleet test replaces, and that only those change.
func TestFleetNginxConf(t *testing.T) {
	shipped, err := os.ReadFile(shippedNginx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fleetNginxConf(string(shipped), "127.0.0.1:18080", []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"listen 127.0.0.1:18080;",
		"server 127.0.0.1:1 max_fails=3 fail_timeout=10s;\n    server 127.0.0.1:2 max_fails=3 fail_timeout=10s;\n    server 127.0.0.1:3 max_fails=3 fail_timeout=10s;\n    keepalive",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("generated configuration lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "10.0.0.") && !strings.Contains(got, "allow 10.0.0.0/8;") || strings.Contains(got, "server 10.0.0.") {
		t.Errorf("a shipped upstream server is left:\n%s", got)
	}
	anyListen := regexp.MustCompile(`(?m)^\s*listen\s+[^;]+;`)
	keep := upstreamServer.ReplaceAllString(anyListen.ReplaceAllString(string(shipped), ""), "")
	ours := upstreamServer.ReplaceAllString(anyListen.ReplaceAllString(got, ""), "")
	if keep != ours {
		t.Errorf("the generated configuration differs from the shipped one beyond servers and listen:\n%s", ours)
	}
}
