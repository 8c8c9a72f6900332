package web_test

import (
	"strings"
	"testing"
)

// The console's sign-in and shell, and what every console test shares.

const consoleToken = "test-admin" // apptest's admin token, named "admin"

// signInConsole opens the console at path (e.g. "/admin/audit") and signs in
// with token, waiting for the shell.
func signInConsole(b *browser, s *site, path, token string) {
	b.t.Helper()
	b.open(s.url + path)
	b.do(typeInto(`#admin-token`, token))
	b.click(`#sign-in`)
	b.waitText(`[data-testid="console-title"]`, "the console's shell", is("bigmarket console"))
}

// TestConsoleSignIn: a wrong token is refused in the page; the right one
// opens the shell, survives a reload (sessionStorage) and shows the audit log
// with the actor's name; a token the server stops accepting returns to the
// sign-in screen; a deep link under /admin/ opens its screen.
func TestConsoleSignIn(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 1280, 900, false, false)
	b.open(s.url + "/admin/audit")
	b.do(typeInto(`#admin-token`, "wrong-token"))
	b.click(`#sign-in`)
	b.waitText(`[data-testid="sign-in-error"]`, "the refusal", is("This token was refused."))
	if _, found := b.textOf(`[data-testid="console-title"]`); found {
		t.Fatal("the shell is shown after a refused token")
	}

	s.admin("PUT", "/api/admin/v1/switches", `{"key":"rateLimiterSwitch","value":"open"}`)
	signInConsole(b, s, "/admin/audit", consoleToken)
	row := b.waitText(`#audit-table tbody`, "the switch change with its actor", func(x string) bool {
		return strings.Contains(x, "switch.set") && strings.Contains(x, "admin")
	})
	if strings.Contains(row, consoleToken) {
		t.Fatalf("the audit log shows the token: %q", row)
	}

	// A reload keeps the session; a deep link opens its screen.
	b.open(s.url + "/admin/audit")
	b.waitText(`#audit-table tbody`, "the audit log after a reload", func(x string) bool { return strings.Contains(x, "switch.set") })

	// The server stops accepting the stored token: back to sign-in.
	eval[bool](b, `(() => { sessionStorage.setItem('bigmarket.adminToken', 'revoked'); return true; })()`)
	b.open(s.url + "/admin/audit")
	b.waitText(`[data-testid="sign-in-error"]`, "the session-ended notice", is("Your session ended: sign in again."))
	b.checkClean(s.url, "status of 401 (Unauthorized)")
}
