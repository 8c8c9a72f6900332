package bus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// envelope is the wire shape of every event, kept from the original platform:
// {"id": string, "timestamp": milliseconds since the Unix epoch, "data": {...}}.
type envelope struct {
	ID        string          `json:"id"`
	Timestamp int64           `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// NewEnvelope encodes data in the event envelope with id and ts (sent as Unix
// milliseconds). It returns an error wrapping ErrInvalid for an empty id, or the
// JSON encoding error of data.
func NewEnvelope(id string, ts time.Time, data any) ([]byte, error) {
	if id == "" {
		return nil, fmt.Errorf("new envelope: empty id: %w", ErrInvalid)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("new envelope: id[%s]: encode data: %w", id, err)
	}
	b, err := json.Marshal(envelope{ID: id, Timestamp: ts.UnixMilli(), Data: raw})
	if err != nil {
		return nil, fmt.Errorf("new envelope: id[%s]: %w", id, err)
	}
	return b, nil
}

// DecodeEnvelope decodes an envelope, stores its data in the value pointed to by
// data (skipped when data is nil) and returns its id and timestamp in Unix
// milliseconds. A body that is not a JSON object with a non-empty "id" and a
// "data" member, or whose data does not decode into data, gives an error wrapping
// ErrBadEnvelope.
func DecodeEnvelope(body []byte, data any) (id string, ts int64, err error) {
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return "", 0, fmt.Errorf("decode envelope: %w: %w", ErrBadEnvelope, err)
	}
	if e.ID == "" {
		return "", 0, fmt.Errorf("decode envelope: missing id: %w", ErrBadEnvelope)
	}
	if len(e.Data) == 0 || bytes.Equal(e.Data, []byte("null")) {
		return "", 0, fmt.Errorf("decode envelope: id[%s]: missing data: %w", e.ID, ErrBadEnvelope)
	}
	if data != nil {
		if err := json.Unmarshal(e.Data, data); err != nil {
			return "", 0, fmt.Errorf("decode envelope: id[%s]: data: %w: %w", e.ID, ErrBadEnvelope, err)
		}
	}
	return e.ID, e.Timestamp, nil
}
