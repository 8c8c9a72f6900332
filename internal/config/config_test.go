package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8091" || c.DataDir != "./bigmarket-data" || !c.Demo || c.Auth.Mode != AuthOpen || c.Database.Driver != "sqlite" {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestFileThenEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bigmarket.yaml")
	file := `
addr: ":9000"
demo: false
database:
  driver: mysql
  config_dsn: "root@tcp(127.0.0.1:3306)/big_market"
  shard_dsns: ["root@tcp(127.0.0.1:3306)/big_market_01"]
http:
  draw_timeout: 500ms
`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, env(map[string]string{
		"BIGMARKET_ADDR":             ":9100",
		"BIGMARKET_AUTH_MODE":        "token",
		"BIGMARKET_ADMIN_TOKEN":      "secret",
		"BIGMARKET_MYSQL_SHARD_DSNS": "a/b_01, a/b_02",
		"BIGMARKET_REDIS_ADDRS":      "127.0.0.1:6379",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9100" || c.Demo || c.Auth.Mode != AuthToken || c.Auth.AdminToken != "secret" {
		t.Errorf("overrides not applied: %+v", c)
	}
	if len(c.Database.ShardDSNs) != 2 || c.Database.ShardDSNs[1] != "a/b_02" || c.HTTP.DrawTimeout != 500*time.Millisecond {
		t.Errorf("file values not kept: %+v", c.Database)
	}
}

func TestInvalid(t *testing.T) {
	cases := map[string]map[string]string{
		"auth mode":  {"BIGMARKET_AUTH_MODE": "maybe"},
		"demo":       {"BIGMARKET_DEMO": "perhaps"},
		"driver":     {"BIGMARKET_DB_DRIVER": "oracle"},
		"mysql dsns": {"BIGMARKET_DB_DRIVER": "mysql"},
		"timezone":   {"BIGMARKET_TIMEZONE": "Mars/Olympus"},
		"tables":     {"BIGMARKET_MYSQL_TABLES_PER_SHARD": "four"},
	}
	for name, e := range cases {
		if _, err := Load("", env(e)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("adrr: typo\n"), 0o600)
	if _, err := Load(path, env(nil)); err == nil {
		t.Error("unknown key in the file was accepted")
	}
}
