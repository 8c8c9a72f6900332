package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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
		"BIGMARKET_ADDR":              ":9100",
		"BIGMARKET_AUTH_MODE":         "token",
		"BIGMARKET_ADMIN_TOKEN":       "secret",
		"BIGMARKET_MYSQL_SHARD_DSNS":  "a/b_01, a/b_02",
		"BIGMARKET_REDIS_ADDRS":       "127.0.0.1:6379",
		"BIGMARKET_MYSQL_CREDIT_PACE": "10ms",
		"BIGMARKET_MYSQL_QUOTA_CACHE": "-1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9100" || c.Demo || c.Auth.Mode != AuthToken || c.Auth.AdminToken != "secret" {
		t.Errorf("overrides not applied: %+v", c)
	}
	if len(c.Database.ShardDSNs) != 2 || c.Database.ShardDSNs[1] != "a/b_02" || c.HTTP.DrawTimeout != 500*time.Millisecond ||
		c.Database.CreditPace != 10*time.Millisecond || c.Database.QuotaCache != -1 {
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

// TestEveryNumberValidated: each duration and number of the file is checked, and
// a bad value is refused with a message naming its key (config_poll: 0s used to
// pass and panic at start).
func TestEveryNumberValidated(t *testing.T) {
	cases := []struct{ name, yaml, key string }{
		{"config_poll zero", "config_poll: 0s", "config_poll"},
		{"config_poll negative", "config_poll: -1s", "config_poll"},
		{"shutdown_timeout zero", "shutdown_timeout: 0s", "shutdown_timeout"},
		{"shutdown_timeout negative", "shutdown_timeout: -5s", "shutdown_timeout"},
		{"draw_timeout negative", "http:\n  draw_timeout: -1ms", "http.draw_timeout"},
		{"max_body_bytes negative", "http:\n  max_body_bytes: -1", "http.max_body_bytes"},
		{"read_header_timeout zero", "http:\n  read_header_timeout: 0s", "http.read_header_timeout"},
		{"read_timeout zero", "http:\n  read_timeout: 0s", "http.read_timeout"},
		{"write_timeout zero", "http:\n  write_timeout: 0s", "http.write_timeout"},
		{"write_timeout under the draw budget", "http:\n  draw_timeout: 5s\n  write_timeout: 3s", "http.write_timeout"},
		{"idle_timeout negative", "http:\n  idle_timeout: -1s", "http.idle_timeout"},
		{"max_header_bytes zero", "http:\n  max_header_bytes: 0", "http.max_header_bytes"},
		{"max_header_bytes huge", "http:\n  max_header_bytes: 1073741824", "http.max_header_bytes"},
		{"tables_per_shard negative", "database:\n  tables_per_shard: -2", "database.tables_per_shard"},
		{"tables_per_shard past the suffix width", "database:\n  tables_per_shard: 1000", "database.tables_per_shard"},
		{"max_open_conns negative", "database:\n  max_open_conns: -1", "database.max_open_conns"},
		{"credit_pace past a second", "database:\n  credit_pace: 2s", "database.credit_pace"},
		{"redis db negative", "redis:\n  db: -1", "redis.db"},
		{"connect_timeout negative", "rabbitmq:\n  connect_timeout: -1s", "rabbitmq.connect_timeout"},
		{"outbox retention negative", "outbox:\n  retention: -1h", "outbox.retention"},
		{"replica_acks negative", "redis:\n  addrs: [\"127.0.0.1:6379\"]\n  replica_acks: -1", "redis.replica_acks"},
		{"replica_acks huge", "redis:\n  addrs: [\"127.0.0.1:6379\"]\n  replica_acks: 17", "redis.replica_acks"},
		{"replica_acks without redis", "redis:\n  replica_acks: 1", "redis.replica_acks"},
		{"replica_ack_timeout negative", "redis:\n  addrs: [\"127.0.0.1:6379\"]\n  replica_acks: 1\n  replica_ack_timeout: -1ms", "redis.replica_ack_timeout"},
		{"replica_ack_timeout past the read timeout", "redis:\n  addrs: [\"127.0.0.1:6379\"]\n  replica_acks: 1\n  replica_ack_timeout: 5s", "redis.replica_ack_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bigmarket.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, env(nil))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: err = %v, want ErrInvalid", tc.yaml, err)
			}
			if !strings.Contains(err.Error(), tc.key+" ") {
				t.Fatalf("%q: error %q does not name %s", tc.yaml, err, tc.key)
			}
		})
	}
	if _, err := Load("", env(nil)); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
}

