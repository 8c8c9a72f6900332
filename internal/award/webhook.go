package award

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
)

// Webhook request headers.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
	// keyed by the webhook's secret (see Sign and VerifySignature).
	SignatureHeader = "X-Bigmarket-Signature"
	// DeliveryHeader carries the award order id: the receiver's idempotency key.
	// A record is claimed before its webhook is called, so duplicate messages
	// never post twice; but a process that dies after the call and before the
	// record is completed leaves the claim to time out, and the award is then
	// posted again with the same key. Receivers keep the keys they have
	// granted and answer 2xx to a repeated one without granting again.
	DeliveryHeader = "X-Bigmarket-Delivery"
)

// WebhookConfig is the endpoint that delivers the awards of one key.
type WebhookConfig struct {
	// URL receives a POST with the JSON SendAward; a 2xx answer means
	// delivered. Required.
	URL string
	// Secret keys the body's HMAC signature. Empty signs with an empty key,
	// which proves nothing: configure one.
	Secret string
}

// Sign returns the SignatureHeader value of body: "sha256=" followed by the hex
// HMAC-SHA256 of body keyed by secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether header is body's signature under secret, in
// constant time. Receivers of webhooks use it.
func VerifySignature(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// maxWebhookAnswer bounds the part of an answer read (and discarded) so the
// connection can be reused.
const maxWebhookAnswer = 64 << 10

// post delivers sa to w, retrying with exponential backoff on transport errors,
// 5xx, 408 and 429 answers, up to WebhookAttempts posts. Other 4xx answers fail
// at once. Failures wrap ErrWebhook.
func (d *Deliverer) post(ctx context.Context, w WebhookConfig, sa SendAward) error {
	body, err := json.Marshal(sa)
	if err != nil {
		return fmt.Errorf("webhook %s: encode: %w", w.URL, err)
	}
	sig := Sign(w.Secret, body)
	var last error
	for attempt := 1; attempt <= d.cfg.WebhookAttempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(bus.Backoff(d.cfg.WebhookBackoff, maxWebhookBackoff, attempt-1))
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("webhook %s: %w: %w (last: %v)", w.URL, ErrWebhook, ctx.Err(), last)
			case <-t.C:
			}
		}
		retry, err := d.postOnce(ctx, w.URL, body, sig, sa.OrderID)
		if err == nil {
			return nil
		}
		last = err
		d.log.Warn("award webhook failed", "url", w.URL, "order", sa.OrderID, "attempt", attempt, "err", err)
		if !retry {
			break
		}
	}
	return fmt.Errorf("webhook %s: %w: %w", w.URL, ErrWebhook, last)
}

// postOnce posts once, within WebhookTimeout, and reports whether a failure is
// worth retrying (a timeout of this call is, if ctx has not ended).
func (d *Deliverer) postOnce(ctx context.Context, url string, body []byte, sig, orderID string) (retry bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, d.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, sig)
	req.Header.Set(DeliveryHeader, orderID)
	resp, err := d.cfg.HTTPClient.Do(req)
	if err != nil {
		return ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxWebhookAnswer))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	err = fmt.Errorf("answered %s: %s", resp.Status, strings.TrimSpace(string(answer[:min(len(answer), 200)])))
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests
	return retry, err
}
