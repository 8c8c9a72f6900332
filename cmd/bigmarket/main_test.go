package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/campaign"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestVersionAndHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, envOf(nil), &out, &out); err != nil || !strings.HasPrefix(out.String(), "bigmarket ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	for _, cmd := range [][]string{{"serve", "--help"}, {"migrate", "--help"}, {"campaign", "apply", "--help"}, {"campaign", "--help"}} {
		out.Reset()
		err := run(context.Background(), cmd, envOf(nil), &out, &out)
		if (err != nil && !errors.Is(err, flag.ErrHelp)) || !strings.Contains(out.String(), "Usage") {
			t.Errorf("%v: err %v, output %q", cmd, err, out.String())
		}
	}
	if err := run(context.Background(), []string{"bogus"}, envOf(nil), &out, &out); err == nil {
		t.Error("unknown command accepted")
	}
}

func TestCampaignCommands(t *testing.T) {
	dir := t.TempDir()
	env := envOf(map[string]string{"BIGMARKET_DATA_DIR": filepath.Join(dir, "data"), "BIGMARKET_DEMO": "false", "BIGMARKET_LOG_LEVEL": "error"})
	demo := filepath.Join(dir, "demo.yaml")
	os.WriteFile(demo, campaign.Demo(), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, bytes.Replace(campaign.Demo(), []byte("strategy: 100006"), []byte("strategy: 999"), 1), 0o600)
	ctx := context.Background()
	var out bytes.Buffer

	if err := run(ctx, []string{"campaign", "validate", demo}, env, &out, &out); err != nil {
		t.Fatalf("validate demo: %v %s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"campaign", "validate", bad}, env, &out, &out); err == nil || !strings.Contains(out.String(), "activities[0].strategy") {
		t.Fatalf("validate bad: %v %q", err, out.String())
	}
	// Each problem is printed at its place: FILE:LINE:COLUMN, the line that
	// holds the bad reference.
	line := 1 + bytes.Count(campaign.Demo()[:bytes.Index(campaign.Demo(), []byte("strategy: 100006"))], []byte("\n"))
	if want := fmt.Sprintf("%s:%d:", bad, line); !strings.HasPrefix(out.String(), want) {
		t.Fatalf("validate bad printed %q, want it to start with %q", out.String(), want)
	}
	out.Reset()
	if err := run(ctx, []string{"campaign", "apply", bad}, env, &out, &out); err == nil {
		t.Fatal("apply of a bad file succeeded")
	}
	out.Reset()
	if err := run(ctx, []string{"campaign", "export"}, env, &out, &out); err != nil || strings.Contains(out.String(), "100006") {
		t.Fatalf("a rejected apply stored something: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"campaign", "apply", demo}, env, &out, &out); err != nil || !strings.Contains(out.String(), "7 strategies") {
		t.Fatalf("apply demo: %v %q", err, out.String())
	}
	exported := filepath.Join(dir, "export.yaml")
	if err := run(ctx, []string{"campaign", "export", exported}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(exported)
	if err := run(ctx, []string{"campaign", "apply", exported}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"campaign", "export", exported}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(exported)
	if !bytes.Equal(first, second) || !bytes.Contains(first, []byte("strategy: 100006")) {
		t.Fatal("export → apply → export is not stable")
	}
	if err := run(ctx, []string{"migrate"}, env, &out, &out); err != nil {
		t.Fatalf("migrate: %v", err)
	}
}

// TestServeAnswersQuickly starts `bigmarket serve` as a newcomer would (embedded,
// demo campaign) and expects random_raffle to answer, then a clean shutdown.
func TestServeAnswersQuickly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	env := envOf(map[string]string{"BIGMARKET_ADDR": addr, "BIGMARKET_DATA_DIR": t.TempDir(), "BIGMARKET_LOG_LEVEL": "error"})
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, env, &logs, &logs) }()

	var body string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Post("http://"+addr+"/api/v1/raffle/strategy/random_raffle", "application/json", strings.NewReader(`{"strategyId":100006}`))
		if err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			body = b.String()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, `"code":"0000"`) || !strings.Contains(body, `"awardId"`) {
		t.Fatalf("random_raffle answered %q", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
}
