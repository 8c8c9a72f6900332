package campaign

import (
	"fmt"
	"strings"
)

// Describe says what an apply upserted, for people: "revision 3: 2
// strategies, 8 awards, …" (kinds with no rows are left out).
func (s Summary) Describe() string {
	var parts []string
	for _, k := range []struct {
		n    int
		name string
	}{
		{s.Strategies, "strategies"}, {s.Awards, "awards"}, {s.Trees, "rule trees"}, {s.Activities, "activities"},
		{s.Counts, "counts"}, {s.SKUs, "SKUs"}, {s.Rebates, "rebates"}, {s.Stages, "stages"}, {s.Grants, "grants"},
	} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing upserted")
	}
	return fmt.Sprintf("revision %d: %s", s.Revision, strings.Join(parts, ", "))
}
