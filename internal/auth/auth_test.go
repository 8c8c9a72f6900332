package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

// hs256Raw is the base64url HMAC-SHA256 of signing under key.
func hs256Raw(signing string, key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signing))
	return b64.EncodeToString(m.Sum(nil))
}

func TestNewValidatesConfig(t *testing.T) {
	secret := testSecret
	tok := "partner-token-0001"
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero config", Config{}, false},
		{"unknown mode", Config{Mode: "closed", JWTSecret: secret}, false},
		{"mode wrong case", Config{Mode: "OPEN"}, false},
		{"open, nothing else", Config{Mode: ModeOpen}, true},
		{"open with secret and tokens", Config{Mode: ModeOpen, JWTSecret: secret, AppTokens: []string{tok}}, true},
		{"token, nothing else", Config{Mode: ModeToken}, false},
		{"token, empty lists", Config{Mode: ModeToken, JWTSecret: []byte{}, AppTokens: []string{}}, false},
		{"token, app token only", Config{Mode: ModeToken, AppTokens: []string{tok}}, true},
		{"token, secret only", Config{Mode: ModeToken, JWTSecret: secret}, true},
		{"secret of 31 bytes", Config{Mode: ModeToken, JWTSecret: secret[:31]}, false},
		{"secret of 1 byte", Config{Mode: ModeOpen, JWTSecret: []byte("x")}, false},
		{"secret of 32 bytes", Config{Mode: ModeToken, JWTSecret: secret[:32]}, true},
		{"empty app token", Config{Mode: ModeToken, AppTokens: []string{""}}, false},
		{"short app token", Config{Mode: ModeToken, AppTokens: []string{tok, "short-token-15b"}}, false},
		{"app token of 16 bytes", Config{Mode: ModeToken, AppTokens: []string{"short-token-16by"}}, true},
		{"app token with trailing space", Config{Mode: ModeToken, AppTokens: []string{tok + " "}}, false},
		{"app token with newline", Config{Mode: ModeToken, AppTokens: []string{"partner\ntoken-0001"}}, false},
		{"negative leeway", Config{Mode: ModeToken, JWTSecret: secret, Leeway: -1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.cfg)
			if tc.ok {
				if err != nil || a == nil {
					t.Fatalf("New = %v, %v; want an Authenticator", a, err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || a != nil {
				t.Fatalf("New = %v, %v; want ErrConfig", a, err)
			}
			for _, s := range tc.cfg.AppTokens {
				if len(s) > 4 && strings.Contains(err.Error(), s) {
					t.Errorf("message leaks an app token: %q", err)
				}
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for s, want := range map[string]Mode{"open": ModeOpen, "token": ModeToken} {
		if got, err := ParseMode(s); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "Open", "tokens", " token"} {
		if _, err := ParseMode(s); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseMode(%q) err = %v, want ErrConfig", s, err)
		}
	}
}

func TestModeAndRequireApp(t *testing.T) {
	open, err := New(Config{Mode: ModeOpen})
	if err != nil {
		t.Fatal(err)
	}
	if open.Mode() != ModeOpen || open.RequireApp() {
		t.Errorf("open: Mode() = %q, RequireApp() = %v", open.Mode(), open.RequireApp())
	}
	tok, _ := newTestAuth(t, nil)
	if tok.Mode() != ModeToken || !tok.RequireApp() {
		t.Errorf("token: Mode() = %q, RequireApp() = %v", tok.Mode(), tok.RequireApp())
	}
	if !tok.TokensEnabled() || open.TokensEnabled() {
		t.Errorf("TokensEnabled: token mode with secret %v, open without %v", tok.TokensEnabled(), open.TokensEnabled())
	}
}

// TestNewCopiesConfig checks that changing the caller's slices after New
// changes nothing.
func TestNewCopiesConfig(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	tokens := []string{"partner-token-0001"}
	a, err := New(Config{Mode: ModeToken, JWTSecret: secret, AppTokens: tokens, Now: (&clock{now: t0}).Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range secret {
		secret[i] = 'x'
	}
	tokens[0] = "partner-token-0002"
	if _, err := a.UserFromJWT(hs256(t, validClaims("u"), testSecret)); err != nil {
		t.Errorf("token signed with the original secret: %v", err)
	}
	if _, err := a.UserFromJWT(hs256(t, validClaims("u"), secret)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("token signed with the mutated secret: %v, want ErrBadSignature", err)
	}
	if err := a.CheckAppToken("partner-token-0001"); err != nil {
		t.Errorf("original app token: %v", err)
	}
	if err := a.CheckAppToken("partner-token-0002"); !errors.Is(err, ErrAppTokenRefused) {
		t.Errorf("mutated app token: %v, want refused", err)
	}
}

func TestCheckAppToken(t *testing.T) {
	tokens := []string{"partner-alpha-0000000001", "partner-beta-00000000002", "partner-gamma-0000000003"}
	for _, mode := range []Mode{ModeToken, ModeOpen} {
		a, err := New(Config{Mode: mode, AppTokens: tokens})
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range tokens {
			if err := a.CheckAppToken(tok); err != nil {
				t.Errorf("%s: configured token %q refused: %v", mode, tok, err)
			}
		}
		for _, tok := range []string{
			"partner-delta-0000000004",
			tokens[0][:len(tokens[0])-1], // a prefix
			tokens[1] + "4",              // an extension
			tokens[2] + " ",              // not trimmed
			" " + tokens[0],
			strings.ToUpper(tokens[0]),
			tokens[0] + tokens[1],
			"Bearer " + tokens[0],
		} {
			err := a.CheckAppToken(tok)
			if !errors.Is(err, ErrAppTokenRefused) || errors.Is(err, ErrMissing) || errors.Is(err, ErrUnauthenticated) {
				t.Errorf("%s: CheckAppToken(%q) = %v, want ErrAppTokenRefused only", mode, tok, err)
			}
			if err != nil && strings.Contains(err.Error(), tok) {
				t.Errorf("message leaks the token: %q", err)
			}
		}
		err = a.CheckAppToken("")
		if !errors.Is(err, ErrAppTokenRefused) || !errors.Is(err, ErrMissing) {
			t.Errorf("%s: empty token: %v, want ErrAppTokenRefused and ErrMissing", mode, err)
		}
	}

	// Without configured tokens, nothing is accepted.
	a, _ := newTestAuth(t, nil)
	for _, tok := range []string{"partner-alpha-0000000001", "", "x"} {
		if err := a.CheckAppToken(tok); !errors.Is(err, ErrAppTokenRefused) {
			t.Errorf("no tokens configured: CheckAppToken(%q) = %v", tok, err)
		}
	}
}

func BenchmarkCheckAppToken(b *testing.B) {
	tokens := []string{"partner-alpha-0000000001", "partner-beta-00000000002", "partner-gamma-0000000003"}
	a, err := New(Config{Mode: ModeToken, AppTokens: tokens})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.CheckAppToken(tokens[2]); err != nil {
			b.Fatal(err)
		}
	}
}
