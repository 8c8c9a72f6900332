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

// CommandCounter is a TCP proxy to a MySQL server that counts the commands
// clients send: packets with sequence number 0 (each command starts one; the
// handshake's client packet has sequence 1).
type CommandCounter struct {
	addr, target string
	commands     atomic.Int64
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
			wg.Go(func() { io.Copy(client, server); client.Close() })
			wg.Go(func() { c.count(server, client); server.Close() })
		}
	})
	return c
}

// count copies MySQL packets from client to server, counting commands.
func (c *CommandCounter) count(server io.Writer, client io.Reader) {
	var head [4]byte
	for {
		if _, err := io.ReadFull(client, head[:]); err != nil {
			return
		}
		n := int64(head[0]) | int64(head[1])<<8 | int64(head[2])<<16
		if head[3] == 0 {
			c.commands.Add(1)
		}
		if _, err := server.Write(head[:]); err != nil {
			return
		}
		if _, err := io.CopyN(server, client, n); err != nil {
			return
		}
	}
}
