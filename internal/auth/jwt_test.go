package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// reasons lists every reason, to check that exactly the wanted one matches.
var reasons = []error{ErrMissing, ErrMalformed, ErrBadSignature, ErrExpired, ErrNotYetValid, ErrInvalidClaims, ErrTokensDisabled}

// wantRefused checks that err is an authentication refusal for reason only,
// and that its message does not leak the token or the secret.
func wantRefused(t *testing.T, err error, reason error, token string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want %v", reason)
	}
	if !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("err = %v, want it to match ErrUnauthenticated", err)
	}
	for _, r := range reasons {
		if got, want := errors.Is(err, r), r == reason; got != want {
			t.Errorf("err = %v: errors.Is(%v) = %v, want %v", err, r, got, want)
		}
	}
	msg := err.Error()
	if len(token) > 12 && strings.Contains(msg, token) {
		t.Errorf("message leaks the token: %q", msg)
	}
	if strings.Contains(msg, string(testSecret)) {
		t.Errorf("message leaks the secret: %q", msg)
	}
}

func TestUserFromJWTValid(t *testing.T) {
	a, _ := newTestAuth(t, nil)
	tok := hs256(t, validClaims("u-1001"), testSecret)
	for _, h := range []string{
		tok,
		"Bearer " + tok,
		"bearer " + tok,
		"BEARER \t " + tok + "  ",
		"  " + tok + "\t",
	} {
		got, err := a.UserFromJWT(h)
		if err != nil || got != "u-1001" {
			t.Errorf("UserFromJWT(%.20q…) = %q, %v; want u-1001", h, got, err)
		}
	}
	// Boundaries of the user id.
	for _, id := range []string{"x", strings.Repeat("é", MaxUserIDBytes/2), "用户 42"} {
		got, err := a.UserFromJWT(hs256(t, validClaims(id), testSecret))
		if err != nil || got != id {
			t.Errorf("openId %q: got %q, %v", id, got, err)
		}
	}
}

