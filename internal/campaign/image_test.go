package campaign

import (
	"strings"
	"testing"
)

// TestAwardImage: an award image is a path on the server's own origin or a
// base64 image data: URL; anything that would make a page load from another
// host is refused. Valid images survive export and apply.
func TestAwardImage(t *testing.T) {
	const png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	bad := map[string]string{
		"https://cdn.example.com/p.png":   "another host",
		"http://localhost:8091/p.png":     "another host",
		"//cdn.example.com/p.png":         "another host",
		"javascript:alert(1)":             "another host",
		"img/p.png":                       "another host",
		"data:text/html;base64,PGgxPg==":  "base64 PNG",
		"data:image/png,rawbytes":         "base64 PNG",
		"data:image/png;base64,!!!":       "not valid base64",
		"/img/a b.png":                    "may not hold spaces",
		`/img/"onload=x.png`:              "may not hold spaces",
		"/" + strings.Repeat("a", 70_000): "longer than",
	}
	for img, msg := range bad {
		f := mustParse(t, []byte(base))
		f.Strategies[0].Awards[0].Image = img
		c, ps := Validate(f)
		if c != nil || len(ps) != 1 || ps[0].Path != "strategies[0].awards[0].image" || !strings.Contains(ps[0].Message, msg) {
			t.Errorf("image %.40q: problems %v, want one at strategies[0].awards[0].image containing %q", img, ps.Strings(), msg)
		}
	}
	for _, img := range []string{"", "/img/prize-1.png", "/static/奖品.svg", png} {
		f := mustParse(t, []byte(base))
		f.Strategies[0].Awards[0].Image = img
		c, ps := Validate(f)
		if len(ps) > 0 {
			t.Fatalf("image %.40q: %v", img, ps.Strings())
		}
		if got := c.Strategies[0].Awards[0].Image; got != img {
			t.Fatalf("validated image %.40q, want %.40q", got, img)
		}
		out := mustExport(t, c)
		if again := mustValidate(t, out); again.Strategies[0].Awards[0].Image != img {
			t.Fatalf("image %.40q lost in export:\n%s", img, out)
		}
	}
}
