package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/bigmarket/bigmarket/internal/dcc"
)

// SwitchService reads and changes the dynamic switches.
type SwitchService interface {
	All() map[string]string
	Set(ctx context.Context, key, value string) error
}

func (s *Server) switchRoutes() {
	if s.deps.Switches == nil {
		return
	}
	s.adminRoute(http.MethodGet, v1+"dcc/update_config", s.dccUpdate)
	s.adminRoute(http.MethodGet, admin+"switches", func(r *http.Request) (any, error) { return s.deps.Switches.All(), nil })
	s.adminRoute(http.MethodPut, admin+"switches", s.switchesPut)
}

func (s *Server) setSwitch(r *http.Request, key, value string) error {
	if key == "" {
		return badRequest("key is required")
	}
	if err := s.deps.Switches.Set(r.Context(), key, value); err != nil {
		if errors.Is(err, dcc.ErrInvalid) {
			return badRequest("%v", err)
		}
		return err
	}
	return s.audit(r, ActionSwitchSet, key, "%s = %s", key, value)
}

// dccUpdate is the original platform's GET dcc/update_config?key=&value=.
func (s *Server) dccUpdate(r *http.Request) (any, error) {
	q := r.URL.Query()
	if err := s.setSwitch(r, q.Get("key"), q.Get("value")); err != nil {
		return nil, err
	}
	return true, nil
}

type switchRequest struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (s *Server) switchesPut(r *http.Request) (any, error) {
	var req switchRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := s.setSwitch(r, req.Key, req.Value); err != nil {
		return nil, err
	}
	return s.deps.Switches.All(), nil
}
