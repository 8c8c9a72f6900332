package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDeliveryAndReconcile(t *testing.T) {
	load := func(yaml string) (Config, error) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(path, env(nil))
	}
	c, err := load("delivery:\n  webhook_timeout: 3s\n  webhook_workers: 2\n  claim_timeout: 1m\nreconcile:\n  deadline: 2m\n  every: 10s\n  max_attempts: 7\n  batch: 50\n")
	if err != nil {
		t.Fatal(err)
	}
	want := Delivery{WebhookTimeout: 3 * time.Second, WebhookWorkers: 2, ClaimTimeout: time.Minute}
	if c.Delivery != want || c.Reconcile != (Reconcile{Deadline: 2 * time.Minute, Every: 10 * time.Second, MaxAttempts: 7, Batch: 50}) {
		t.Fatalf("read %+v %+v", c.Delivery, c.Reconcile)
	}
	for name, yaml := range map[string]string{
		"negative timeout":        "delivery:\n  webhook_timeout: -1s\n",
		"negative workers":        "delivery:\n  webhook_workers: -1\n",
		"claim below the timeout": "delivery:\n  webhook_timeout: 20s\n  claim_timeout: 15s\n",
		"claim below the default": "delivery:\n  claim_timeout: 5s\n",
		"tiny deadline":           "reconcile:\n  deadline: 10ms\n",
		"tiny period":             "reconcile:\n  every: 1ms\n",
		"negative attempts":       "reconcile:\n  max_attempts: -2\n",
		"negative batch":          "reconcile:\n  batch: -2\n",
	} {
		_, err := load(yaml)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), strings.Fields(strings.TrimSpace(yaml))[0][:5]) {
			t.Errorf("%s: err = %v, want ErrInvalid naming the section", name, err)
		}
	}
}
