package httpapi_test

import (
	"testing"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
)

// TestGrantIdempotentByID: quota/grant is idempotent by id. The same body again
// answers true; the same id with another body answers 0003 and grants nothing
// (it used to answer true).
func TestGrantIdempotentByID(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	path := "/api/admin/v1/quota/grant"
	g := func(user string, total int) string {
		return body(map[string]any{"id": "promo-1", "userId": user, "activityId": 100301, "total": total, "day": total, "month": total})
	}
	run(t, h, []scenario{
		{name: "grant", method: "POST", path: path, admin: true, body: g("granted", 3), wantCode: "0000"},
		{name: "the same grant again", method: "POST", path: path, admin: true, body: g("granted", 3), wantCode: "0000"},
		{name: "same id, other counts", method: "POST", path: path, admin: true, body: g("granted", 30), wantCode: "0003"},
		{name: "same id, another user", method: "POST", path: path, admin: true, body: g("someone-else", 3), wantCode: "0003"},
	})
	if d := lookup(t, h, "granted"); d.Accounts["100301"].TotalCountSurplus != 3 {
		t.Fatalf("accounts %+v, want 3 draws on 100301 from one grant", d.Accounts)
	}
	if d := lookup(t, h, "someone-else"); len(d.Accounts) != 0 {
		t.Fatalf("accounts %+v, want none: a reused grant id grants nothing", d.Accounts)
	}
}
