package auth

import (
	"crypto/sha256"
	"crypto/subtle"
)

// CheckAppToken reports whether token (the X-App-Token header value) is one
// of the configured partner app tokens. It compares the SHA-256 of token with
// that of every configured token in constant time and without stopping at a
// match, so neither the time taken nor its variation tells which token
// matched or how close a guess came. Surrounding spaces are not trimmed.
//
// It returns nil on a match; otherwise an error matching ErrAppTokenRefused,
// and also ErrMissing when token is empty. With no configured tokens every
// token is refused. The result does not depend on the mode: callers consult
// RequireApp to decide whether to ask for a token at all.
func (a *Authenticator) CheckAppToken(token string) error {
	if token == "" {
		return &refusal{kind: ErrAppTokenRefused, reason: ErrMissing}
	}
	sum := sha256.Sum256([]byte(token))
	match := 0
	for i := range a.appTokens {
		match |= subtle.ConstantTimeCompare(sum[:], a.appTokens[i][:])
	}
	if match != 1 {
		return &refusal{kind: ErrAppTokenRefused, detail: "no configured token matches"}
	}
	return nil
}