func TestUserFromJWTRefused(t *testing.T) {
	a, _ := newTestAuth(t, nil)
	valid := hs256(t, validClaims("u-1001"), testSecret)
	parts := strings.Split(valid, ".")

	withClaims := func(edit func(map[string]any)) string {
		c := validClaims("u-1001")
		edit(c)
		return hs256(t, c, testSecret)
	}
	// Tampered payload: another user, the original signature.
	forgedPayload := b64.EncodeToString(rawJSON(t, validClaims("admin")))
	// Tampered signature: one character in the middle changed (the last one
	// could only touch unused bits).
	sig := []byte(parts[2])
	if sig[10] == 'A' {
		sig[10] = 'B'
	} else {
		sig[10] = 'A'
	}
	// The same signature bytes, encoded differently: the last of the 43
	// characters carries 2 unused bits. Only the canonical form is accepted.
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, parts[2][len(parts[2])-1])
	nonCanonical := parts[2][:len(parts[2])-1] + string(alphabet[last^1])
	if got, err := b64.DecodeString(nonCanonical); err != nil || b64.EncodeToString(got) != parts[2] {
		t.Fatalf("test setup: %q does not decode to the signature", nonCanonical)
	}
	// alg none: the classic bypass.
	noneHeader := b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	// A genuine RS256 token, and the alg-confusion attack: RS256 header with
	// an HMAC made with the shared secret.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsHeader := b64.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	rsSigning := rsHeader + "." + parts[1]
	digest := sha256.Sum256([]byte(rsSigning))
	rsSig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		header string
		want   error
	}{
		{"empty", "", ErrMissing},
		{"spaces", "  \t ", ErrMissing},
		{"Bearer alone", "Bearer", ErrMissing},
		{"Bearer and space", "Bearer ", ErrMissing},
		{"bearer and spaces", "bearer \t  ", ErrMissing},

		{"garbage", "garbage", ErrMalformed},
		{"two segments", "abc.def", ErrMalformed},
		{"four segments", valid + ".x", ErrMalformed},
		{"empty segments", "..", ErrMalformed},
		{"bad base64 header", "!!!." + parts[1] + "." + parts[2], ErrMalformed},
		{"header not json", b64.EncodeToString([]byte("hello")) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"payload not json", parts[0] + "." + b64.EncodeToString([]byte("[1,")) + "." + parts[2], ErrMalformed},
		{"padded base64", parts[0] + "." + parts[1] + "." + parts[2] + "=", ErrMalformed},
		{"other scheme", "Basic dXNlcjpwYXNzd29yZA==", ErrMalformed},
		{"token with inner space", "Bearer " + parts[0] + ". " + parts[1] + "." + parts[2], ErrMalformed},
		{"non-canonical base64 signature", parts[0] + "." + parts[1] + "." + nonCanonical, ErrMalformed},
		{"oversized", "Bearer " + valid + strings.Repeat("A", MaxTokenBytes), ErrMalformed},

		{"tampered payload", parts[0] + "." + forgedPayload + "." + parts[2], ErrBadSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + string(sig), ErrBadSignature},
		{"no signature", parts[0] + "." + parts[1] + ".", ErrBadSignature},
		{"wrong secret", hs256(t, validClaims("u-1001"), []byte("another-secret-of-32-bytes-xxxxx")), ErrBadSignature},
		{"alg none", noneHeader + "." + parts[1] + ".", ErrBadSignature},
		{"alg none with signature", noneHeader + "." + parts[1] + "." + parts[2], ErrBadSignature},
		{"alg HS512 with the secret", hs512(t, validClaims("u-1001"), testSecret), ErrBadSignature},
		{"alg RS256 genuine", rsSigning + "." + b64.EncodeToString(rsSig), ErrBadSignature},
		{"alg RS256 signed with the secret as HMAC key", sign([]byte(`{"alg":"RS256","typ":"JWT"}`), rawJSON(t, validClaims("u-1001")), sha256.New, testSecret), ErrBadSignature},
		{"alg lowercase", sign([]byte(`{"alg":"hs256"}`), rawJSON(t, validClaims("u-1001")), sha256.New, testSecret), ErrBadSignature},
		{"alg missing", sign([]byte(`{"typ":"JWT"}`), rawJSON(t, validClaims("u-1001")), sha256.New, testSecret), ErrBadSignature},

		{"expired", withClaims(func(c map[string]any) { c["exp"] = t0.Add(-time.Hour).Unix() }), ErrExpired},
		{"nbf in the future", withClaims(func(c map[string]any) { c["nbf"] = t0.Add(time.Minute).Unix() }), ErrNotYetValid},
		{"iat in the future", withClaims(func(c map[string]any) { c["iat"] = t0.Add(time.Minute).Unix() }), ErrNotYetValid},

		{"missing exp", withClaims(func(c map[string]any) { delete(c, "exp") }), ErrInvalidClaims},
		{"exp not a number", withClaims(func(c map[string]any) { c["exp"] = "tomorrow" }), ErrInvalidClaims},
		{"exp beyond year 9999", withClaims(func(c map[string]any) { c["exp"] = 1e19 }), ErrInvalidClaims},
		{"exp near int64 overflow", withClaims(func(c map[string]any) { c["exp"] = 9.2e18 }), ErrInvalidClaims},
		{"exp negative", withClaims(func(c map[string]any) { c["exp"] = -1 }), ErrInvalidClaims},
		{"nbf beyond year 9999", withClaims(func(c map[string]any) { c["nbf"] = 1e19 }), ErrInvalidClaims},
		{"nbf far negative", withClaims(func(c map[string]any) { c["nbf"] = -1e19 }), ErrInvalidClaims},
		{"iat beyond year 9999", withClaims(func(c map[string]any) { c["iat"] = 9.2e18 }), ErrInvalidClaims},
		{"nbf not a number", withClaims(func(c map[string]any) { c["nbf"] = "now" }), ErrInvalidClaims},
		{"missing openId", withClaims(func(c map[string]any) { delete(c, "openId") }), ErrInvalidClaims},
		{"openId wrong case", withClaims(func(c map[string]any) { delete(c, "openId"); c["openid"] = "u-1001" }), ErrInvalidClaims},
		{"openId empty", withClaims(func(c map[string]any) { c["openId"] = "" }), ErrInvalidClaims},
		{"openId blank", withClaims(func(c map[string]any) { c["openId"] = "   " }), ErrInvalidClaims},
		{"openId oversized", withClaims(func(c map[string]any) { c["openId"] = strings.Repeat("u", MaxUserIDBytes+1) }), ErrInvalidClaims},
		{"openId control character", withClaims(func(c map[string]any) { c["openId"] = "u\n1" }), ErrInvalidClaims},
		{"openId number", withClaims(func(c map[string]any) { c["openId"] = 1001 }), ErrInvalidClaims},
		{"openId null", withClaims(func(c map[string]any) { c["openId"] = nil }), ErrInvalidClaims},
		{"openId object", withClaims(func(c map[string]any) { c["openId"] = map[string]any{"id": "u"} }), ErrInvalidClaims},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.UserFromJWT(tc.header)
			if got != "" {
				t.Errorf("user = %q, want empty", got)
			}
			wantRefused(t, err, tc.want, strings.TrimPrefix(tc.header, "Bearer "))
		})
	}
}

