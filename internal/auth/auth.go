// Package auth holds the authentication primitives of the HTTP API: the
// authentication mode, user JWTs for the …_by_token endpoints and partner app
// tokens for the X-App-Token header. It knows nothing about HTTP routes or
// response codes: the HTTP layer calls an Authenticator and maps its errors.
//
// # Modes
//
// In [ModeOpen] (the original platform's behaviour, the embedded demo's
// default) the userId in a request body is trusted and [Authenticator.RequireApp]
// reports false. In [ModeToken] plain userId endpoints need a trusted partner
// app token ([Authenticator.CheckAppToken]). In both modes the …_by_token
// endpoints take the user from a JWT ([Authenticator.UserFromJWT]), which needs
// a JWT secret to be configured.
//
// # Errors
//
// [Authenticator.UserFromJWT] returns errors that match [ErrUnauthenticated]
// and one reason: [ErrMissing], [ErrMalformed], [ErrBadSignature],
// [ErrExpired], [ErrNotYetValid], [ErrInvalidClaims] or [ErrTokensDisabled].
// [Authenticator.CheckAppToken] returns errors that match [ErrAppTokenRefused]
// and [ErrMissing] when no token was presented. Error messages never contain a
// token or a secret.
//
// # How a host application issues tokens
//
// The host application (the partner site where end users sign in) shares one
// secret with bigmarket (BIGMARKET_JWT_SECRET, at least 32 random bytes, e.g.
// `openssl rand -base64 48`). When one of its users opens a lottery page it
// signs a JWT for that user and hands it to the browser, which sends it in the
// Authorization header (`Bearer <jwt>`, or the bare token as the original
// platform's clients do) to the …_by_token endpoints:
//
//   - algorithm HS256 (every other algorithm, "none" included, is refused);
//   - claim openId: the host's user id, a non-empty string of at most 64
//     bytes without control characters; it is the userId bigmarket uses;
//   - claim exp: required; keep it short (minutes to an hour), the token is a
//     bearer credential;
//   - claims iat and nbf: optional, checked when present;
//   - claim iss: required and compared when bigmarket is configured with an
//     issuer.
//
// Clocks may differ by the configured leeway (30 s by default). Any JWT
// library does; in Go, with github.com/golang-jwt/jwt/v5:
//
//	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
//		"openId": "u-1001",
//		"iat":    now.Unix(),
//		"exp":    now.Add(15 * time.Minute).Unix(),
//	})
//	s, err := tok.SignedString(secret)
//
// or simply s, err := auth.Issue(secret, "u-1001", 15*time.Minute, now).
// The equivalent in the shell, for a quick test:
//
//	h=$(printf '{"alg":"HS256","typ":"JWT"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
//	p=$(printf '{"openId":"u-1001","exp":%d}' $(( $(date +%s) + 900 )) | base64 -w0 | tr '+/' '-_' | tr -d '=')
//	s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
//	curl -H "Authorization: Bearer $h.$p.$s" …
package auth

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Mode is the authentication mode of the user endpoints.
type Mode string

// Authentication modes.
const (
	// ModeOpen trusts the userId in request bodies (the original platform's
	// behaviour; meant for the embedded demo).
	ModeOpen Mode = "open"
	// ModeToken requires a trusted partner app token on plain userId
	// endpoints.
	ModeToken Mode = "token"
)

// ParseMode returns the Mode named s ("open" or "token"), or an error
// matching ErrConfig.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeOpen, ModeToken:
		return m, nil
	}
	return "", fmt.Errorf("%w: mode %q: want %q or %q", ErrConfig, s, ModeOpen, ModeToken)
}

// Limits.
const (
	// MinSecretBytes is the shortest JWT secret New and Issue accept (the
	// HS256 key size).
	MinSecretBytes = 32
	// MinAppTokenBytes is the shortest partner app token New accepts.
	MinAppTokenBytes = 16
	// MaxUserIDBytes bounds the openId claim, as the user id column does.
	MaxUserIDBytes = 64
	// MaxTokenBytes bounds a JWT; longer ones are refused as malformed before
	// any decoding.
	MaxTokenBytes = 4096
	// DefaultLeeway is the clock skew allowed when Config.Leeway is zero.
	DefaultLeeway = 30 * time.Second
)

// Errors. The reasons (ErrMissing … ErrTokensDisabled) are always returned
// together with ErrUnauthenticated or ErrAppTokenRefused; test them with
// errors.Is.
var (
	// ErrConfig reports an invalid Config or Issue argument.
	ErrConfig = errors.New("auth: invalid configuration")
	// ErrInvalidUserID reports a user id that is empty, longer than
	// MaxUserIDBytes or contains control characters.
	ErrInvalidUserID = errors.New("auth: invalid user id")

	// ErrUnauthenticated reports that a user JWT was refused.
	ErrUnauthenticated = errors.New("auth: unauthenticated")
	// ErrAppTokenRefused reports that a partner app token was refused.
	ErrAppTokenRefused = errors.New("auth: app token refused")

	// ErrMissing: no token was presented (empty header, "Bearer " alone).
	ErrMissing = errors.New("auth: token missing")
	// ErrMalformed: the token is not a well-formed JWT (segments, base64,
	// JSON) or is longer than MaxTokenBytes.
	ErrMalformed = errors.New("auth: token malformed")
	// ErrBadSignature: the signature does not verify with the secret, or the
	// token is not signed with HS256 (alg none, RS256, HS512, unknown…).
	ErrBadSignature = errors.New("auth: bad token signature")
	// ErrExpired: exp is past, beyond the leeway.
	ErrExpired = errors.New("auth: token expired")
	// ErrNotYetValid: nbf or iat is in the future, beyond the leeway.
	ErrNotYetValid = errors.New("auth: token not valid yet")
	// ErrInvalidClaims: a required claim is missing or wrong: no exp, a claim
	// of the wrong type, exp, nbf or iat outside the years 1970–9999, an
	// issuer other than the configured one, an openId
	// that is missing, not a string, empty, too long or has control
	// characters.
	ErrInvalidClaims = errors.New("auth: invalid token claims")
	// ErrTokensDisabled: no JWT secret is configured, so user JWTs are refused.
	ErrTokensDisabled = errors.New("auth: user tokens not enabled")
)

