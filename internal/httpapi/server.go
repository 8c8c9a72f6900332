// Package httpapi is bigmarket's HTTP layer: the envelope and codes of DESIGN §6,
// the endpoints compatible with the original platform, the admin API, health and
// metrics. It translates requests and errors; it holds no business logic.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the server. Zero values are documented per field.
type Config struct {
	// AdminToken guards the admin, dcc and erp endpoints. It must not be empty:
	// main generates one when none is configured.
	AdminToken string
	// AdminTokens are further admin tokens by name (the actor the audit log
	// records); AdminToken is named "admin". Every token is compared in
	// constant time.
	AdminTokens map[string]string
	// AllowedOrigins lists CORS origins; "*" allows any. Empty allows none.
	AllowedOrigins []string
	// MaxBodyBytes bounds request bodies. Zero means 1 MiB.
	MaxBodyBytes int64
	// Logger receives request errors. Nil discards.
	Logger *slog.Logger
	// Auth checks app tokens and user JWTs. Nil means open mode with the
	// _by_token endpoints refused.
	Auth Authenticator
	// Registry receives the HTTP metrics and is served at /metrics. Nil means no
	// metrics.
	Registry *prometheus.Registry
	// MetricsPublic serves /metrics without the admin token. False means
	// /metrics needs the admin token, as the admin endpoints do.
	MetricsPublic bool
	// MetricsElsewhere leaves /metrics off this handler: it is served on its
	// own listener through MetricsHandler. False serves it here.
	MetricsElsewhere bool
	// Pages are the built web pages (NewPages), served at / next to the API.
	// Nil means an API-only server: / answers the JSON 0002 of unknown paths.
	Pages *Pages
}

// Deps are the application services the handlers call. Each field is an interface
// declared in this package; nil fields leave their endpoints answering 0001.
type Deps struct {
	Strategy  StrategyService
	Campaigns CampaignService
	// Switches serves dcc/update_config and the admin switches endpoints.
	Switches SwitchService
	// Activity serves the activity endpoints and the draw.
	Activity ActivityService
	// Ops serves the erp and operator endpoints.
	Ops OpsService
	// Rebate serves sign-in and partner rebates.
	Rebate RebateService
	// Exchange serves credit_pay_exchange_sku.
	Exchange ExchangeService
	// Credit serves query_user_credit_account.
	Credit CreditService
	// History serves query_user_award_list and query_user_credit_ledger.
	History HistoryService
	// Activities serves query_activity_list and query_activity_info.
	Activities ActivityCatalog
	// Audit records every admin write and serves the audit log; nil records
	// nothing.
	Audit AuditLog
	// Console serves GET /api/admin/v1/stats and activities.
	Console ConsoleService
	// DrawAnswers counts every answer of activity/draw and draw_by_token by
	// code (a panic counts as the 0001 it answers). Nil counts nothing.
	DrawAnswers AnswerCounter
	// Ready reports whether the instance can serve (database reachable, …).
	Ready func(ctx context.Context) error
}

// Server is the HTTP handler of bigmarket.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	metrics *httpMetrics
	// metricsHandler serves the registry (nil without one).
	metricsHandler http.Handler
	allowed        map[string][]string // methods registered per path
	admins         []adminToken
}

