package httpapi

import (
	"errors"
	"net/http"
	"path"

	"github.com/bigmarket/bigmarket/internal/auth"
)

// Authenticator checks partner app tokens and user JWTs (internal/auth).
type Authenticator interface {
	RequireApp() bool
	CheckAppToken(token string) error
	UserFromJWT(authorization string) (string, error)
}

// userHandlerFunc answers a user endpoint. user is the authenticated user of a
// _by_token twin, or "" when the user comes from the request.
type userHandlerFunc func(r *http.Request, user string) (any, error)

// userRoute registers a user endpoint and, when twin is not empty, its _by_token
// twin next to it. In token mode the plain endpoint needs a partner app token
// (X-App-Token): missing → 0003, refused → 0008. The twin takes the user from the
// Authorization JWT (claim openId) and never from the body.
func (s *Server) userRoute(method, p, twin string, h userHandlerFunc) {
	s.route(method, p, func(r *http.Request) (any, error) {
		if err := s.checkApp(r); err != nil {
			return nil, err
		}
		return h(r, "")
	})
	if twin == "" {
		return
	}
	s.route(method, path.Dir(p)+"/"+twin, func(r *http.Request) (any, error) {
		user, err := s.jwtUser(r)
		if err != nil {
			return nil, err
		}
		return h(r, user)
	})
}

// checkApp enforces the app token on plain user endpoints in token mode.
func (s *Server) checkApp(r *http.Request) error {
	a := s.cfg.Auth
	if a == nil || !a.RequireApp() {
		return nil
	}
	if err := a.CheckAppToken(r.Header.Get("X-App-Token")); err != nil {
		if errors.Is(err, auth.ErrMissing) {
			return &codeError{code: CodeDuplicate, info: "app token required (X-App-Token)", zh: "缺少应用令牌 (X-App-Token)"}
		}
		return &codeError{code: CodeAppTokenRefused, info: "app token refused"}
	}
	return nil
}

// checkAppOrAdmin enforces, in token mode, the app token or the admin token on
// an endpoint that takes stock without a user (random_raffle, DESIGN §6): a valid
// admin bearer passes, otherwise the app token is checked as checkApp does.
func (s *Server) checkAppOrAdmin(r *http.Request) error {
	a := s.cfg.Auth
	if a == nil || !a.RequireApp() {
		return nil
	}
	if s.isAdmin(r) {
		return nil
	}
	return s.checkApp(r)
}

// jwtUser authenticates a _by_token request.
func (s *Server) jwtUser(r *http.Request) (string, error) {
	a := s.cfg.Auth
	if a == nil {
		return "", &codeError{code: CodeDuplicate, info: "user tokens are not enabled", zh: "未启用用户令牌"}
	}
	user, err := a.UserFromJWT(r.Header.Get("Authorization"))
	if err != nil {
		return "", &codeError{code: CodeDuplicate, info: "invalid or missing user token", zh: "用户令牌无效或缺失"}
	}
	return user, nil
}

// checkAppAlways requires a valid partner app token whatever the mode.
func (s *Server) checkAppAlways(r *http.Request) error {
	a := s.cfg.Auth
	if a == nil {
		return &codeError{code: CodeAppTokenRefused, info: "no partner app tokens are configured"}
	}
	if err := a.CheckAppToken(r.Header.Get("X-App-Token")); err != nil {
		if errors.Is(err, auth.ErrMissing) {
			return &codeError{code: CodeDuplicate, info: "app token required (X-App-Token)", zh: "缺少应用令牌 (X-App-Token)"}
		}
		return &codeError{code: CodeAppTokenRefused, info: "app token refused"}
	}
	return nil
}
