package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/campaign"
)

// problemItems is the items list of a validate or apply answer.
type problemItems struct {
	Problems []string
	Items    []struct {
		Path, Message string
		Line, Column  int
	}
}

// TestCampaignProblemItemsLocated: validate and apply answer each problem of
// the submitted text as an item with its path, message, line and column (the
// place of the bad value), beside the problems strings; a syntax error carries
// the parser's position; a valid file answers empty lists.
func TestCampaignProblemItemsLocated(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	lines := strings.Split(string(campaign.Demo()), "\n")
	rateLine, treeLine := -1, -1
	for i, l := range lines {
		switch {
		case rateLine < 0 && strings.Contains(l, "title: 小米台灯"):
			lines[i] = strings.Replace(l, `rate: "0.03"`, `rate: abc`, 1)
			rateLine = i
		case treeLine < 0 && strings.Contains(l, "title: 暴走玩偶"):
			lines[i] = strings.Replace(l, "tree: tree_luck_award", "tree: tree_missing", 1)
			treeLine = i
		}
	}
	if rateLine < 0 || treeLine < 0 {
		t.Fatal("demo campaign lacks the rows this test edits")
	}
	bad := strings.Join(lines, "\n")
	col := func(line int, s string) int {
		return utf8.RuneCountInString(lines[line][:strings.Index(lines[line], s)]) + 1
	}
	wantRate := struct{ line, column int }{rateLine + 1, col(rateLine, "abc")}
	wantTree := struct{ line, column int }{treeLine + 1, col(treeLine, "tree_missing")}

	for _, path := range []string{"/api/admin/v1/campaign/validate", "/api/admin/v1/campaign/apply"} {
		env := do(t, h, scenario{method: "POST", path: path, admin: true, body: bad})
		if env.Code != "0002" {
			t.Fatalf("%s: code %s, want 0002", path, env.Code)
		}
		var p problemItems
		if err := json.Unmarshal(env.Data, &p); err != nil {
			t.Fatalf("%s: data %s: %v", path, env.Data, err)
		}
		if len(p.Items) != 2 || len(p.Problems) != 2 {
			t.Fatalf("%s: %d items, %d problems, want 2 each: %s", path, len(p.Items), len(p.Problems), env.Data)
		}
		for i, it := range p.Items {
			if p.Problems[i] != it.Path+": "+it.Message {
				t.Errorf("%s: problem %q does not match item %+v", path, p.Problems[i], it)
			}
			var want struct{ line, column int }
			switch {
			case strings.HasSuffix(it.Path, ".rate"):
				want = wantRate
			case strings.HasSuffix(it.Path, ".tree"):
				want = wantTree
			default:
				t.Errorf("%s: unexpected item %+v", path, it)
				continue
			}
			if it.Line != want.line || it.Column != want.column {
				t.Errorf("%s: %s at %d:%d, want %d:%d", path, it.Path, it.Line, it.Column, want.line, want.column)
			}
		}
	}

	// A syntax error: one item without a path, at the parser's position.
	env := do(t, h, scenario{method: "POST", path: "/api/admin/v1/campaign/validate", admin: true, body: "version: 1\nawards:\n  - {id: 1, key: x\n"})
	var p problemItems
	if err := json.Unmarshal(env.Data, &p); err != nil || env.Code != "0002" || len(p.Items) != 1 || p.Items[0].Line < 3 || p.Items[0].Path != "" {
		t.Fatalf("syntax error: %s %s (%v)", env.Code, env.Data, err)
	}

	// A valid file: empty lists, not null.
	env = do(t, h, scenario{method: "POST", path: "/api/admin/v1/campaign/validate", admin: true, body: string(campaign.Demo())})
	if env.Code != "0000" || string(env.Data) != `{"problems":[],"items":[]}` {
		t.Fatalf("valid file: %s %s", env.Code, env.Data)
	}
}
