package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"testing"
	"time"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Unix(1_700_000_000, 0)

// testSecret is a 32-byte HS256 key.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable clock for Config.Now.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// newTestAuth returns a token-mode Authenticator with testSecret and a clock
// set to t0; mutate cfg with edit before New.
func newTestAuth(t testing.TB, edit func(*Config)) (*Authenticator, *clock) {
	t.Helper()
	c := &clock{now: t0}
	cfg := Config{Mode: ModeToken, JWTSecret: testSecret, Now: c.Now}
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a, c
}

var b64 = base64.RawURLEncoding

// rawJSON marshals v or fails the test.
func rawJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign builds header.payload.signature by hand (independently of the JWT
// library) with an HMAC of newHash keyed by key.
func sign(header, payload []byte, newHash func() hash.Hash, key []byte) string {
	signing := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	m := hmac.New(newHash, key)
	m.Write([]byte(signing))
	return signing + "." + b64.EncodeToString(m.Sum(nil))
}

// hs256 signs claims with HS256 and key.
func hs256(t testing.TB, claims map[string]any, key []byte) string {
	return sign([]byte(`{"alg":"HS256","typ":"JWT"}`), rawJSON(t, claims), sha256.New, key)
}

// hs512 signs claims with HS512 and key.
func hs512(t testing.TB, claims map[string]any, key []byte) string {
	return sign([]byte(`{"alg":"HS512","typ":"JWT"}`), rawJSON(t, claims), sha512.New, key)
}

// validClaims returns claims accepted at t0.
func validClaims(user string) map[string]any {
	return map[string]any{"openId": user, "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()}
}