// TestUserFromJWTLeeway checks the exp, nbf and iat boundaries: exp is valid
// strictly before exp+leeway, nbf and iat from nbf−leeway on.
func TestUserFromJWTLeeway(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leeway time.Duration // configured
		eff    time.Duration // in force
	}{
		{"default", 0, DefaultLeeway},
		{"5s", 5 * time.Second, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, clk := newTestAuth(t, func(c *Config) { c.Leeway = tc.leeway })
			exp := t0.Add(time.Minute)
			tok := hs256(t, map[string]any{"openId": "u", "exp": exp.Unix()}, testSecret)
			for _, s := range []struct {
				now  time.Time
				want error
			}{
				{exp.Add(-time.Second), nil},
				{exp, nil},
				{exp.Add(tc.eff - time.Second), nil},
				{exp.Add(tc.eff - time.Nanosecond), nil},
				{exp.Add(tc.eff), ErrExpired},
				{exp.Add(tc.eff + time.Hour), ErrExpired},
			} {
				clk.now = s.now
				_, err := a.UserFromJWT(tok)
				if s.want == nil && err != nil {
					t.Errorf("now = exp%+v: %v, want accepted", s.now.Sub(exp), err)
				}
				if s.want != nil && !errors.Is(err, s.want) {
					t.Errorf("now = exp%+v: %v, want %v", s.now.Sub(exp), err, s.want)
				}
			}

			clk.now = t0
			for _, claim := range []string{"nbf", "iat"} {
				for _, s := range []struct {
					at   time.Time
					want error
				}{
					{t0.Add(tc.eff), nil},
					{t0.Add(tc.eff + time.Second), ErrNotYetValid},
				} {
					tok := hs256(t, map[string]any{"openId": "u", "exp": t0.Add(time.Hour).Unix(), claim: s.at.Unix()}, testSecret)
					_, err := a.UserFromJWT(tok)
					if s.want == nil && err != nil {
						t.Errorf("%s = now%+v: %v, want accepted", claim, s.at.Sub(t0), err)
					}
					if s.want != nil && !errors.Is(err, s.want) {
						t.Errorf("%s = now%+v: %v, want %v", claim, s.at.Sub(t0), err, s.want)
					}
				}
			}
		})
	}
}

func TestUserFromJWTIssuer(t *testing.T) {
	a, _ := newTestAuth(t, func(c *Config) { c.Issuer = "shop.example" })
	with := func(iss any) string {
		c := validClaims("u-7")
		if iss != nil {
			c["iss"] = iss
		}
		return hs256(t, c, testSecret)
	}
	if got, err := a.UserFromJWT(with("shop.example")); err != nil || got != "u-7" {
		t.Fatalf("matching iss: %q, %v", got, err)
	}
	for _, iss := range []any{nil, "other.example", "SHOP.EXAMPLE", 42} {
		_, err := a.UserFromJWT(with(iss))
		wantRefused(t, err, ErrInvalidClaims, "")
	}
	// Without a configured issuer, any iss is accepted.
	b, _ := newTestAuth(t, nil)
	if _, err := b.UserFromJWT(with("whoever")); err != nil {
		t.Errorf("unconfigured issuer: %v", err)
	}
}

