package campaign

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// Export writes c as a campaign file in YAML, in the shape of
// shared/campaigns/demo.yaml: one flow mapping per row, block mappings for rule
// trees and strategies. Rows are sorted by id (SKUs by sku, grants by their string
// id); tree nodes and lines, strategy awards and strategy rules keep their stored
// order (rules are the chain). Rates are written with strategy.Rate.String, prices
// with money.Amount.String, times in RFC 3339 in the campaign time zone (the
// server's when c.Timezone is nil, which also omits the timezone key). Empty
// strings are omitted; text that is not valid UTF-8 is written with U+FFFD in place
// of the bad bytes. Parsing, validating and exporting the result again gives the
// same bytes. Export returns an error only for a nil campaign; it does not
// validate c.
func Export(c *Campaign) ([]byte, error) {
	if c == nil {
		return nil, errors.New("campaign: export: nil campaign")
	}
	loc := c.Timezone
	if loc == nil {
		loc = time.Local
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "version: %d\n", c.Version)
	if c.Timezone != nil {
		fmt.Fprintf(&b, "timezone: %s\n", scalar(c.Timezone.String()))
	}

	if len(c.Awards) > 0 {
		b.WriteString("\nawards:\n")
		awards := slices.Clone(c.Awards)
		slices.SortStableFunc(awards, func(x, y award.Award) int { return cmp.Compare(x.ID, y.ID) })
		for _, a := range awards {
			var f flow
			f.int("id", a.ID)
			f.str("key", string(a.Key))
			f.quoted("config", a.Config)
			f.str("desc", a.Desc)
			f.item(&b, 1)
		}
	}

	if len(c.Trees) > 0 {
		b.WriteString("\nrule_trees:\n")
		trees := slices.Clone(c.Trees)
		slices.SortStableFunc(trees, func(x, y strategy.Tree) int { return cmp.Compare(x.ID, y.ID) })
		for _, t := range trees {
			fmt.Fprintf(&b, "  - id: %s\n", scalar(t.ID))
			field(&b, "name", t.Name)
			field(&b, "desc", t.Desc)
			field(&b, "root", string(t.Root))
			if len(t.Nodes) > 0 {
				b.WriteString("    nodes:\n")
				for _, n := range t.Nodes {
					var f flow
					f.str("key", string(n.Key))
					f.quoted("value", n.Value)
					f.str("desc", n.Desc)
					f.item(&b, 3)
				}
			}
			if len(t.Lines) > 0 {
				b.WriteString("    lines:\n")
				for _, l := range t.Lines {
					var f flow
					f.str("from", string(l.From))
					f.str("to", string(l.To))
					f.str("when", string(l.When))
					f.item(&b, 3)
				}
			}
		}
	}

	if len(c.Strategies) > 0 {
		b.WriteString("\nstrategies:\n")
		strategies := slices.Clone(c.Strategies)
		slices.SortStableFunc(strategies, func(x, y strategy.Strategy) int { return cmp.Compare(x.ID, y.ID) })
		for _, s := range strategies {
			fmt.Fprintf(&b, "  - id: %d\n", s.ID)
			field(&b, "desc", s.Desc)
			field(&b, "weight_match", string(s.WeightMatch))
			if len(s.Rules) > 0 {
				b.WriteString("    rules:\n")
				for _, r := range s.Rules {
					var f flow
					f.str("model", string(r.Model))
					f.quoted("value", r.Value)
					f.str("desc", r.Desc)
					f.item(&b, 3)
				}
			}
			if len(s.Awards) > 0 {
				b.WriteString("    awards:\n")
				for _, a := range s.Awards {
					var f flow
					f.int("award", a.AwardID)
					f.str("title", a.Title)
					f.str("subtitle", a.Subtitle)
					f.int("count", a.Count)
					f.quoted("rate", a.Rate.String())
					f.str("tree", a.TreeID)
					f.int("sort", int64(a.Sort))
					f.str("image", a.Image)
					f.item(&b, 3)
				}
			}
		}
	}

	if len(c.Activities) > 0 {
		b.WriteString("\nactivities:\n")
		acts := slices.Clone(c.Activities)
		slices.SortStableFunc(acts, func(x, y activity.Activity) int { return cmp.Compare(x.ID, y.ID) })
		for _, a := range acts {
			var f flow
			f.int("id", a.ID)
			f.str("name", a.Name)
			f.str("desc", a.Desc)
			f.int("strategy", a.StrategyID)
			f.str("state", string(a.State))
			f.quoted("begin", a.Begin.In(loc).Format(timeLayout))
			f.quoted("end", a.End.In(loc).Format(timeLayout))
			f.item(&b, 1)
		}
	}

	if len(c.Counts) > 0 {
		b.WriteString("\ncounts:\n")
		counts := slices.Clone(c.Counts)
		slices.SortStableFunc(counts, func(x, y activity.Count) int { return cmp.Compare(x.ID, y.ID) })
		for _, n := range counts {
			var f flow
			f.int("id", n.ID)
			f.int("total", n.Total)
			f.int("day", n.Day)
			f.int("month", n.Month)
			f.item(&b, 1)
		}
	}

	if len(c.SKUs) > 0 {
		b.WriteString("\nskus:\n")
		skus := slices.Clone(c.SKUs)
		slices.SortStableFunc(skus, func(x, y activity.SKU) int { return cmp.Compare(x.SKU, y.SKU) })
		for _, s := range skus {
			var f flow
			f.int("sku", s.SKU)
			f.int("activity", s.ActivityID)
			f.int("count", s.CountID)
			f.int("stock", s.Stock)
			f.quoted("price", s.Price.String())
			f.item(&b, 1)
		}
	}

	if len(c.Rebates) > 0 {
		b.WriteString("\nrebates:\n")
		rebates := slices.Clone(c.Rebates)
		slices.SortStableFunc(rebates, func(x, y rebate.Rule) int { return cmp.Compare(x.ID, y.ID) })
		for _, r := range rebates {
			var f flow
			f.int("id", r.ID)
			f.str("behavior", r.Behavior)
			f.str("type", string(r.Type))
			f.quoted("config", r.Config)
			f.str("desc", r.Desc)
			f.str("state", string(r.State))
			f.item(&b, 1)
		}
	}

	if len(c.Stages) > 0 {
		b.WriteString("\nstages:\n")
		stages := slices.Clone(c.Stages)
		slices.SortStableFunc(stages, func(x, y activity.Stage) int { return cmp.Compare(x.ID, y.ID) })
		for _, s := range stages {
			var f flow
			f.int("id", s.ID)
			f.str("channel", s.Channel)
			f.str("source", s.Source)
			f.int("activity", s.ActivityID)
			f.str("state", string(s.State))
			f.item(&b, 1)
		}
	}

	if len(c.Grants) > 0 {
		b.WriteString("\ngrants:\n")
		grants := slices.Clone(c.Grants)
		slices.SortStableFunc(grants, func(x, y activity.Grant) int { return cmp.Compare(x.ID, y.ID) })
		for _, g := range grants {
			var f flow
			f.str("id", g.ID)
			f.str("user", g.UserID)
			f.int("activity", g.ActivityID)
			f.int("total", g.Total)
			f.int("day", g.Day)
			f.int("month", g.Month)
			f.item(&b, 1)
		}
	}
	return b.Bytes(), nil
}

