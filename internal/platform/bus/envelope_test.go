package bus_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	type award struct {
		UserID  string `json:"userId"`
		AwardID int    `json:"awardId"`
	}
	ts := time.Date(2024, 5, 1, 12, 0, 0, 123_000_000, time.UTC)
	body, err := bus.NewEnvelope("m-1", ts, award{UserID: "xiaofuge", AwardID: 101})
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 3 || string(raw["id"]) != `"m-1"` || string(raw["timestamp"]) != "1714564800123" ||
		string(raw["data"]) != `{"userId":"xiaofuge","awardId":101}` {
		t.Fatalf("envelope = %s", body)
	}
	var got award
	id, ms, err := bus.DecodeEnvelope(body, &got)
	if err != nil || id != "m-1" || ms != ts.UnixMilli() || got != (award{"xiaofuge", 101}) {
		t.Fatalf("DecodeEnvelope = %q %d %+v %v", id, ms, got, err)
	}
}

func TestEnvelopeErrors(t *testing.T) {
	if _, err := bus.NewEnvelope("", time.Now(), 1); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("NewEnvelope without id = %v, want ErrInvalid", err)
	}
	if _, err := bus.NewEnvelope("x", time.Now(), make(chan int)); err == nil {
		t.Error("NewEnvelope with unencodable data succeeded")
	}
	var dst struct{ N int }
	for _, body := range []string{
		``, `[]`, `{"id":1}`, `{"timestamp":1,"data":{}}`, `{"id":"a","timestamp":1}`,
		`{"id":"a","timestamp":1,"data":null}`, `{"id":"a","timestamp":1,"data":{"N":"x"}}`,
	} {
		if _, _, err := bus.DecodeEnvelope([]byte(body), &dst); !errors.Is(err, bus.ErrBadEnvelope) {
			t.Errorf("DecodeEnvelope(%s) = %v, want ErrBadEnvelope", body, err)
		}
	}
}