func TestOutboxRetention(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil || c.Outbox.Retention != 7*24*time.Hour {
		t.Fatalf("default outbox retention = %v, %v; want 168h", c.Outbox.Retention, err)
	}
	path := filepath.Join(t.TempDir(), "bigmarket.yaml")
	if err := os.WriteFile(path, []byte("outbox:\n  retention: 0s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(path, env(nil)); err != nil || c.Outbox.Retention != 0 {
		t.Fatalf("retention 0s in the file = %v, %v; want 0 (keep forever)", c.Outbox.Retention, err)
	}
	if c, err := Load(path, env(map[string]string{"BIGMARKET_OUTBOX_RETENTION": "36h"})); err != nil || c.Outbox.Retention != 36*time.Hour {
		t.Fatalf("BIGMARKET_OUTBOX_RETENTION=36h: %v, %v", c.Outbox.Retention, err)
	}
	for _, v := range []string{"-1h", "a week", "7d"} {
		if _, err := Load("", env(map[string]string{"BIGMARKET_OUTBOX_RETENTION": v})); !errors.Is(err, ErrInvalid) {
			t.Errorf("BIGMARKET_OUTBOX_RETENTION=%s: err = %v, want ErrInvalid", v, err)
		}
	}
}

func TestUISwitch(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil || !c.UI {
		t.Fatalf("default ui = %v (%v), want true", c.UI, err)
	}
	c, err = Load("", env(map[string]string{"BIGMARKET_UI": "false"}))
	if err != nil || c.UI {
		t.Fatalf("BIGMARKET_UI=false: ui = %v (%v), want false", c.UI, err)
	}
	path := filepath.Join(t.TempDir(), "bigmarket.yaml")
	if err := os.WriteFile(path, []byte("ui: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = Load(path, env(nil)); err != nil || c.UI {
		t.Fatalf("ui: false in the file: ui = %v (%v), want false", c.UI, err)
	}
	if _, err := Load("", env(map[string]string{"BIGMARKET_UI": "maybe"})); err == nil {
		t.Fatal("BIGMARKET_UI=maybe accepted")
	}
}

// TestRedisReplicaAcks: redis.replica_acks and redis.replica_ack_timeout from
// the file and from BIGMARKET_REDIS_REPLICA_ACKS(_TIMEOUT); off by default.
func TestRedisReplicaAcks(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.ReplicaAcks != 0 || c.Redis.ReplicaAckTimeout != 0 {
		t.Fatalf("defaults: replica_acks %d, replica_ack_timeout %v; want 0, 0", c.Redis.ReplicaAcks, c.Redis.ReplicaAckTimeout)
	}
	path := filepath.Join(t.TempDir(), "bigmarket.yaml")
	file := "redis:\n  addrs: [\"10.0.0.1:6379\", \"10.0.0.2:6379\"]\n  replica_acks: 1\n  replica_ack_timeout: 50ms\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = Load(path, env(nil)); err != nil {
		t.Fatal(err)
	}
	if c.Redis.ReplicaAcks != 1 || c.Redis.ReplicaAckTimeout != 50*time.Millisecond {
		t.Fatalf("file: replica_acks %d, replica_ack_timeout %v; want 1, 50ms", c.Redis.ReplicaAcks, c.Redis.ReplicaAckTimeout)
	}
	c, err = Load(path, env(map[string]string{"BIGMARKET_REDIS_REPLICA_ACKS": "2", "BIGMARKET_REDIS_REPLICA_ACK_TIMEOUT": "250ms"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.ReplicaAcks != 2 || c.Redis.ReplicaAckTimeout != 250*time.Millisecond {
		t.Fatalf("environment: replica_acks %d, replica_ack_timeout %v; want 2, 250ms", c.Redis.ReplicaAcks, c.Redis.ReplicaAckTimeout)
	}
	for name, v := range map[string]string{"BIGMARKET_REDIS_REPLICA_ACKS": "one", "BIGMARKET_REDIS_REPLICA_ACK_TIMEOUT": "100"} {
		if _, err := Load(path, env(map[string]string{name: v})); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: err = %v, want ErrInvalid naming it", name, v, err)
		}
	}
}