func TestUserFromJWTDisabled(t *testing.T) {
	a, err := New(Config{Mode: ModeToken, AppTokens: []string{"partner-token-0001"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.TokensEnabled() {
		t.Error("TokensEnabled() = true without a secret")
	}
	_, err = a.UserFromJWT("Bearer " + hs256(t, validClaims("u"), testSecret))
	wantRefused(t, err, ErrTokensDisabled, "")
	_, err = a.UserFromJWT("")
	wantRefused(t, err, ErrMissing, "")
	// An HMAC with an empty key must not pass either.
	_, err = a.UserFromJWT(hs256(t, validClaims("u"), nil))
	wantRefused(t, err, ErrTokensDisabled, "")
}

func TestIssue(t *testing.T) {
	tok, err := Issue(testSecret, "u-1001", 15*time.Minute, t0.Add(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// The claims are exactly openId, iat and exp, in whole seconds.
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d segments", tok, len(parts))
	}
	var header, claims map[string]any
	for i, v := range []*map[string]any{&header, &claims} {
		raw, err := b64.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	if header["alg"] != "HS256" {
		t.Errorf("header = %v, want alg HS256", header)
	}
	want := map[string]any{"openId": "u-1001", "iat": float64(t0.Unix()), "exp": float64(t0.Add(15 * time.Minute).Unix())}
	if len(claims) != len(want) {
		t.Errorf("claims = %v, want %v", claims, want)
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	// The signature is the HMAC a host computes by hand.
	if hand := hs256Raw(parts[0]+"."+parts[1], testSecret); hand != parts[2] {
		t.Errorf("signature %s, by hand %s", parts[2], hand)
	}
	a, clk := newTestAuth(t, nil)
	if got, err := a.UserFromJWT("Bearer " + tok); err != nil || got != "u-1001" {
		t.Errorf("UserFromJWT(Issue) = %q, %v", got, err)
	}
	clk.now = t0.Add(15*time.Minute + DefaultLeeway)
	if _, err := a.UserFromJWT(tok); !errors.Is(err, ErrExpired) {
		t.Errorf("after ttl+leeway: %v, want ErrExpired", err)
	}

	for _, tc := range []struct {
		name   string
		secret []byte
		id     string
		ttl    time.Duration
		want   error
	}{
		{"short secret", testSecret[:31], "u", time.Minute, ErrConfig},
		{"no secret", nil, "u", time.Minute, ErrConfig},
		{"zero ttl", testSecret, "u", 0, ErrConfig},
		{"sub-second ttl", testSecret, "u", time.Millisecond, ErrConfig},
		{"negative ttl", testSecret, "u", -time.Minute, ErrConfig},
		{"empty id", testSecret, "", time.Minute, ErrInvalidUserID},
		{"long id", testSecret, strings.Repeat("u", MaxUserIDBytes+1), time.Minute, ErrInvalidUserID},
		{"control id", testSecret, "u\x00", time.Minute, ErrInvalidUserID},
	} {
		if tok, err := Issue(tc.secret, tc.id, tc.ttl, t0); !errors.Is(err, tc.want) || tok != "" {
			t.Errorf("%s: Issue = %q, %v; want %v", tc.name, tok, err, tc.want)
		}
	}
}

func BenchmarkUserFromJWT(b *testing.B) {
	a, _ := newTestAuth(b, nil)
	tok := "Bearer " + hs256(b, validClaims("u-1001"), testSecret)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.UserFromJWT(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentUse shares one Authenticator between goroutines (run with
// -race): it holds no mutable state after New.
func TestConcurrentUse(t *testing.T) {
	a, _ := newTestAuth(t, func(c *Config) { c.AppTokens = []string{"partner-token-0001"} })
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			var err error
			for i := range 200 {
				id := fmt.Sprintf("u-%d-%d", g, i)
				got, e := a.UserFromJWT(hs256(t, validClaims(id), testSecret))
				if e != nil || got != id {
					err = fmt.Errorf("user %s: got %q, %v", id, got, e)
					break
				}
				if e := a.CheckAppToken("partner-token-0001"); e != nil {
					err = e
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
