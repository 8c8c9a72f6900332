package redisx_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/redisx"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// slot computes the Redis Cluster slot of key as the Redis specification
// defines it: CRC16/XMODEM of the hash tag (the bytes between the first "{" and
// the first "}" after it, when not empty), else of the whole key, modulo 16384.
func slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for k := 0; k < len(key); k++ {
		crc ^= uint16(key[k]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

func TestSlotReferenceValue(t *testing.T) {
	// The Redis Cluster specification gives CRC16("123456789") = 0x31C3.
	if got := slot("123456789"); got != 0x31C3%16384 {
		t.Fatalf("slot(123456789) = %d, want %d", got, 0x31C3%16384)
	}
}

func TestKeySharesSlotPerName(t *testing.T) {
	names := []string{"strategy:100006:award:101", "user:xiaofuge", "", "}", "a}b", "{x}", "%", "%7D", "中文", "a b"}
	for _, name := range names {
		base := redisx.Key("bigmarket:ratelimit:", name)
		for _, k := range []string{base + ":tat", base + ":refusals", base + ":block", redisx.Key("other:", name)} {
			if slot(k) != slot(base) {
				t.Errorf("name %q: key %q slot %d, base %q slot %d", name, k, slot(k), base, slot(base))
			}
		}
	}
}

func TestKeyDistinctNamesDistinctKeys(t *testing.T) {
	names := []string{"", "%", "}", "%7D", "%25", "a}b", "a%7Db", "a", "{a}", "a{", "%%"}
	seen := map[string]string{}
	for _, n := range names {
		k := redisx.Key("p:", n)
		if prev, ok := seen[k]; ok {
			t.Errorf("names %q and %q both give key %q", prev, n, k)
		}
		seen[k] = n
	}
	if got := redisx.Key("bigmarket:counter:", "s:1"); got != "bigmarket:counter:{s:1}" {
		t.Errorf("Key = %q", got)
	}
}

func TestConfigDefaults(t *testing.T) {
	var zero redisx.Config
	if zero.KeyPrefix() != redisx.DefaultPrefix || zero.IsCluster() {
		t.Fatalf("zero Config: prefix %q cluster %v", zero.KeyPrefix(), zero.IsCluster())
	}
	c := redisx.New(zero)
	defer c.Close()
	if _, ok := c.(*redis.Client); !ok {
		t.Errorf("zero Config: client %T, want *redis.Client", c)
	}
	cc := redisx.New(redisx.Config{Addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001"}})
	defer cc.Close()
	if _, ok := cc.(*redis.ClusterClient); !ok {
		t.Errorf("two addresses: client %T, want *redis.ClusterClient", cc)
	}
	one := redisx.New(redisx.Config{Addrs: []string{"127.0.0.1:7000"}, Cluster: true})
	defer one.Close()
	if _, ok := one.(*redis.ClusterClient); !ok {
		t.Errorf("Cluster with one address: client %T, want *redis.ClusterClient", one)
	}
}

func TestRedisxtestCleansUp(t *testing.T) {
	var prefix string
	var client redis.UniversalClient
	t.Run("inner", func(t *testing.T) {
		c, p := redisxtest.New(t)
		prefix, client = p, c
		for _, k := range []string{redisx.Key(p, "a"), redisx.Key(p, "b") + ":x"} {
			if err := c.Set(context.Background(), k, 1, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if client == nil {
		return // skipped: no Redis
	}
	c, _ := redisxtest.New(t) // the inner client is closed by now
	keys, err := redisxtest.Keys(context.Background(), c, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("keys left after cleanup: %v", keys)
	}
}
