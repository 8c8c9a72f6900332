package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// verifyByHand is the fuzz oracle: it reports whether raw (a bare token) is a
// token that this package may accept, checked without the JWT library: three
// canonical base64url segments, a header with alg HS256, the HMAC-SHA256 of
// the first two under secret, and a JSON object payload. It returns the
// payload's claims.
func verifyByHand(raw string, secret []byte) (map[string]any, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false
	}
	strict := base64.RawURLEncoding.Strict()
	var segs [3][]byte
	for i, p := range parts {
		b, err := strict.DecodeString(p)
		if err != nil || base64.RawURLEncoding.EncodeToString(b) != p {
			return nil, false
		}
		segs[i] = b
	}
	var header map[string]any
	if json.Unmarshal(segs[0], &header) != nil || header["alg"] != "HS256" {
		return nil, false
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(m.Sum(nil), segs[2]) {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(segs[1], &claims) != nil {
		return nil, false
	}
	return claims, true
}

// checkAccepted fails t unless an accepted token's claims justify the
// acceptance at now: openId equals user and is a valid user id, exp is a
// number within the leeway, nbf and iat (when present) too.
func checkAccepted(t *testing.T, claims map[string]any, user string, now time.Time) {
	t.Helper()
	if id, ok := claims["openId"].(string); !ok || id != user || checkUserID(id) != nil {
		t.Fatalf("accepted user %q from openId %#v", user, claims["openId"])
	}
	sec := float64(now.Unix())
	lee := DefaultLeeway.Seconds()
	exp, ok := claims["exp"].(float64)
	if !ok || !(sec < math.Floor(exp)+lee) || exp > maxNumericDate {
		t.Fatalf("accepted at %v with exp %#v", sec, claims["exp"])
	}
	for _, k := range []string{"nbf", "iat"} {
		if v, present := claims[k]; present {
			f, ok := v.(float64)
			if !ok || !(sec >= math.Floor(f)-lee) || f < 0 {
				t.Fatalf("accepted at %v with %s %#v", sec, k, v)
			}
		}
	}
}

// FuzzUserFromJWT feeds arbitrary Authorization values: UserFromJWT must
// never panic, must return a user exactly when it returns no error, must
// classify every refusal, and must accept nothing but a token correctly
// signed with HS256 and the secret whose claims are valid.
func FuzzUserFromJWT(f *testing.F) {
	valid, err := Issue(testSecret, "u-1001", time.Hour, t0)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	for _, s := range []string{
		valid,
		"Bearer " + valid,
		"bearer  " + valid + " ",
		"",
		"Bearer ",
		"Bearer",
		"garbage",
		"a.b.c",
		"..",
		parts[0] + "." + parts[1] + ".",
		b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		b64.EncodeToString([]byte(`{"alg":"HS512"}`)) + "." + parts[1] + "." + parts[2],
		parts[0] + "." + b64.EncodeToString([]byte(`{"openId":"admin","exp":1e300}`)) + "." + parts[2],
		parts[0] + "." + parts[1] + "." + parts[2] + "=",
		"eyJhbGciOiJIUzI1NiJ9.e30.",
	} {
		f.Add(s)
	}
	a, _ := newTestAuth(f, nil)
	f.Fuzz(func(t *testing.T, header string) {
		user, err := a.UserFromJWT(header)
		if err != nil {
			if user != "" {
				t.Fatalf("refused with %v but returned user %q", err, user)
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("error %v does not match ErrUnauthenticated", err)
			}
			n := 0
			for _, r := range reasons {
				if errors.Is(err, r) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %v matches %d reasons, want 1", err, n)
			}
			return
		}
		raw, reason := bearerToken(header)
		if reason != nil {
			t.Fatalf("accepted %q without a token", header)
		}
		claims, ok := verifyByHand(raw, testSecret)
		if !ok {
			t.Fatalf("accepted %q, which is not a canonical HS256 token signed with the secret", header)
		}
		checkAccepted(t, claims, user, t0)
	})
}

// FuzzSignedClaims signs arbitrary payloads correctly with HS256: whatever
// their content, UserFromJWT must not panic and must accept only payloads
// whose claims are valid (openId, exp, nbf, iat).
func FuzzSignedClaims(f *testing.F) {
	for _, s := range []string{
		`{"openId":"u-1","exp":1700003600}`,
		`{"openId":"u-1","exp":1700003600,"nbf":1700000000,"iat":1700000000}`,
		`{"openId":"u-1","exp":"1700003600"}`,
		`{"openId":"u-1"}`,
		`{"openId":1,"exp":1700003600}`,
		`{"openId":"","exp":1700003600}`,
		`{"openId":"u-1","exp":1e300}`,
		`{"openId":"u-1","exp":-1e300}`,
		`{"openId":"u-1","exp":1700003600,"openId":"u-2"}`,
		`{"OPENID":"u-1","exp":1700003600}`,
		`{"openId":"u-1","exp":1700003600,"aud":5}`,
		`[]`,
		`null`,
		`{"openId":"u-1","exp":1700003600.999}`,
		`{"openId":"u-1","exp":1700003600,"nbf":1e19}`,
		`{"openId":"u-1","exp":9.2e18}`,
	} {
		f.Add([]byte(s))
	}
	a, _ := newTestAuth(f, nil)
	f.Fuzz(func(t *testing.T, payload []byte) {
		tok := sign([]byte(`{"alg":"HS256","typ":"JWT"}`), payload, sha256.New, testSecret)
		user, err := a.UserFromJWT("Bearer " + tok)
		if err != nil {
			if user != "" || !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("refusal %v with user %q", err, user)
			}
			return
		}
		claims, ok := verifyByHand(tok, testSecret)
		if !ok {
			t.Fatalf("accepted payload %q that is not a JSON object", payload)
		}
		checkAccepted(t, claims, user, t0)
	})
}
