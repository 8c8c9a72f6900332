package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/app"
	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/auth"
	"github.com/bigmarket/bigmarket/internal/config"
)

const (
	jwtSecret = "a-secret-of-at-least-32-bytes-long!!"
	appToken  = "partner-app-token-0123456789"
)

func tokenMode(c *config.Config) {
	c.Auth.Mode = config.AuthToken
	c.Auth.JWTSecret = jwtSecret
	c.Auth.AppTokens = []string{appToken}
}

// userJWT issues a token; a negative ttl issues one that expired -ttl ago.
func userJWT(t *testing.T, user string, ttl time.Duration, secret string) string {
	t.Helper()
	issued := time.Now()
	if ttl < 0 {
		issued, ttl = issued.Add(2*ttl), -ttl
	}
	tok, err := auth.Issue([]byte(secret), user, ttl, issued)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokenMode(t *testing.T) {
	h := apptest.New(t, tokenMode).Handler()
	good := userJWT(t, "xiaofuge", time.Hour, jwtSecret)
	expired := userJWT(t, "xiaofuge", -time.Hour, jwtSecret)
	wrongSecret := userJWT(t, "xiaofuge", time.Hour, "another-secret-of-at-least-32-bytes!!")
	parts := strings.Split(good, ".")
	payload := `{"openId":"victim","exp":4102444800}`
	tampered := parts[0] + "." + strings.TrimRight(b64(payload), "=") + "." + parts[2]
	acct := "/api/v1/raffle/activity/query_user_activity_account"
	byToken := "/api/v1/raffle/activity/query_user_activity_account_by_token"
	app := map[string]string{"X-App-Token": appToken}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	run(t, h, []scenario{
		{name: "plain endpoint without app token", method: "POST", path: acct, body: drawBody("xiaofuge", 100301), wantCode: "0003"},
		{name: "plain endpoint with a wrong app token", method: "POST", path: acct, body: drawBody("xiaofuge", 100301), header: map[string]string{"X-App-Token": "wrong-token-wrong-token"}, wantCode: "0008"},
		{name: "plain endpoint with the app token", method: "POST", path: acct, body: drawBody("xiaofuge", 100301), header: app, wantCode: "0000"},
		{name: "draw without app token", method: "POST", path: drawPath, body: drawBody("xiaofuge", 100301), wantCode: "0003"},
		{name: "sign-in without app token", method: "POST", path: "/api/v1/raffle/activity/calendar_sign_rebate?userId=xiaofuge", wantCode: "0003"},
		{name: "by token", method: "POST", path: byToken, body: `{"activityId":100301}`, header: bearer(good), wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"totalCount":100`) {
					t.Fatalf("account of the token's user: %s", d)
				}
			}},
		{name: "by token ignores the body's user", method: "POST", path: byToken, body: `{"userId":"someone-else","activityId":100301}`, header: bearer(good), wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"totalCount":100`) {
					t.Fatalf("the body's userId was used instead of the token's: %s", d)
				}
			}},
		{name: "bare token accepted", method: "POST", path: byToken, body: `{"activityId":100301}`, header: map[string]string{"Authorization": good}, wantCode: "0000"},
		{name: "expired token", method: "POST", path: byToken, body: `{"activityId":100301}`, header: bearer(expired), wantCode: "0003"},
		{name: "wrong secret", method: "POST", path: byToken, body: `{"activityId":100301}`, header: bearer(wrongSecret), wantCode: "0003"},
		{name: "tampered payload", method: "POST", path: byToken, body: `{"activityId":100301}`, header: bearer(tampered), wantCode: "0003"},
		{name: "no token", method: "POST", path: byToken, body: `{"activityId":100301}`, wantCode: "0003"},
		{name: "app token is not a user token", method: "POST", path: byToken, body: `{"activityId":100301}`, header: app, wantCode: "0003"},
		{name: "draw by token", method: "POST", path: "/api/v1/raffle/activity/draw_by_token", body: `{"activityId":100301}`, header: bearer(good), wantCode: "0000"},
		{name: "award list by token", method: "POST", path: "/api/v1/raffle/strategy/query_raffle_award_list_by_token", body: `{"activityId":100301}`, header: bearer(good), wantCode: "0000"},
		{name: "admin without token", method: "GET", path: "/api/admin/v1/switches", wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "admin with a user token", method: "GET", path: "/api/admin/v1/switches", header: bearer(good), wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "dcc without admin token", method: "GET", path: "/api/v1/raffle/dcc/update_config?key=degradeSwitch&value=open", header: app, wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "partner rebate without app token", method: "POST", path: "/api/v1/raffle/rebate", body: `{"userId":"u1","behaviorType":"openai_pay","outBusinessNo":"o1"}`, wantCode: "0003"},
		{name: "partner rebate", method: "POST", path: "/api/v1/raffle/rebate", body: `{"userId":"u1","behaviorType":"openai_pay","outBusinessNo":"o1"}`, header: app, wantCode: "0000"},
		{name: "partner rebate again", method: "POST", path: "/api/v1/raffle/rebate", body: `{"userId":"u1","behaviorType":"openai_pay","outBusinessNo":"o1"}`, header: app, wantCode: "0003"},
	})
}

