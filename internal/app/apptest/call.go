package apptest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Call sends one request with the admin bearer token to h and fails the test
// unless the answer's envelope has code "0000". It returns the envelope's
// data.
func Call(t testing.TB, h http.Handler, adminToken, method, path, body string) json.RawMessage {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var env struct {
		Code string          `json:"code"`
		Info string          `json:"info"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Code != "0000" {
		t.Fatalf("%s %s: HTTP %d %s", method, path, rec.Code, rec.Body.String())
	}
	return env.Data
}
