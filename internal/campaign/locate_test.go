package campaign_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bigmarket/bigmarket/internal/campaign"
)

// located is a problem's path and place, for comparing.
type located struct {
	Path         string
	Line, Column int
}

func places(ps campaign.Problems) []located {
	out := make([]located, 0, len(ps))
	for _, p := range ps {
		out = append(out, located{p.Path, p.Line, p.Column})
	}
	return out
}

// TestLocateBlockAndFlowStyle: problems in block and flow style rows are
// placed at the value of a scalar, the key of a list, and a missing key at the
// row that lacks it.
func TestLocateBlockAndFlowStyle(t *testing.T) {
	const file = `version: 1
awards:
  - {id: 101, key: user_credit_random, config: "1,100"}
rule_trees:
  - id: t1
    root: rule_stock
    nodes:
      - {key: rule_stock}
      - {key: rule_luck_award, value: "101:1,100"}
    lines:
      - {from: rule_stock, to: rule_luck_award, when: ALLOW}
strategies:
  - id: 1
    awards:
      - {award: 101, title: a, count: 10, rate: abc, tree: t1, sort: 1}
      - award: 101
        title: b
        count: 10
        rate: "0.5"
        tree: missing_tree
        sort: 2
`
	ps := campaign.ValidateBytes([]byte(file))
	if len(ps) == 0 {
		t.Fatal("no problems in a file with a bad rate and a missing tree")
	}
	got := map[string]located{}
	for _, p := range places(ps) {
		got[p.Path] = p
	}
	want := []located{
		{"strategies[0].awards[0].rate", 15, 49},
		{"strategies[0].awards[1].tree", 20, 15},
	}
	for _, w := range want {
		if g, ok := got[w.Path]; !ok || g != w {
			t.Errorf("%s located at %+v, want line %d column %d (all: %+v)", w.Path, g, w.Line, w.Column, ps)
		}
	}
}

// TestLocatePaths resolves paths directly, including the fallbacks: a missing
// key at its row, an index past the end at the list, an unknown first step and
// a problem without a path at line 1, column 1; a syntax error keeps the
// parser's position.
func TestLocatePaths(t *testing.T) {
	const file = `version: 1
timezone: Nowhere/City
strategies:
  - id: 5
    awards:
      - award: 1
        count: 3
      - {award: 2, count: 4}
`
	ps := campaign.Problems{
		{Path: "timezone", Message: "m"},
		{Path: "strategies", Message: "m"},
		{Path: "strategies[0]", Message: "m"},
		{Path: "strategies[0].awards[0].count", Message: "m"},
		{Path: "strategies[0].awards[0].rate", Message: "m"}, // missing: the row
		{Path: "strategies[0].awards[1].count", Message: "m"},
		{Path: "strategies[0].awards[7].count", Message: "m"}, // past the end: the list's key
		{Path: "activities[0].end", Message: "m"},
		{Path: "", Message: "m"},
		{Path: "", Message: "syntax", Line: 9, Column: 4},
	}
	want := []located{
		{"timezone", 2, 11},
		{"strategies", 3, 1},
		{"strategies[0]", 4, 5},
		{"strategies[0].awards[0].count", 7, 16},
		{"strategies[0].awards[0].rate", 6, 9},
		{"strategies[0].awards[1].count", 8, 27},
		{"strategies[0].awards[7].count", 5, 5},
		{"activities[0].end", 1, 1},
		{"", 1, 1},
		{"", 9, 4},
	}
	got := places(ps.Locate([]byte(file)))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("located\n got %+v\nwant %+v", got, want)
	}
	if ps[0].Line != 0 {
		t.Error("Locate modified its receiver")
	}
	// A file that does not parse: everything without a position at 1:1.
	bad := places(campaign.Problems{{Path: "timezone"}}.Locate([]byte("a: [")))
	if bad[0].Line != 1 || bad[0].Column != 1 {
		t.Errorf("unparsable file: %+v, want 1:1", bad)
	}
}

// TestLocateJSON: a JSON campaign file's problems are placed in the JSON text.
func TestLocateJSON(t *testing.T) {
	const file = `{
  "version": 1,
  "strategies": [
    {"id": 1, "awards": [
      {"award": 101, "count": 10, "rate": "abc", "tree": "nope", "sort": 1}
    ]}
  ]
}`
	ps := campaign.Problems{
		{Path: "strategies[0].awards[0].rate"},
		{Path: "strategies[0].awards[0].tree"},
		{Path: "strategies[0].id"},
	}
	want := []located{
		{"strategies[0].awards[0].rate", 5, 43},
		{"strategies[0].awards[0].tree", 5, 58},
		{"strategies[0].id", 4, 12},
	}
	if got := places(ps.Locate([]byte(file))); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("located\n got %+v\nwant %+v", got, want)
	}
}

// TestSyntaxErrorPosition: ValidateBytes gives a syntax error the parser's
// line and column as fields, not only in the message.
func TestSyntaxErrorPosition(t *testing.T) {
	ps := campaign.ValidateBytes([]byte("version: 1\nawards:\n  - {id: 1, key: x\n"))
	if len(ps) != 1 || ps[0].Line < 3 || ps[0].Column < 1 || !strings.Contains(ps[0].Message, fmt.Sprintf("line %d", ps[0].Line)) {
		t.Fatalf("syntax error: %+v, want line ≥ 3 matching the message", ps)
	}
}

// TestDemoProblemsLocated: an error in the demo campaign (the file operators
// start from) is placed on the line edited.
func TestDemoProblemsLocated(t *testing.T) {
	lines := strings.Split(string(campaign.Demo()), "\n")
	at := -1
	for i, l := range lines {
		if strings.Contains(l, "title: 小米台灯") {
			lines[i] = strings.Replace(l, "tree: tree_luck_award", "tree: tree_gone", 1)
			at = i
		}
	}
	if at < 0 {
		t.Fatal("demo campaign has no 小米台灯 row")
	}
	ps := campaign.ValidateBytes([]byte(strings.Join(lines, "\n")))
	if len(ps) != 1 || ps[0].Line != at+1 || !strings.HasSuffix(ps[0].Path, ".tree") {
		t.Fatalf("problems %+v, want one .tree problem on line %d", ps, at+1)
	}
	// Columns count characters (not bytes): the row holds Chinese text.
	if col := utf8.RuneCountInString(lines[at][:strings.Index(lines[at], "tree_gone")]) + 1; ps[0].Column != col {
		t.Errorf("column %d, want %d (characters)", ps[0].Column, col)
	}
}