// flow builds one flow mapping "{k: v, …}".
type flow []string

// str adds a string field, omitted when empty.
func (f *flow) str(k, v string) {
	if v != "" {
		*f = append(*f, k+": "+scalar(v))
	}
}

// quoted adds a string field always double-quoted (values that look like numbers
// or rules), omitted when empty.
func (f *flow) quoted(k, v string) {
	if v != "" {
		*f = append(*f, k+": "+quote(v))
	}
}

func (f *flow) int(k string, n int64) {
	*f = append(*f, k+": "+strconv.FormatInt(n, 10))
}

// item writes the mapping as a sequence item at the given indentation level.
func (f flow) item(b *bytes.Buffer, level int) {
	b.WriteString(strings.Repeat("  ", level))
	b.WriteString("- {")
	b.WriteString(strings.Join(f, ", "))
	b.WriteString("}\n")
}

// field writes a block mapping field of a sequence item, omitted when empty.
func field(b *bytes.Buffer, k, v string) {
	if v != "" {
		fmt.Fprintf(b, "    %s: %s\n", k, scalar(v))
	}
}

// scalar writes s plain when that is unambiguous, else double-quoted.
func scalar(s string) string {
	if plainSafe(s) {
		return s
	}
	return quote(s)
}

// reserved are plain words YAML reads as something other than a string.
var reserved = map[string]bool{
	"null": true, "true": true, "false": true, "yes": true, "no": true,
	"on": true, "off": true, "y": true, "n": true,
}

// plainSafe reports whether s reads back as the same string when written as a
// plain scalar inside a flow mapping. It is deliberately conservative: a letter
// first, then letters, digits, marks, printable non-ASCII and a few punctuation
// marks that are not YAML indicators anywhere in a flow scalar.
func plainSafe(s string) bool {
	if s == "" || !utf8.ValidString(s) || strings.TrimSpace(s) != s || reserved[strings.ToLower(s)] {
		return false
	}
	for i, r := range s {
		switch {
		case i == 0:
			if !unicode.IsLetter(r) {
				return false
			}
		case r < utf8.RuneSelf:
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-./()+&@ ", r)) {
				return false
			}
		case !unicode.IsPrint(r):
			return false
		}
	}
	return !strings.Contains(s, "  ")
}

// quote writes s as a YAML double-quoted scalar, escaping quotes, backslashes and
// every non-printable character. Invalid UTF-8 becomes U+FFFD.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == ' ' || (r < utf8.RuneSelf && unicode.IsPrint(r)):
			b.WriteRune(r)
		case r >= utf8.RuneSelf && unicode.IsPrint(r) && r != utf8.RuneError:
			b.WriteRune(r)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
