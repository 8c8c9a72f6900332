package redisx_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bigmarket/bigmarket/internal/platform/redisx"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

func TestAssess(t *testing.T) {
	persisted := redisx.Durability{MaxmemoryPolicy: "noeviction", AOF: true}
	tests := []struct {
		name      string
		d         redisx.Durability
		allow     bool
		wantErr   bool
		wantWarns []string // substrings, one per warning
	}{
		{name: "noeviction with AOF", d: persisted},
		{name: "noeviction with RDB only", d: redisx.Durability{MaxmemoryPolicy: "noeviction", RDB: true}},
		{name: "allkeys-lru refused", d: redisx.Durability{MaxmemoryPolicy: "allkeys-lru", AOF: true}, wantErr: true},
		{name: "allkeys-random refused", d: redisx.Durability{MaxmemoryPolicy: "allkeys-random", RDB: true}, wantErr: true},
		{name: "allkeys-lfu allowed", d: redisx.Durability{MaxmemoryPolicy: "allkeys-lfu", AOF: true}, allow: true, wantWarns: []string{"allkeys-lfu"}},
		{name: "volatile-lru warns", d: redisx.Durability{MaxmemoryPolicy: "volatile-lru", AOF: true}, wantWarns: []string{"volatile-lru"}},
		{name: "no persistence warns", d: redisx.Durability{MaxmemoryPolicy: "noeviction"}, wantWarns: []string{"persistence is off"}},
		{name: "volatile and no persistence", d: redisx.Durability{MaxmemoryPolicy: "volatile-ttl"}, wantWarns: []string{"volatile-ttl", "persistence is off"}},
		{name: "CONFIG disabled warns and goes on", d: redisx.Durability{Unknown: errors.New("ERR unknown command 'CONFIG'")}, wantWarns: []string{"cannot read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warns, err := redisx.Assess(tt.d, tt.allow)
			if tt.wantErr {
				if !errors.Is(err, redisx.ErrEvictingPolicy) || !strings.Contains(err.Error(), "noeviction") {
					t.Fatalf("err = %v, want ErrEvictingPolicy telling what to set", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(warns) != len(tt.wantWarns) {
				t.Fatalf("warnings %q, want %d", warns, len(tt.wantWarns))
			}
			for i, w := range tt.wantWarns {
				if !strings.Contains(warns[i], w) {
					t.Errorf("warning %q does not mention %q", warns[i], w)
				}
			}
		})
	}
}

// TestReadDurabilityFromServer reads the real server's settings (read-only:
// the shared Redis is never reconfigured) and checks they agree with CONFIG GET.
func TestReadDurabilityFromServer(t *testing.T) {
	c, _ := redisxtest.New(t)
	ctx := context.Background()
	d, err := redisx.ReadDurability(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if d.Unknown != nil {
		t.Skipf("the server refuses CONFIG GET: %v", d.Unknown)
	}
	m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		t.Fatal(err)
	}
	if d.MaxmemoryPolicy == "" || d.MaxmemoryPolicy != m["maxmemory-policy"] {
		t.Fatalf("MaxmemoryPolicy = %q, CONFIG GET says %q", d.MaxmemoryPolicy, m["maxmemory-policy"])
	}
	aof, _ := c.ConfigGet(ctx, "appendonly").Result()
	if d.AOF != (aof["appendonly"] == "yes") {
		t.Fatalf("AOF = %v, appendonly = %q", d.AOF, aof["appendonly"])
	}
	warns, err := redisx.CheckDurability(ctx, c, false)
	t.Logf("server: %+v; warnings %q; err %v", d, warns, err)
	if _, want := redisx.Assess(d, false); (err == nil) != (want == nil) {
		t.Fatalf("CheckDurability err = %v, Assess err = %v", err, want)
	}
}