// Config configures an Authenticator.
type Config struct {
	// Mode is ModeOpen or ModeToken. The zero value is refused: the mode is
	// always chosen explicitly.
	Mode Mode
	// JWTSecret is the HS256 key of user JWTs, at least MinSecretBytes long.
	// Empty means user JWTs are refused with ErrTokensDisabled.
	JWTSecret []byte
	// AppTokens are the trusted partner app tokens accepted in X-App-Token,
	// each at least MinAppTokenBytes long, without surrounding spaces or
	// control characters. Empty means every app token is refused.
	AppTokens []string
	// Issuer, when set, is the iss claim every user JWT must carry. Empty
	// means iss is not checked.
	Issuer string
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means
	// DefaultLeeway; negative is refused.
	Leeway time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Authenticator checks user JWTs and partner app tokens. It is immutable
// after New and safe for concurrent use.
type Authenticator struct {
	mode      Mode
	secret    []byte
	appTokens [][sha256.Size]byte // SHA-256 of each token: equal lengths for constant-time comparison
	parser    *jwt.Parser
}

// New validates cfg and returns an Authenticator. It returns an error
// matching ErrConfig when the mode is unknown, the JWT secret is non-empty but
// shorter than MinSecretBytes, an app token is too short or has surrounding
// spaces or control characters, the leeway is negative, or the mode is
// ModeToken with neither an app token nor a JWT secret (nothing could ever be
// accepted). The secret and tokens are copied.
func New(cfg Config) (*Authenticator, error) {
	if _, err := ParseMode(string(cfg.Mode)); err != nil {
		return nil, fmt.Errorf("new authenticator: %w", err)
	}
	if n := len(cfg.JWTSecret); n > 0 && n < MinSecretBytes {
		return nil, fmt.Errorf("new authenticator: %w: jwt secret has %d bytes, want at least %d", ErrConfig, n, MinSecretBytes)
	}
	if cfg.Leeway < 0 {
		return nil, fmt.Errorf("new authenticator: %w: leeway %v is negative", ErrConfig, cfg.Leeway)
	}
	if cfg.Mode == ModeToken && len(cfg.AppTokens) == 0 && len(cfg.JWTSecret) == 0 {
		return nil, fmt.Errorf("new authenticator: %w: token mode needs at least one app token or a jwt secret", ErrConfig)
	}
	a := &Authenticator{mode: cfg.Mode}
	for i, tok := range cfg.AppTokens {
		switch {
		case len(tok) < MinAppTokenBytes:
			return nil, fmt.Errorf("new authenticator: %w: app token [%d] has %d bytes, want at least %d", ErrConfig, i, len(tok), MinAppTokenBytes)
		case strings.TrimSpace(tok) != tok || hasControl(tok):
			// Header values arrive trimmed: such a token could never match.
			return nil, fmt.Errorf("new authenticator: %w: app token [%d] has surrounding spaces or control characters", ErrConfig, i)
		}
		a.appTokens = append(a.appTokens, sha256.Sum256([]byte(tok)))
	}
	if len(cfg.JWTSecret) > 0 {
		a.secret = append([]byte(nil), cfg.JWTSecret...)
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(), // one encoding per signature: no malleable trailing bits
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	a.parser = jwt.NewParser(opts...)
	return a, nil
}

// Mode returns the configured mode.
func (a *Authenticator) Mode() Mode { return a.mode }

// RequireApp reports whether plain userId endpoints need a partner app token:
// true in ModeToken, false in ModeOpen.
func (a *Authenticator) RequireApp() bool { return a.mode == ModeToken }

// TokensEnabled reports whether a JWT secret is configured, that is whether
// UserFromJWT can ever succeed.
func (a *Authenticator) TokensEnabled() bool { return len(a.secret) > 0 }

// refusal is the error of a refused credential: kind is ErrUnauthenticated or
// ErrAppTokenRefused, reason nil or one of ErrMissing…ErrTokensDisabled,
// detail an optional explanation (never the token).
type refusal struct {
	kind, reason error
	detail       string
}

func (e *refusal) Error() string {
	msg := e.kind.Error()
	if e.reason != nil {
		msg += ": " + strings.TrimPrefix(e.reason.Error(), "auth: ")
	}
	if e.detail != "" {
		msg += ": " + e.detail
	}
	return msg
}

func (e *refusal) Unwrap() []error {
	if e.reason == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.reason}
}

// checkUserID reports whether id is a valid user id: not blank, at most
// MaxUserIDBytes, no control characters (the rules of the HTTP layer).
func checkUserID(id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return fmt.Errorf("%w: empty", ErrInvalidUserID)
	case len(id) > MaxUserIDBytes:
		return fmt.Errorf("%w: %d bytes, want at most %d", ErrInvalidUserID, len(id), MaxUserIDBytes)
	case hasControl(id):
		return fmt.Errorf("%w: control characters", ErrInvalidUserID)
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