// TestTokenModeRandomRaffle: random_raffle takes real stock, so token mode needs
// the app or the admin token for it (DESIGN §6); nothing is taken without one.
func TestTokenModeRandomRaffle(t *testing.T) {
	h := apptest.New(t, tokenMode).Handler()
	body := `{"strategyId":100006}`
	run(t, h, []scenario{
		{name: "no token", method: "POST", path: raffle, body: body, wantCode: "0003"},
		{name: "wrong app token", method: "POST", path: raffle, body: body, header: map[string]string{"X-App-Token": "wrong-token-wrong-token"}, wantCode: "0008"},
		{name: "user JWT is not enough", method: "POST", path: raffle, body: body, header: map[string]string{"Authorization": "Bearer " + userJWT(t, "xiaofuge", time.Hour, jwtSecret)}, wantCode: "0003"},
		{name: "wrong admin token", method: "POST", path: raffle, body: body, header: map[string]string{"Authorization": "Bearer not-the-admin"}, wantCode: "0003"},
		{name: "app token", method: "POST", path: raffle, body: body, header: map[string]string{"X-App-Token": appToken}, wantCode: "0000"},
		{name: "admin token", method: "POST", path: raffle, body: body, admin: true, wantCode: "0000"},
	})
	// Only the two authorised raffles took stock (recorded for user system).
	if d := lookup(t, h, "system"); len(d.AwardRecords) != 2 {
		t.Fatalf("user system has %d award records, want 2 (anonymous raffles must take nothing)", len(d.AwardRecords))
	}
}

// TestPartnerRebateRefusesSign: sign-in rebates go through calendar_sign_rebate
// only; the partner endpoint would otherwise pay "sign" once per outBusinessNo.
func TestPartnerRebateRefusesSign(t *testing.T) {
	h := apptest.New(t, tokenMode).Handler()
	app := map[string]string{"X-App-Token": appToken}
	rebate := "/api/v1/raffle/rebate"
	var scs []scenario
	for _, no := range []string{"20260101", "sign-2", "sign-3"} {
		scs = append(scs, scenario{name: "sign " + no, method: "POST", path: rebate, header: app,
			body: `{"userId":"signer","behaviorType":"sign","outBusinessNo":"` + no + `"}`, wantCode: "0002"})
	}
	scs = append(scs, scenario{name: "calendar sign-in still works", method: "POST", path: "/api/v1/raffle/activity/calendar_sign_rebate?userId=signer", header: app, wantCode: "0000"})
	run(t, h, scs)
	eventually(t, func() error {
		if d := lookup(t, h, "signer"); d.Credit.String() != "10.00" {
			return errorf("credit %s, want 10.00: one sign-in rebate, none from the partner endpoint", d.Credit)
		}
		return nil
	})
}

func TestTokenModeRefusesWeakConfig(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	tokenMode(&cfg)
	cfg.Auth.JWTSecret = "short"
	if _, err := app.New(t.Context(), cfg, nil); err == nil {
		t.Fatal("a JWT secret shorter than 32 bytes was accepted")
	}
}

