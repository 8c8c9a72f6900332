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

// OKs is the number of OK packets the server sent so far: one per statement
// of a multi-statement request, one per compound statement, one per
// successful handshake. A result set's rows are not counted unless one's
// first column is an empty string (its packet, too, starts with 0x00); the
// tests that read OKs return no such row.
func (c *CommandCounter) OKs() int64 { return c.oks.Load() }

// CommandCounter is a TCP proxy to a MySQL server that counts the commands
// clients send: packets with sequence number 0 (each command starts one; the
// handshake's client packet has sequence 1). It also counts the server's OK
// packets.
type CommandCounter struct {
	addr, target string
	commands     atomic.Int64
	oks          atomic.Int64
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
			wg.Go(func() { c.copyPackets(client, server, c.countOK); client.Close() })
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

// countOK counts a server packet that is an OK packet: its payload starts
// with 0x00 and holds at least the header, two length-encoded integers, the
// status and the warnings (7 bytes).
func (c *CommandCounter) countOK(head [4]byte, first byte) {
	n := int(head[0]) | int(head[1])<<8 | int(head[2])<<16
	if first == 0x00 && n >= 7 {
		c.oks.Add(1)
	}
}