// New builds the server and its routes.
func New(cfg Config, deps Deps) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, deps: deps, log: cfg.Logger, mux: http.NewServeMux(), admins: adminTokens(cfg)}
	if cfg.Registry != nil {
		s.metrics = newHTTPMetrics(cfg.Registry)
		s.metricsHandler = newMetricsHandler(cfg.Registry)
		switch {
		case cfg.MetricsElsewhere:
		case cfg.MetricsPublic:
			s.mux.Handle("GET /metrics", s.metricsHandler)
		default:
			s.mux.Handle("GET /metrics", s.requireAdmin(s.metricsHandler))
		}
	}
	s.routes()
	s.handler = s.recoverer(s.cors(s.mux))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, Envelope{Code: CodeSuccess, Info: "ok", Data: true})
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.deps.Ready != nil {
			if err := s.deps.Ready(r.Context()); err != nil {
				s.log.Warn("not ready", "err", err)
				writeJSON(w, http.StatusServiceUnavailable, Envelope{Code: CodeFailure, Info: "not ready", Data: false})
				return
			}
		}
		writeJSON(w, http.StatusOK, Envelope{Code: CodeSuccess, Info: "ready", Data: true})
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Pages != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) && !strings.HasPrefix(r.URL.Path, "/api/") {
			if f := s.cfg.Pages.lookup(r.URL.Path); f != nil {
				s.cfg.Pages.serve(w, r, f)
				return
			}
			if r.URL.Path == "/admin" {
				http.Redirect(w, r, "/admin/", http.StatusMovedPermanently)
				return
			}
			// The console routes on the client: every other path under
			// /admin/ is its HTML.
			if strings.HasPrefix(r.URL.Path, "/admin/") {
				if f := s.cfg.Pages.lookup("/admin/"); f != nil {
					s.cfg.Pages.serve(w, r, f)
					return
				}
			}
		}
		writeJSON(w, http.StatusNotFound, Envelope{Code: CodeIllegalParameter, Info: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	s.strategyRoutes()
	s.adminRoutes()
	s.switchRoutes()
	s.activityRoutes()
	s.opsRoutes()
	s.rebateRoutes()
	s.exchangeRoutes()
	s.creditRoutes()
	s.historyRoutes()
	s.activityInfoRoutes()
	s.auditRoutes()
	s.statsRoutes()
}

// handlerFunc answers a request with data or an error mapped to a code.
type handlerFunc func(r *http.Request) (any, error)

// route registers h under the pattern "METHOD path", with metrics and the body
// limit. A wrong method on a known path answers 405 with the envelope.
func (s *Server) route(method, path string, h handlerFunc) {
	s.handle(method, path, s.endpoint(path, h))
}

// adminRoute is route behind the admin token.
func (s *Server) adminRoute(method, path string, h handlerFunc) {
	s.handle(method, path, s.requireAdmin(s.endpoint(path, h)))
}

func (s *Server) handle(method, path string, h http.Handler) {
	s.mux.Handle(method+" "+path, h)
	s.allowMethod(path, method)
}

// allowMethod records methods per path, so other methods answer 405.
func (s *Server) allowMethod(path, method string) {
	if _, ok := s.methods()[path]; !ok {
		s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(s.methods()[path], ", "))
			writeJSON(w, http.StatusMethodNotAllowed, Envelope{Code: CodeIllegalParameter, Info: "method " + r.Method + " not allowed"})
		})
	}
	m := s.methods()
	if !slices.Contains(m[path], method) {
		m[path] = append(m[path], method)
	}
	if method == http.MethodGet && !slices.Contains(m[path], http.MethodHead) {
		m[path] = append(m[path], http.MethodHead)
	}
}

func (s *Server) methods() map[string][]string {
	if s.allowed == nil {
		s.allowed = map[string][]string{}
	}
	return s.allowed
}

func (s *Server) endpoint(name string, h handlerFunc) http.Handler {
	var answers AnswerCounter
	if isDrawEndpoint(name) {
		answers = s.deps.DrawAnswers
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		code := CodeFailure // what a panic answers (recoverer)
		if answers != nil {
			defer func() { answers.Count(time.Now(), code) }()
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		data, err := h(r)
		status, env := s.envelope(r, data, err)
		env = localize(r, env, err)
		code = env.Code
		writeJSON(w, status, env)
		if s.metrics != nil {
			s.metrics.observe(name, env.Code, time.Since(start))
		}
	})
}

// envelope maps a handler's result to the answer.
func (s *Server) envelope(r *http.Request, data any, err error) (int, Envelope) {
	if err == nil {
		return http.StatusOK, Envelope{Code: CodeSuccess, Info: "success", Data: data}
	}
	var ce *codeError
	if errors.As(err, &ce) || errors.As(mapError(err), &ce) {
		status := ce.status
		if status == 0 {
			status = http.StatusOK
		}
		return status, Envelope{Code: ce.code, Info: ce.info, Data: ce.data}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("request timed out", "path", r.URL.Path, "err", err)
		return http.StatusOK, Envelope{Code: CodeCircuitBroken, Info: "timed out"}
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return http.StatusOK, Envelope{Code: CodeFailure, Info: "internal error"}
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, Envelope{Code: CodeFailure, Info: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// cors answers preflight requests and sets the allow headers for allowed origins.
func (s *Server) cors(next http.Handler) http.Handler {
	any := slices.Contains(s.cfg.AllowedOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (any || slices.Contains(s.cfg.AllowedOrigins, origin)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-App-Token")
				h.Set("Access-Control-Max-Age", strconv.Itoa(600))
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// isAdmin reports whether r carries an admin bearer token.
func (s *Server) isAdmin(r *http.Request) bool {
	_, ok := s.adminName(r)
	return ok
}

func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := s.adminName(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, Envelope{Code: CodeDuplicate, Info: "admin token required (Authorization: Bearer …)"})
			return
		}
		next.ServeHTTP(w, r.WithContext(WithAdmin(r.Context(), name)))
	})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bigmarket_http_requests_total",
			Help: "HTTP requests by endpoint and answer code.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bigmarket_http_request_duration_seconds",
			Help:    "HTTP request latency by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"endpoint"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *httpMetrics) observe(endpoint, code string, d time.Duration) {
	m.requests.WithLabelValues(endpoint, code).Inc()
	m.latency.WithLabelValues(endpoint).Observe(d.Seconds())
}
