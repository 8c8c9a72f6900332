package rabbitmq

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// fakeConn records the writes that reach the network; block makes them wait
// until Close, fail makes them fail.
type fakeConn struct {
	net.Conn // nil: only Write and Close are used

	mu     sync.Mutex
	writes [][]byte
	closed bool
	block  bool
	fail   error
	gone   chan struct{} // closed by Close
}

func newFakeConn() *fakeConn { return &fakeConn{gone: make(chan struct{})} }

func (f *fakeConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	block, fail := f.block, f.fail
	f.writes = append(f.writes, append([]byte(nil), p...))
	f.mu.Unlock()
	if block {
		<-f.gone
		return 0, net.ErrClosed
	}
	if fail != nil {
		return 0, fail
	}
	return len(p), nil
}

func (f *fakeConn) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.gone)
	}
	return nil
}

func (f *fakeConn) written() ([][]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.writes...), f.closed
}

// Writes made within the linger leave in one write, in order; Close writes them.
func TestLingerConnGathersWrites(t *testing.T) {
	f := newFakeConn()
	c := newLingerConn(f, time.Hour)
	for _, p := range []string{"publish-1|", "ack-7|", "publish-2|"} {
		if n, err := c.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if w, _ := f.written(); len(w) != 0 {
		t.Fatalf("written before the linger ended: %q", w)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	w, closed := f.written()
	if len(w) != 1 || string(w[0]) != "publish-1|ack-7|publish-2|" || !closed {
		t.Errorf("writes = %q (closed %v), want one write of everything, then close", w, closed)
	}
	if _, err := c.Write([]byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// The flusher writes what gathered once the linger ends; a failed write closes
// the connection (the reader notices) and fails every later Write.
func TestLingerConnWriteErrorIsSticky(t *testing.T) {
	f := newFakeConn()
	f.fail = errors.New("connection reset")
	c := newLingerConn(f, time.Millisecond)
	if _, err := c.Write([]byte("publish-1")); err != nil {
		t.Fatal(err)
	}
	testsvc.Eventually(t, "the failed write to close the connection", func() bool {
		_, closed := f.written()
		return closed
	})
	if _, err := c.Write([]byte("publish-2")); err == nil || err.Error() != "connection reset" {
		t.Errorf("Write after a failed write = %v, want the write's error", err)
	}
	if w, _ := f.written(); len(w) != 1 || string(w[0]) != "publish-1" {
		t.Errorf("writes = %q, want publish-1 alone", w)
	}
	c.Close()
}

// Close returns while a write is stuck on a dead network (closing the connection
// unblocks it), and releases writers waiting for buffer space.
func TestLingerConnCloseUnblocksStuckWrite(t *testing.T) {
	f := newFakeConn()
	f.block = true
	c := newLingerConn(f, time.Millisecond)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	testsvc.Eventually(t, "the flusher's write to start", func() bool {
		w, _ := f.written()
		return len(w) == 1
	})
	big := make([]byte, maxLingerBuffer)
	c.Write(big) // fills the buffer
	waiter := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("more")) // waits for space
		waiter <- err
	}()
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case <-closed:
	case <-time.After(bound):
		t.Fatal("Close hung behind a stuck write")
	}
	select {
	case err := <-waiter:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("waiting Write = %v, want net.ErrClosed", err)
		}
	case <-time.After(bound):
		t.Fatal("a writer waiting for space stayed blocked after Close")
	}
}
