package rabbitmq

import (
	"net"
	"sync"
	"time"
)

// defaultWriteLinger is Config.writeLinger's default: at 1 000 messages/s it
// halved RabbitMQ's CPU per message (BenchmarkRabbitMQPublishConsume/paced),
// and it adds as much to a publish's confirm and to an acknowledgement.
const defaultWriteLinger = 2 * time.Millisecond

// maxLingerBuffer is how many bytes lingerConn gathers before a writer waits
// for them to be written.
const maxLingerBuffer = 256 << 10

// lingerConn gathers the writes made within linger of each other into one
// write to the underlying connection, like TCP_CORK with a short timer.
//
// amqp091-go flushes each frame group (a publish, an ack) with its own write
// system call, and RabbitMQ reads, parses and handles each on arrival: at a few
// hundred messages a second every message costs the broker wake-ups of its
// reader, channel and queue processes and, for persistent messages with
// confirms, often a disk sync of its own. Gathered, the messages of a few
// milliseconds arrive in one read and are handled, synced and confirmed together.
//
// Nothing the bus promises depends on when bytes leave: Publish still waits for
// the broker's confirm, and an ack lost with the connection leaves its delivery
// to be delivered again. Write reports a failure of an earlier gathered write
// (and the connection is then closed, which the reader notices); Close writes
// what is gathered first.
type lingerConn struct {
	net.Conn
	linger time.Duration

	wmu   sync.Mutex // held while writing to Conn
	mu    sync.Mutex
	buf   []byte // gathered, not yet written
	err   error  // the first write error, or net.ErrClosed after Close; sticky
	space *sync.Cond
	kick  chan struct{} // buffered 1: buf went from empty to not empty
	done  chan struct{} // closed by Close
	once  sync.Once
}

func newLingerConn(c net.Conn, linger time.Duration) *lingerConn {
	lc := &lingerConn{Conn: c, linger: linger, kick: make(chan struct{}, 1), done: make(chan struct{})}
	lc.space = sync.NewCond(&lc.mu)
	go lc.flusher()
	return lc
}

// Write gathers p; it blocks only while maxLingerBuffer bytes wait.
func (c *lingerConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && len(c.buf) >= maxLingerBuffer {
		c.space.Wait()
	}
	if c.err != nil {
		return 0, c.err
	}
	first := len(c.buf) == 0
	c.buf = append(c.buf, p...)
	if first {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (c *lingerConn) flusher() {
	t := time.NewTimer(time.Hour)
	t.Stop()
	var spare []byte
	for {
		select {
		case <-c.kick:
		case <-c.done:
			return
		}
		t.Reset(c.linger)
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
			return
		}
		var err error
		spare, err = c.writeGathered(spare)
		if err != nil {
			c.Conn.Close() // the reader notices, and the connection shuts down
			return
		}
	}
}

// writeGathered writes the gathered bytes, swapping in spare as the new buffer,
// and returns the written buffer for reuse.
func (c *lingerConn) writeGathered(spare []byte) ([]byte, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	batch := c.buf
	c.buf = spare[:0]
	err := c.err
	c.mu.Unlock()
	if err != nil || len(batch) == 0 {
		return batch, err
	}
	_, err = c.Conn.Write(batch)
	c.mu.Lock()
	if err != nil && c.err == nil {
		c.err = err
	}
	c.space.Broadcast()
	c.mu.Unlock()
	return batch, err
}

// Close writes what is gathered, unless a write is under way (it may be stuck
// on a dead network: closing unblocks it), and closes the connection. Later
// writes fail with net.ErrClosed.
func (c *lingerConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		close(c.done)
		if c.wmu.TryLock() {
			c.mu.Lock()
			batch := c.buf
			c.buf = nil
			if c.err == nil && len(batch) > 0 {
				c.mu.Unlock()
				_, _ = c.Conn.Write(batch)
				c.mu.Lock()
			}
			c.mu.Unlock()
			c.wmu.Unlock()
		}
		c.mu.Lock()
		if c.err == nil {
			c.err = net.ErrClosed
		}
		c.space.Broadcast()
		c.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}
