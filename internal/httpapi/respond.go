package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Response codes of the envelope (DESIGN §6). Business outcomes answer HTTP 200
// with one of these; transport problems answer 4xx/5xx with the envelope too.
const (
	CodeSuccess          = "0000"
	CodeFailure          = "0001"
	CodeIllegalParameter = "0002"
	CodeDuplicate        = "0003" // also a bad or missing token
	CodeDegraded         = "0004"
	CodeRateLimited      = "0005"
	CodeCircuitBroken    = "0006"
	CodeGatewayFailure   = "0007"
	CodeAppTokenRefused  = "0008"
	CodeWeightNotSet     = "ERR_BIZ_001"
	CodeNotAssembled     = "ERR_BIZ_002"
	CodeActivityNotOpen  = "ERR_BIZ_003"
	CodeActivityNotDate  = "ERR_BIZ_004"
	CodeSKUStockOut      = "ERR_BIZ_005"
	CodeTotalQuotaOut    = "ERR_BIZ_006"
	CodeMonthQuotaOut    = "ERR_BIZ_007"
	CodeDayQuotaOut      = "ERR_BIZ_008"
	CodeOrderUsed        = "ERR_BIZ_009"
	CodeAwardConfigRange = "ERR_CONFIG_001"
	CodeCreditShort      = "ERR_CREDIT_001"
)

// Envelope is every answer's shape.
type Envelope struct {
	Code string `json:"code"`
	Info string `json:"info"`
	Data any    `json:"data"`
}

// codeError carries a code and a client-safe message to the envelope.
type codeError struct {
	code   string
	info   string
	status int // HTTP status; zero means 200
	data   any
	// zh is the Chinese info when the code's own text (codeTexts) would
	// mislead, e.g. 0003 for a missing token; empty uses the code's text.
	zh string
}

func (e *codeError) Error() string { return e.code + ": " + e.info }

// badRequest is an illegal parameter (0002).
func badRequest(format string, args ...any) error {
	return &codeError{code: CodeIllegalParameter, info: fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, env Envelope) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

// decodeJSON reads a JSON object body into dst. Unknown fields are ignored (clients
// of the original platform send extra ones); wrong types, syntax errors, trailing
// data and an oversized body are reported as client errors.
func decodeJSON(r *http.Request, dst any) error {
	if r.Body == nil {
		return badRequest("request body is empty")
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return badRequest("request body has data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		big *http.MaxBytesError
	)
	switch {
	case errors.As(err, &big):
		return &codeError{code: CodeIllegalParameter, info: fmt.Sprintf("request body larger than %d bytes", big.Limit), status: http.StatusRequestEntityTooLarge}
	case errors.Is(err, io.EOF):
		return badRequest("request body is empty")
	case errors.As(err, &syn):
		return badRequest("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return badRequest("field %q: want %s, got %s", typ.Field, typ.Type, typ.Value)
		}
		return badRequest("want a JSON object, got %s", typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end")
	}
	return badRequest("malformed JSON: %v", err)
}

// positiveID parses a decimal id that must be > 0.
func positiveID(name, v string) (int64, error) {
	if v == "" {
		return 0, badRequest("%s is required", name)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return 0, badRequest("%s %q: want a positive integer", name, v)
	}
	return n, nil
}

// requireID checks an id decoded from a body.
func requireID(name string, v int64) error {
	if v <= 0 {
		return badRequest("%s is required and must be a positive integer", name)
	}
	return nil
}

// maxUserIDLen bounds user ids to the column width.
const maxUserIDLen = 64

// requireUser checks a user id from a body or query.
func requireUser(v string) error {
	switch {
	case strings.TrimSpace(v) == "":
		return badRequest("userId is required")
	case len(v) > maxUserIDLen:
		return badRequest("userId longer than %d bytes", maxUserIDLen)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return badRequest("userId has control characters")
		}
	}
	return nil
}

// formParam reads name from the query or, when the body is a form
// (application/x-www-form-urlencoded, any parameters such as charset), from the
// body: the original's clients send ids either way. A body past the size limit
// answers 413; a malformed form is an illegal parameter. A missing value is "".
func formParam(r *http.Request, name string) (string, error) {
	if v := r.URL.Query().Get(name); v != "" {
		return v, nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return "", nil
	}
	if err := r.ParseForm(); err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			return "", jsonError(err)
		}
		return "", badRequest("malformed form body: %v", err)
	}
	return r.PostForm.Get(name), nil
}
