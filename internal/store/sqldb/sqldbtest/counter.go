package sqldbtest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// CountedMySQLConfig is MySQLConfig with the connections of the first shard
// going through a proxy that counts the requests (commands) clients send to
// the server; tests assert how many round trips an operation costs.
func CountedMySQLConfig(t testing.TB, shards, tablesPerShard int) (sqldb.Config, *CommandCounter) {
	t.Helper()
	cfg := MySQLConfig(t, shards, tablesPerShard)
	dsn, err := mysql.ParseDSN(cfg.ShardDSNs[0])
	if err != nil {
		t.Fatal(err)
	}
	c := newCommandCounter(t, dsn.Addr)
	dsn.Addr = c.addr
	cfg.ShardDSNs[0] = dsn.FormatDSN()
	return cfg, c
}

// Commands is the number of commands counted so far.
func (c *CommandCounter) Commands() int64 { return c.commands.Load() }

// Answers is the number of statements the server answered so far, after each
// connection's handshake: its OK packets (one per statement of a
// multi-statement request, one per compound statement), errors and ends of
// result sets. A statement's answer is a write of its own on the server and
// a wake-up of the client's reader. Rows are told from these packets by
// their first byte, as the text protocol sends them; a row whose first column
// is an empty string would count (its packet starts with 0x00 too): the tests
// that read Answers return no such row.
func (c *CommandCounter) Answers() int64 { return c.answers.Load() }

// CommandCounter is a TCP proxy to a MySQL server that counts the commands
// clients send: packets with sequence number 0 (each command starts one; the
// handshake's client packet has sequence 1). It also counts the server's
// answers.
type CommandCounter struct {
	addr, target string
	commands     atomic.Int64
	answers      atomic.Int64
}

func newCommandCounter(t testing.TB, target string) *CommandCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &CommandCounter{addr: ln.Addr().String(), target: target}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, conn := range conns {
			conn.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", c.target)
			if err != nil {
				client.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, client, server)
			mu.Unlock()
			wg.Go(func() { c.copyPackets(client, server, c.answerCounter()); client.Close() })
			wg.Go(func() { c.copyPackets(server, client, c.countCommand); server.Close() })
		}
	})
	return c
}

// copyPackets copies MySQL packets from src to dst, calling seen with each
// packet's header and the first byte of its payload (0 for an empty one).
func (c *CommandCounter) copyPackets(dst io.Writer, src io.Reader, seen func(head [4]byte, first byte)) {
	var head [4]byte
	for {
		if _, err := io.ReadFull(src, head[:]); err != nil {
			return
		}
		n := int64(head[0]) | int64(head[1])<<8 | int64(head[2])<<16
		var first [1]byte
		if n > 0 {
			if _, err := io.ReadFull(src, first[:]); err != nil {
				return
			}
		}
		seen(head, first[0])
		if _, err := dst.Write(head[:]); err != nil {
			return
		}
		if n > 0 {
			if _, err := dst.Write(first[:]); err != nil {
				return
			}
			if _, err := io.CopyN(dst, src, n-1); err != nil {
				return
			}
		}
	}
}

// countCommand counts a client packet that starts a command.
func (c *CommandCounter) countCommand(head [4]byte, _ byte) {
	if head[3] == 0 {
		c.commands.Add(1)
	}
}

// answerCounter returns the counter of one connection's answers: it counts
// OK packets (0x00, at least 7 bytes: header, two length-encoded integers,
// status, warnings), errors (0xFF) and ends of result sets (0xFE: with
// CLIENT_DEPRECATE_EOF an OK packet, else an EOF packet) once the handshake
// ended with its OK packet (before it, 0xFE is an authentication switch).
func (c *CommandCounter) answerCounter() func(head [4]byte, first byte) {
	authed := false
	return func(head [4]byte, first byte) {
		n := int(head[0]) | int(head[1])<<8 | int(head[2])<<16
		ok := first == 0x00 && n >= 7
		if !authed {
			authed = ok
			return
		}
		if ok || first == 0xFF || (first == 0xFE && n < 0xFFFFFF) {
			c.answers.Add(1)
		}
	}
}