func TestSignIn(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	sign := "/api/v1/raffle/activity/calendar_sign_rebate?userId=newbie"
	is := "/api/v1/raffle/activity/is_calendar_sign_rebate?userId=newbie"
	run(t, h, []scenario{
		{name: "not signed yet", method: "POST", path: is, wantCode: "0000", check: func(t *testing.T, d json.RawMessage) {
			if string(d) != "false" {
				t.Fatalf("is signed: %s", d)
			}
		}},
		{name: "sign in", method: "POST", path: sign, wantCode: "0000"},
		{name: "sign in again", method: "POST", path: sign, wantCode: "0003"},
		{name: "signed", method: "POST", path: is, wantCode: "0000", check: func(t *testing.T, d json.RawMessage) {
			if string(d) != "true" {
				t.Fatalf("is signed: %s", d)
			}
		}},
		{name: "missing user", method: "POST", path: "/api/v1/raffle/activity/calendar_sign_rebate", wantCode: "0002"},
	})
	// Form bodies work as the original's clients send them.
	req := scenario{method: "POST", path: "/api/v1/raffle/activity/calendar_sign_rebate", body: "userId=formuser",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
	if env := do(t, h, req); env.Code != "0000" {
		t.Fatalf("form sign-in: %s %s", env.Code, env.Info)
	}
	eventually(t, func() error {
		d := lookup(t, h, "newbie")
		if d.Credit.String() != "10.00" {
			return errorf("credit %s, want 10.00 from the sign-in rebate", d.Credit)
		}
		acct, ok := d.Accounts["100401"]
		if !ok || acct.TotalCountSurplus != 1 {
			return errorf("accounts %+v, want SKU 9901's package (1 draw) on activity 100401", d.Accounts)
		}
		return nil
	})
}

// TestNewUserJourney: sign in → 10 credits and SKU 9901's quota → exchange 5
// credits for SKU 9014 → draw on activity 100301 → the award is delivered and
// the credit balance follows.
func TestNewUserJourney(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	const user = "journey-user"
	if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/calendar_sign_rebate?userId=" + user}); env.Code != "0000" {
		t.Fatalf("sign in: %s %s", env.Code, env.Info)
	}
	credit := func() string {
		env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/query_user_credit_account?userId=" + user})
		if env.Code != "0000" {
			t.Fatalf("credit account: %s %s", env.Code, env.Info)
		}
		return string(env.Data)
	}
	eventually(t, func() error {
		if c := credit(); c != "10.00" {
			return errorf("credit %s after sign-in, want 10.00", c)
		}
		return nil
	})
	run(t, h, []scenario{
		{name: "no quota on 100301 yet", method: "POST", path: drawPath, body: drawBody(user, 100301), wantCode: "ERR_BIZ_006"},
		{name: "exchange", method: "POST", path: "/api/v1/raffle/activity/credit_pay_exchange_sku", body: `{"userId":"` + user + `","sku":9014}`, wantCode: "0000"},
		{name: "exchange unknown sku", method: "POST", path: "/api/v1/raffle/activity/credit_pay_exchange_sku", body: `{"userId":"` + user + `","sku":1}`, wantCode: "0002"},
		{name: "exchange too expensive", method: "POST", path: "/api/v1/raffle/activity/credit_pay_exchange_sku", body: `{"userId":"` + user + `","sku":9011}`, wantCode: "ERR_CREDIT_001"},
	})
	if c := credit(); c != "5.00" {
		t.Fatalf("credit %s after paying 5.00, want 5.00", c)
	}
	eventually(t, func() error {
		env := do(t, h, scenario{method: "POST", path: accountPath, body: drawBody(user, 100301)})
		if !strings.Contains(string(env.Data), `"totalCount":1,"totalCountSurplus":1`) {
			return errorf("account %s, want SKU 9014's package", env.Data)
		}
		return nil
	})
	env := do(t, h, scenario{method: "POST", path: drawPath, body: drawBody(user, 100301)})
	if env.Code != "0000" {
		t.Fatalf("draw: %s %s", env.Code, env.Info)
	}
	var won struct{ AwardID int64 }
	json.Unmarshal(env.Data, &won)
	eventually(t, func() error {
		d := lookup(t, h, user)
		if len(d.AwardRecords) != 1 {
			return errorf("records %+v", d.AwardRecords)
		}
		r := d.AwardRecords[0]
		switch {
		case r.AwardID == 101 && r.AwardState == "completed":
			// Random credits between 1 and 100 on top of the 5 left.
			var left float64
			json.Unmarshal([]byte(credit()), &left)
			if left < 6 || left > 105 {
				return errorf("credit %v after winning random credits, want 6…105", left)
			}
		case r.AwardID != 101 && (r.AwardState == "pending_manual" || r.AwardState == "completed"):
		default:
			return errorf("record %+v not delivered yet", r)
		}
		return nil
	})
	if won.AwardID == 0 {
		t.Fatal("draw answered no award")
	}
}
