package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// claimOpenID is the claim that carries the user id.
const claimOpenID = "openId"

// UserFromJWT returns the user id (claim openId) of the JWT in an
// Authorization header value: "Bearer <jwt>" (scheme case-insensitive) or the
// bare token, as the original platform's clients send it. Surrounding spaces
// are ignored.
//
// The token must be signed with HS256 and the configured secret (any other
// algorithm is refused), carry exp, and be within exp, nbf and iat (those
// two when present) give or take the leeway; when an issuer is configured,
// iss must equal it. The openId claim must be a string accepted as a user id
// (non-empty, at most MaxUserIDBytes, no control characters).
//
// Every error matches ErrUnauthenticated and one reason: ErrMissing,
// ErrMalformed, ErrBadSignature, ErrExpired, ErrNotYetValid, ErrInvalidClaims
// or ErrTokensDisabled (no secret configured).
func (a *Authenticator) UserFromJWT(authorization string) (userID string, err error) {
	raw, reason := bearerToken(authorization)
	if reason != nil {
		return "", &refusal{kind: ErrUnauthenticated, reason: reason}
	}
	if len(a.secret) == 0 {
		return "", &refusal{kind: ErrUnauthenticated, reason: ErrTokensDisabled}
	}
	if len(raw) > MaxTokenBytes {
		return "", &refusal{kind: ErrUnauthenticated, reason: ErrMalformed, detail: fmt.Sprintf("longer than %d bytes", MaxTokenBytes)}
	}
	claims := jwt.MapClaims{}
	if _, err := a.parser.ParseWithClaims(raw, claims, a.key); err != nil {
		reason := jwtReason(err)
		if reason == ErrExpired || reason == ErrNotYetValid {
			// Signed, and the times were compared: were they meaningful?
			if err := checkTimes(claims); err != nil {
				return "", &refusal{kind: ErrUnauthenticated, reason: ErrInvalidClaims, detail: err.Error()}
			}
		}
		return "", &refusal{kind: ErrUnauthenticated, reason: reason, detail: err.Error()}
	}
	if err := checkTimes(claims); err != nil {
		return "", &refusal{kind: ErrUnauthenticated, reason: ErrInvalidClaims, detail: err.Error()}
	}
	id, ok := claims[claimOpenID].(string)
	if !ok {
		return "", &refusal{kind: ErrUnauthenticated, reason: ErrInvalidClaims, detail: "openId missing or not a string"}
	}
	if err := checkUserID(id); err != nil {
		return "", &refusal{kind: ErrUnauthenticated, reason: ErrInvalidClaims, detail: "openId: " + strings.TrimPrefix(err.Error(), "auth: ")}
	}
	return id, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z in seconds. Beyond it the JWT
// library's conversion to time.Time overflows (an nbf of 1e19 would read as
// the distant past), so such values are refused.
const maxNumericDate = 253402300799

// checkTimes refuses exp, nbf and iat values outside [0, maxNumericDate].
// Their types were checked by the parser.
func checkTimes(claims jwt.MapClaims) error {
	for _, k := range [...]string{"exp", "nbf", "iat"} {
		v, present := claims[k]
		if !present {
			continue
		}
		if f, ok := v.(float64); !ok || f < 0 || f > maxNumericDate {
			return fmt.Errorf("%s out of range", k)
		}
	}
	return nil
}

// key is the jwt.Keyfunc: the secret, for HMAC tokens only. The parser has
// already refused every algorithm but HS256; this is a second lock.
func (a *Authenticator) key(t *jwt.Token) (any, error) {
	if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
		return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
	}
	return a.secret, nil
}

// bearerToken extracts the token of an Authorization header value, or
// returns the reason it cannot: ErrMissing or ErrMalformed.
func bearerToken(h string) (string, error) {
	s := strings.TrimSpace(h)
	const scheme = "bearer"
	if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
		rest := s[len(scheme):]
		if rest == "" {
			return "", ErrMissing // "Bearer" or "Bearer   "
		}
		if rest[0] == ' ' || rest[0] == '\t' {
			s = strings.TrimSpace(rest)
		} // else "Bearerxyz…": not the scheme, parsed as a bare token below
	}
	if s == "" {
		return "", ErrMissing
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return "", ErrMalformed // another scheme ("Basic …") or junk
	}
	return s, nil
}

// jwtReason maps an error of the JWT parser to a reason of this package.
func jwtReason(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		// A wrong signature, an algorithm other than HS256, or none at all.
		return ErrBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrNotYetValid
	default:
		// Missing exp, a claim of the wrong type, a wrong issuer.
		return ErrInvalidClaims
	}
}

// Issue returns a user JWT as a host application would make it: HS256 with
// secret, claims openId = openID, iat = now and exp = now + ttl (both in whole
// seconds, truncated). It returns an error matching ErrConfig when secret is
// shorter than MinSecretBytes or ttl is shorter than one second, and
// ErrInvalidUserID when openID would be refused by UserFromJWT.
func Issue(secret []byte, openID string, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < MinSecretBytes {
		return "", fmt.Errorf("issue token: %w: secret has %d bytes, want at least %d", ErrConfig, len(secret), MinSecretBytes)
	}
	if ttl < time.Second {
		return "", fmt.Errorf("issue token: %w: ttl %v, want at least 1s", ErrConfig, ttl)
	}
	if err := checkUserID(openID); err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		claimOpenID: openID,
		"iat":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
	})
	s, err := tok.SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	return s, nil
}
