package activity_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
)

func TestCheck(t *testing.T) {
	begin := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	open := activity.Activity{ID: 1, State: activity.StateOpen, Begin: begin, End: end}
	for _, tc := range []struct {
		name string
		a    activity.Activity
		now  time.Time
		want error
	}{
		{"open, inside", open, begin.Add(time.Hour), nil},
		{"open, at begin", open, begin, nil},
		{"open, at end", open, end, nil},
		{"open, before begin", open, begin.Add(-time.Millisecond), activity.ErrNotInDate},
		{"open, after end", open, end.Add(time.Millisecond), activity.ErrNotInDate},
		{"created", activity.Activity{ID: 1, State: activity.StateCreate, Begin: begin, End: end}, begin.Add(time.Hour), activity.ErrNotOpen},
		{"closed, out of date too", activity.Activity{ID: 1, State: activity.StateClose, Begin: begin, End: end}, end.Add(time.Hour), activity.ErrNotOpen},
		{"unbounded", activity.Activity{ID: 1, State: activity.StateOpen}, time.Unix(0, 0), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.a.Check(tc.now)
			if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPeriodKeys(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	at := time.Date(2025, 3, 31, 17, 30, 0, 0, time.UTC) // 2025-04-01 01:30 in Shanghai
	if got := activity.DayKey(at, time.UTC); got != "2025-03-31" {
		t.Fatalf("DayKey UTC = %s", got)
	}
	if got := activity.DayKey(at, shanghai); got != "2025-04-01" {
		t.Fatalf("DayKey Shanghai = %s", got)
	}
	if got := activity.MonthKey(at, time.UTC); got != "2025-03" {
		t.Fatalf("MonthKey UTC = %s", got)
	}
	if got := activity.MonthKey(at, shanghai); got != "2025-04" {
		t.Fatalf("MonthKey Shanghai = %s", got)
	}
}

func TestGrantKeys(t *testing.T) {
	long := strings.Repeat("x", 64)
	for _, id := range []string{"demo-xfg-100401", long, long + "y"} {
		no, oid := activity.GrantOutBusinessNo(id), activity.GrantOrderID(id)
		if len(no) > 64 || !strings.HasPrefix(no, "grant:") || len(oid) != 32 {
			t.Fatalf("grant %q: out_business_no %q (%d), order id %q (%d)", id, no, len(no), oid, len(oid))
		}
	}
	if got := activity.GrantOutBusinessNo("g1"); got != "grant:g1" {
		t.Fatalf("GrantOutBusinessNo(g1) = %q", got)
	}
	if activity.GrantOutBusinessNo(long) == activity.GrantOutBusinessNo(long+"y") ||
		activity.GrantOrderID(long) == activity.GrantOrderID(long+"y") {
		t.Fatal("different long grant ids share a key")
	}
	if err := (activity.Grant{ID: "g", UserID: "u", ActivityID: 1, Total: 1}).Validate(); err != nil {
		t.Fatalf("valid grant: %v", err)
	}
	for _, g := range []activity.Grant{
		{UserID: "u", ActivityID: 1},
		{ID: "g", ActivityID: 1},
		{ID: "g", UserID: "u"},
		{ID: "g", UserID: "u", ActivityID: 1, Day: -1},
	} {
		if err := g.Validate(); !errors.Is(err, activity.ErrInvalid) {
			t.Fatalf("Validate(%+v) = %v, want ErrInvalid", g, err)
		}
	}
}
