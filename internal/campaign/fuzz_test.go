package campaign

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseValidate feeds arbitrary bytes to Parse and Validate: they must never
// panic, a parse failure must be a *ParseError, problems and a campaign are
// exclusive, every problem is located inside the text, and a valid campaign must
// export to a file that validates cleanly and exports to the same bytes.
//
// Minimizing an input derived from the 13 KB demo seed takes long, so bound it:
//
//	go test -run '^$' -fuzz FuzzParseValidate -fuzzminimizetime 2x -fuzztime 120s ./internal/campaign
func FuzzParseValidate(f *testing.F) {
	f.Add(Demo())
	f.Add([]byte(base))
	f.Add([]byte(full))
	f.Add([]byte(`{"version": 1, "awards": [{"id": 1, "key": "k", "config": 0.10}]}`))
	f.Add([]byte("version: 1\nawards: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %v is not a *ParseError", err)
			}
			return
		}
		c, ps := Validate(file)
		if len(ps) > 0 {
			if c != nil {
				t.Fatal("Validate returned a campaign and problems")
			}
			for _, p := range ps {
				if p.Message == "" {
					t.Fatalf("problem without a message at %q", p.Path)
				}
			}
			// Every problem is placed inside the text.
			lines := bytes.Count(data, []byte("\n")) + 1
			for _, p := range ps.Locate(data) {
				if p.Line < 1 || p.Line > lines || p.Column < 1 {
					t.Fatalf("problem %q located at %d:%d in a text of %d lines", p.String(), p.Line, p.Column, lines)
				}
			}
			return
		}
		out, err := Export(c)
		if err != nil {
			t.Fatalf("Export: %v", err)
		}
		file2, err := Parse(out)
		if err != nil {
			t.Fatalf("exported file does not parse: %v\n%s", err, out)
		}
		c2, ps := Validate(file2)
		if len(ps) > 0 {
			t.Fatalf("exported file has problems: %v\n%s", ps.Strings(), out)
		}
		out2, err := Export(c2)
		if err != nil {
			t.Fatalf("Export: %v", err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("export not stable:\n%s\n---\n%s", out, out2)
		}
		if !sameCampaign(c, c2) {
			t.Fatalf("round trip changed the campaign\n%s", out)
		}
	})
}
