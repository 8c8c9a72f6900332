// Package redisx builds the Redis client that the Redis-backed platform pieces
// (counter, lease, ratelimit) share, and the one key-naming rule they follow.
//
// # Key layout
//
// Every key is prefix + namespace + "{" + name + "}" [+ ":" + part], for example
// "bigmarket:counter:{strategy:100006:award:101}" or
// "bigmarket:ratelimit:{user:xiaofuge}:block". The braces are a Redis Cluster
// hash tag: only the part inside them chooses the slot, so all keys one Lua
// script touches for one name live in the same slot and the script never fails
// with CROSSSLOT (DESIGN §10). Names may hold any bytes: Key escapes "%" and
// "}" (which would end the tag early) and the empty name (an empty tag is no
// tag), see Key. Prefixes must not contain "{" or "}", or every key would hash
// on the prefix alone.
package redisx

import (
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix used when Config.Prefix is empty.
const DefaultPrefix = "bigmarket:"

// DefaultAddr is the address used when Config.Addrs is empty.
const DefaultAddr = "127.0.0.1:6379"

// ClusterStateReload is how old a cluster client's slot map may grow before the
// next command reloads it (CLUSTER SLOTS, from one node). go-redis reloads it
// on MOVED, ASK and READONLY answers, but a master that died answers nothing:
// every retry goes to the dead address again until the periodic reload, which
// go-redis does every 60 s by default. The Redis Cluster failover test measured
// that minute without a single take on the failed master's slots; with 2 s, a
// command finds the promoted replica within about two seconds of the
// promotion, at the cost of one CLUSTER SLOTS per 2 s per busy client.
const ClusterStateReload = 2 * time.Second

// Config configures the Redis client. The zero value connects to a standalone
// Redis at DefaultAddr, database 0, without authentication, with keys under
// DefaultPrefix.
type Config struct {
	// Addrs lists host:port addresses. Empty means DefaultAddr; one address
	// means a standalone server (unless Cluster is set); several mean the seed
	// nodes of a Redis Cluster.
	Addrs []string
	// Cluster forces Redis Cluster mode with a single seed address (e.g. a
	// managed cluster's configuration endpoint). False means: decided by Addrs.
	Cluster bool
	// Username is the ACL user name; empty means the default user.
	Username string
	// Password authenticates the connection; empty means no AUTH.
	Password string
	// DB selects the database of a standalone server; zero means database 0.
	// Redis Cluster has only database 0, so DB is ignored in cluster mode.
	DB int
	// PoolSize is the number of connections per node; zero means the go-redis
	// default (10 per CPU).
	PoolSize int
	// Prefix starts every key, e.g. "bigmarket:"; empty means DefaultPrefix. It
	// must not contain "{" or "}".
	Prefix string
}

// KeyPrefix returns the effective key prefix: Prefix, or DefaultPrefix when it
// is empty.
func (c Config) KeyPrefix() string {
	if c.Prefix == "" {
		return DefaultPrefix
	}
	return c.Prefix
}

// IsCluster reports whether New returns a cluster client for c: when Cluster is
// set or Addrs holds more than one address.
func (c Config) IsCluster() bool { return c.Cluster || len(c.Addrs) > 1 }

// New returns a client for cfg: a *redis.Client for one address, a
// *redis.ClusterClient for several (or when cfg.Cluster is set). It does not
// connect; the first command does. The caller closes the client.
func New(cfg Config) redis.UniversalClient {
	addrs := cfg.Addrs
	if len(addrs) == 0 {
		addrs = []string{DefaultAddr}
	}
	if cfg.IsCluster() {
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:    addrs,
			Username: cfg.Username,
			Password: cfg.Password,
			PoolSize: cfg.PoolSize,

			ClusterStateReloadInterval: ClusterStateReload,
		})
	}
	return redis.NewClient(&redis.Options{
		Addr:     addrs[0],
		Username: cfg.Username,
		Password: cfg.Password,
		DB:       cfg.DB,
		PoolSize: cfg.PoolSize,
	})
}

// Key returns prefix + "{" + name + "}": name wrapped in a Redis Cluster hash
// tag, so that every key built from Key(prefix, name) plus a suffix maps to the
// same slot as Key(prefix, name) itself. Callers include their namespace in
// prefix ("bigmarket:counter:") and may append ":part" suffixes.
//
// A name containing "%" or "}" is escaped ("%" → "%25", "}" → "%7D") and the
// empty name becomes "%", so that every name yields a non-empty tag and distinct
// names yield distinct keys. Ordinary names are used as they are.
func Key(prefix, name string) string {
	switch {
	case name == "":
		name = "%"
	case strings.ContainsAny(name, "%}"):
		name = tagEscaper.Replace(name)
	}
	return prefix + "{" + name + "}"
}

// tagEscaper is immutable after initialisation.
var tagEscaper = strings.NewReplacer("%", "%25", "}", "%7D")
