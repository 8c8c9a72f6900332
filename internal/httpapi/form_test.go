package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
)

// TestFormBodies: the original's clients send ids as form bodies, often with a
// charset parameter; an oversized form answers 413, not "userId is required".
func TestFormBodies(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	skus := "/api/v1/raffle/activity/query_sku_product_list_by_activity_id"
	sign := "/api/v1/raffle/activity/calendar_sign_rebate"
	form := func(ct string) map[string]string { return map[string]string{"Content-Type": ct} }
	huge := "userId=u1&pad=" + strings.Repeat("x", 2<<20)
	run(t, h, []scenario{
		{name: "sku list, form", method: "POST", path: skus, body: "activityId=100401", header: form("application/x-www-form-urlencoded"), wantCode: "0000"},
		{name: "sku list, form with charset", method: "POST", path: skus, body: "activityId=100401", header: form("application/x-www-form-urlencoded; charset=UTF-8"), wantCode: "0000"},
		{name: "sku list, form upper case", method: "POST", path: skus, body: "activityId=100401", header: form("Application/X-WWW-Form-Urlencoded;charset=utf-8"), wantCode: "0000"},
		{name: "sku list, oversized form", method: "POST", path: skus, body: "activityId=100401&pad=" + strings.Repeat("x", 2<<20), header: form("application/x-www-form-urlencoded"), wantHTTP: http.StatusRequestEntityTooLarge, wantCode: "0002"},
		{name: "sku list, malformed form", method: "POST", path: skus, body: "activityId=%zz", header: form("application/x-www-form-urlencoded"), wantCode: "0002"},
		{name: "sign-in, form with charset", method: "POST", path: sign, body: "userId=charset-user", header: form("application/x-www-form-urlencoded; charset=UTF-8"), wantCode: "0000"},
		{name: "sign-in, oversized form", method: "POST", path: sign, body: huge, header: form("application/x-www-form-urlencoded"), wantHTTP: http.StatusRequestEntityTooLarge, wantCode: "0002"},
		{name: "credit, oversized form", method: "POST", path: "/api/v1/raffle/activity/query_user_credit_account", body: huge, header: form("application/x-www-form-urlencoded; charset=UTF-8"), wantHTTP: http.StatusRequestEntityTooLarge, wantCode: "0002"},
	})
}
