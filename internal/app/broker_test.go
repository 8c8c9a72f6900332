package app_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// startProxy forwards connections on addr to target until the test ends.
func startProxy(t *testing.T, addr, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	// Cleanups run last-registered first: this one runs before the instance is
	// closed, so it cuts the connections itself rather than wait for them.
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			wg.Go(func() { io.Copy(u, c); u.Close() })
			wg.Go(func() { io.Copy(c, u); c.Close() })
		}
	})
}

// TestBrokerDownAtStart: with RabbitMQ unreachable, an instance starts and its
// draws succeed; once the broker answers, every award is delivered.
func TestBrokerDownAtStart(t *testing.T) {
	cfg := productionConfig(t)
	real := testsvc.Addr(t, "rabbitmq")
	// A free port where nothing listens yet: the broker is "down".
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg.RabbitMQ.URL = strings.Replace(cfg.RabbitMQ.URL, real, addr, 1)
	cfg.RabbitMQ.ConnectTimeout = 300 * time.Millisecond
	h := instance(t, cfg)
	for u := range 10 {
		g := fmt.Sprintf(`{"id":"down%d","userId":"down%d","activityId":100301,"total":2,"day":2,"month":2}`, u, u)
		if env := call(t, h, "POST", "/api/admin/v1/quota/grant", g); env.Code != "0000" {
			t.Fatalf("grant: %s %s", env.Code, env.Info)
		}
		for range 2 {
			if env := call(t, h, "POST", "/api/v1/raffle/activity/draw", fmt.Sprintf(`{"userId":"down%d","activityId":100301}`, u)); env.Code != "0000" {
				t.Fatalf("draw with the broker down: %s %s", env.Code, env.Info)
			}
		}
	}
	startProxy(t, addr, real) // the broker is back
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for u := range 10 {
		for {
			env := call(t, h, "GET", fmt.Sprintf("/api/admin/v1/users/down%d", u), "")
			if n := strings.Count(string(env.Data), `"awardState":"completed"`) + strings.Count(string(env.Data), `"awardState":"pending_manual"`); n == 2 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("user down%d: awards not delivered after the broker came back: %s", u, env.Data)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
