package web_test

import (
	"testing"

	"github.com/bigmarket/bigmarket/internal/config"
)

// TestConsoleJourney walks UI.md's console journey on one browser, as an
// operator signed in with a named token: a wrong token refused → the
// dashboard's figures equal the API's after a few draws → a campaign edit
// with an error marked at its line → a valid edit (an award's title) applied
// → the lottery page shows the new title → the strategy lab's 100 000 draws
// within tolerance of the configured rates → a quota grant seen in the user
// view → degrade on (confirmed) → the lottery page paused → degrade off → the
// lottery page draws again → the audit log lists each write with the
// operator's name.
func TestConsoleJourney(t *testing.T) {
	const operator, token = "alice", "alice-console-token-2026"
	s := newSite(t, func(c *config.Config) {
		c.Auth.AdminTokens = config.AdminTokens{{Name: operator, Token: token}}
	})
	b := newBrowser(t, 1280, 900, false, false)

	b.open(s.url + "/admin/")
	b.do(typeInto(`#admin-token`, "not-"+token))
	b.click(`#sign-in`)
	b.waitText(`[data-testid="sign-in-error"]`, "the refusal", is("This token was refused."))

	signInConsole(b, s, "/admin/dashboard", token)
	const draws = 4
	consoleDashboardDraws(b, s, "journey-dash", draws)
	consoleDashboardMatchesAPI(b, s, draws)

	consoleCampaignsOpen(b)
	consoleCampaignsErrorMarked(b, s)
	const title = "护眼台灯 Journey"
	revision := consoleCampaignsApplyTitle(b, s, title)
	consoleCampaignsLotteryShows(b, s, title)
	b.open(s.url + "/admin/campaigns")
	consoleCampaignsRevisionListed(b, s, revision, operator)

	consoleLabCheckNewUser(b, s)

	const user, reason = "journey-user", "journey: compensation for a failed draw"
	b.open(s.url + "/admin/users")
	consoleOpsGrant(b, s, user, 5, reason)
	consoleOpsDegrade(b, s, true, operator)
	consoleOpsLottery(b, s, user, 5, true)
	b.open(s.url + "/admin/switches")
	consoleOpsDegrade(b, s, false, operator)
	consoleOpsLottery(b, s, user, 5, false)

	consoleOpsAudit(b, s, operator, [][2]string{
		{"switch.set", "degradeSwitch = close"},
		{"switch.set", "degradeSwitch = open"},
		{"quota.grant", "reason: " + reason},
		{"campaign.apply", "revision"},
	})
	b.checkClean(s.url, "status of 401 (Unauthorized)")
}
