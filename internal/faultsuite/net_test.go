package faultsuite

import (
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
)

// proxy forwards TCP connections from its own loopback address to a shared
// service. cut makes the service unreachable for everything behind the proxy —
// open connections are closed and new ones refused — without touching the
// service, which other tests use; restore makes it reachable again on the same
// address.
type proxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// newProxy starts a proxy to target; it stops when t ends.
func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{t: t, target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() {
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.forward(c) })
		}
	})
}

func (p *proxy) forward(c net.Conn) {
	u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // cut meanwhile
		p.mu.Unlock()
		c.Close()
		u.Close()
		return
	}
	p.conns[c], p.conns[u] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(u, c); u.Close() })
	wg.Go(func() { io.Copy(c, u); c.Close() })
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// cut closes the listener and every open connection: clients see their
// connections drop and new ones refused.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// restore listens again on the proxy's address.
func (p *proxy) restore() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port was ours a moment ago; retry a bind race briefly
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// receiver is the webhook endpoint of the suite's webhook awards: it checks the
// signature, counts POSTs per award order id (the delivery header) and answers
// 200 after a delay, so that deliveries are in flight when a fault strikes.
//
// It tells two counts apart. An award answered 200 twice was delivered twice:
// a duplicate, which must never happen. A POST that never got its answer (the
// sender timed out, was cancelled or died first) may be posted again: that is
// the webhook contract (the delivery header is the receiver's idempotency key),
// counted as a repost and reported, not failed.
type receiver struct {
	srv    *httptest.Server
	secret string

	mu        sync.Mutex
	delay     time.Duration
	posts     map[string]int // award order id → POSTs received
	delivered map[string]int // award order id → POSTs answered 200
	badSig    int
	received  int
}

// newReceiver starts a receiver; it stops when t ends.
func newReceiver(t *testing.T, secret string, delay time.Duration) *receiver {
	t.Helper()
	r := &receiver{secret: secret, delay: delay, posts: map[string]int{}, delivered: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.handle))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	order := req.Header.Get(award.DeliveryHeader)
	r.mu.Lock()
	r.received++
	if !award.VerifySignature(r.secret, body, req.Header.Get(award.SignatureHeader)) || order == "" {
		r.badSig++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.posts[order]++
	delay := r.delay
	r.mu.Unlock()
	select {
	case <-time.After(delay):
	case <-req.Context().Done():
		return // the sender gave up: this POST was never answered
	}
	r.mu.Lock()
	r.delivered[order]++
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// setDelay changes how long the receiver takes to answer from now on: a
// partner's endpoint that turns slow.
func (r *receiver) setDelay(d time.Duration) {
	r.mu.Lock()
	r.delay = d
	r.mu.Unlock()
}

// snapshot returns copies of the POST and delivery counts and the number of
// POSTs with a bad signature.
func (r *receiver) snapshot() (posts, delivered map[string]int, badSig int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.posts), maps.Clone(r.delivered), r.badSig
}
