package loadtest

import (
	"math"
	"math/bits"
	"time"
)

// The latency histogram is log-linear, like HdrHistogram: values below 2^subBits
// nanoseconds have a bucket each, and every larger power-of-two range is split into
// 2^subBits equal buckets, so a recorded value is known to within 1/2^subBits
// (0.8 %) of itself. Recording is an index computation and an increment; each
// worker owns one histogram and they are merged after the run.
const (
	subBits  = 7
	subCount = 1 << subBits
	// maxBits bounds recorded values to 2^maxBits-1 ns (about 18 minutes);
	// larger ones are clamped.
	maxBits  = 40
	maxValue = 1<<maxBits - 1
	nBuckets = (maxBits-subBits)<<subBits + subCount
)

// histogram counts latencies in fixed buckets. The zero value is empty and ready.
type histogram struct {
	counts [nBuckets]uint64
	n      uint64
	max    int64
}

// bucketOf returns the bucket index of v (0 ≤ v ≤ maxValue).
func bucketOf(v int64) int {
	if v < subCount {
		return int(v)
	}
	l := bits.Len64(uint64(v)) // v has l significant bits, l > subBits
	shift := l - subBits - 1   // keep the top subBits+1 bits
	m := int(v >> shift)       // in [subCount, 2·subCount)
	return (shift+1)<<subBits + m - subCount
}

// bucketHigh returns the largest value that falls in bucket i.
func bucketHigh(i int) int64 {
	if i < 2*subCount {
		return int64(i)
	}
	shift := i>>subBits - 1
	m := int64(i&(subCount-1) + subCount)
	return (m+1)<<shift - 1
}

// record adds one latency; negative durations count as zero.
func (h *histogram) record(d time.Duration) {
	v := int64(d)
	switch {
	case v < 0:
		v = 0
	case v > maxValue:
		v = maxValue
	}
	h.counts[bucketOf(v)]++
	h.n++
	if v > h.max {
		h.max = v
	}
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the latency at or below which a fraction q (0 < q ≤ 1) of the
// recorded values fall: the top of the bucket holding the value of rank ⌈q·n⌉,
// never above the largest value recorded. An empty histogram answers 0.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max))
		}
	}
	return time.Duration(h.max)
}
