package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminTokens(t *testing.T) {
	const a, b = "aaaaaaaaaaaaaaaa-alice", "bbbbbbbbbbbbbbbb-bob"
	cases := []struct {
		name    string
		file    string
		env     map[string]string
		want    map[string]string
		wantErr string // substring of the error; "" means valid
	}{
		{name: "env list", env: map[string]string{"BIGMARKET_ADMIN_TOKENS": "alice:" + a + ", bob:" + b},
			want: map[string]string{"alice": a, "bob": b}},
		{name: "single token is admin", env: map[string]string{"BIGMARKET_ADMIN_TOKEN": "short", "BIGMARKET_ADMIN_TOKENS": "alice:" + a},
			want: map[string]string{"alice": a, "admin": "short"}},
		{name: "yaml map", file: "auth:\n  admin_tokens:\n    alice: " + a + "\n    bob: " + b + "\n",
			want: map[string]string{"alice": a, "bob": b}},
		{name: "yaml list", file: "auth:\n  admin_tokens: [\"alice:" + a + "\"]\n", want: map[string]string{"alice": a}},
		{name: "none", want: map[string]string{}},
		{name: "no colon", env: map[string]string{"BIGMARKET_ADMIN_TOKENS": a}, wantErr: "want name:token"},
		{name: "bad name", env: map[string]string{"BIGMARKET_ADMIN_TOKENS": "Alice:" + a}, wantErr: `name "Alice"`},
		{name: "long name", env: map[string]string{"BIGMARKET_ADMIN_TOKENS": strings.Repeat("x", 33) + ":" + a}, wantErr: "1 to 32"},
		{name: "short token", env: map[string]string{"BIGMARKET_ADMIN_TOKENS": "alice:123456789012345"}, wantErr: "shorter than 16"},
		{name: "duplicate name", env: map[string]string{"BIGMARKET_ADMIN_TOKENS": "alice:" + a + ",alice:" + b}, wantErr: "appears twice"},
		{name: "duplicate token", env: map[string]string{"BIGMARKET_ADMIN_TOKENS": "alice:" + a + ",bob:" + a}, wantErr: "same token as alice"},
		{name: "admin taken", env: map[string]string{"BIGMARKET_ADMIN_TOKEN": a, "BIGMARKET_ADMIN_TOKENS": "admin:" + b}, wantErr: "taken by auth.admin_token"},
		{name: "same as the single token", env: map[string]string{"BIGMARKET_ADMIN_TOKEN": a, "BIGMARKET_ADMIN_TOKENS": "alice:" + a}, wantErr: "same token as admin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = filepath.Join(t.TempDir(), "c.yaml")
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(path, env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), a) || strings.Contains(err.Error(), b) {
					t.Fatalf("the error shows a token: %v", err)
				}
				if tc.file == "" && !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := c.NamedAdminTokens()
			if len(got) != len(tc.want) {
				t.Fatalf("tokens %v names, want %v", len(got), len(tc.want))
			}
			for name, tok := range tc.want {
				if got[name] != tok {
					t.Errorf("token %s not as configured", name)
				}
			}
		})
	}
}
