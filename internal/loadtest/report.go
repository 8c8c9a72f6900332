package loadtest

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
)

// WriteTable prints the report as aligned text: totals and rates, latency
// percentiles, codes (most frequent first, with their meaning), awards by id, and
// the stock check when it ran. It returns the first write error.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	p("requests\t%d\t%.1f/s\n", r.Requests, r.Throughput.Requests)
	p("successful draws\t%d\t%.1f/s\n", r.Codes[codeSuccess], r.Throughput.Draws)
	p("transport errors\t%d\t\n", r.Errors)
	if r.MissingAward > 0 {
		p("draws without award\t%d\tSERVER BUG: a draw must return an award\n", r.MissingAward)
	}
	p("elapsed\t%s\t\n", r.Elapsed.Round(time.Millisecond))
	p("latency\tp50 %s  p95 %s  p99 %s  max %s\n", fmtDur(r.P50), fmtDur(r.P95), fmtDur(r.P99), fmtDur(r.Max))
	if d := r.Delivery; d != nil {
		state := "all delivered"
		if !d.Complete {
			state = "NOT all delivered"
		}
		over := ""
		if d.Over {
			over = " (past the last bucket)"
		}
		p("delivery\t%d of %d\t%s %s after the run; lag p50 %s  p99 %s%s\n", d.Delivered, d.Wanted, state,
			d.Waited.Round(time.Millisecond), fmtDur(d.P50), fmtDur(d.P99), over)
	} else if r.DeliveryNote != "" {
		p("delivery\tnot measured\t%s\n", r.DeliveryNote)
	}

	if len(r.Codes) > 0 {
		p("\ncode\tcount\tmeaning\n")
		codes := slices.SortedFunc(maps.Keys(r.Codes), func(a, b string) int {
			return cmp.Or(cmp.Compare(r.Codes[b], r.Codes[a]), cmp.Compare(a, b))
		})
		for _, c := range codes {
			p("%s\t%d\t%s\n", c, r.Codes[c], codeMeaning(c))
		}
	}
	if len(r.Awards) > 0 {
		p("\naward\tcount\tshare\n")
		total := 0
		for _, n := range r.Awards {
			total += n
		}
		for _, id := range slices.Sorted(maps.Keys(r.Awards)) {
			n := r.Awards[id]
			p("%d\t%d\t%.2f%%\n", id, n, 100*float64(n)/float64(total))
		}
	}
	if sc := r.StockCheck; sc != nil {
		verdict := "passed"
		if !sc.Passed() {
			verdict = "FAILED"
		}
		p("\nstock check: %s (%d awards)\n", verdict, len(sc.Rows))
		p("strategy\taward\tstock\ttaken\trecorded\t\n")
		for _, row := range sc.Rows {
			mark := ""
			if row.Taken > row.Count || row.Recorded > row.Count {
				mark = "OVERSOLD"
			}
			p("%d\t%d\t%d\t%d\t%d\t%s\n", row.StrategyID, row.AwardID, row.Count, row.Taken, row.Recorded, mark)
		}
		for _, v := range sc.Violations {
			p("violation: %s\n", v)
		}
	}
	return tw.Flush()
}

// fmtDur prints a latency in s, ms (two decimals) or whole µs.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	case d >= time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
	default:
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64) + "µs"
	}
}

// codeMeaning names the envelope codes of DESIGN §6.
func codeMeaning(code string) string {
	switch code {
	case "0000":
		return "success"
	case "0001":
		return "failure"
	case "0002":
		return "illegal parameter"
	case "0003":
		return "duplicate or bad token"
	case "0004":
		return "degraded"
	case "0005":
		return "rate limited"
	case "0006":
		return "circuit broken / time budget"
	case "0007":
		return "gateway failure"
	case "0008":
		return "app token refused"
	case "ERR_BIZ_001":
		return "rule_weight not configured"
	case "ERR_BIZ_002":
		return "strategy not assembled"
	case "ERR_BIZ_003":
		return "activity not open"
	case "ERR_BIZ_004":
		return "activity not in date"
	case "ERR_BIZ_005":
		return "SKU stock insufficient"
	case "ERR_BIZ_006":
		return "total quota insufficient"
	case "ERR_BIZ_007":
		return "month quota insufficient"
	case "ERR_BIZ_008":
		return "day quota insufficient"
	case "ERR_BIZ_009":
		return "raffle order already used"
	case "ERR_CONFIG_001":
		return "award config not a range"
	case "ERR_CREDIT_001":
		return "credit insufficient"
	}
	return ""
}
