package loadtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsTileTheRangeWithSmallRelativeWidth(t *testing.T) {
	// Every bucket starts right after the previous one ends, and is at most
	// 1/subCount of its values wide.
	low := int64(0)
	for i := range nBuckets {
		high := bucketHigh(i)
		if high < low {
			t.Fatalf("bucket %d: high %d < low %d", i, high, low)
		}
		if bucketOf(low) != i || bucketOf(high) != i {
			t.Fatalf("bucket %d [%d, %d]: bucketOf gives %d and %d", i, low, high, bucketOf(low), bucketOf(high))
		}
		if width := high - low + 1; low >= subCount && width*subCount > low {
			t.Fatalf("bucket %d [%d, %d]: width %d > low/%d", i, low, high, width, subCount)
		}
		low = high + 1
	}
	if low-1 != maxValue {
		t.Fatalf("last bucket ends at %d, want %d", low-1, maxValue)
	}
}

func TestQuantilesMatchSortedValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := make([]time.Duration, 100_000)
	var parts [4]histogram // recorded by "workers", then merged
	for i := range values {
		// log-uniform between 1µs and 1s, like a latency tail
		v := time.Duration(float64(time.Microsecond) * math.Pow(10, rng.Float64()*6))
		values[i] = v
		parts[i%len(parts)].record(v)
	}
	var h histogram
	for i := range parts {
		h.merge(&parts[i])
	}
	slices.Sort(values)
	if h.n != uint64(len(values)) || time.Duration(h.max) != values[len(values)-1] {
		t.Fatalf("n %d max %s, want %d and %s", h.n, time.Duration(h.max), len(values), values[len(values)-1])
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
		exact := values[int(float64(len(values))*q+0.999999)-1]
		got := h.quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/subCount {
			t.Errorf("quantile %.3f = %s, exact %s: want within +%.2f%%", q, got, exact, 100.0/subCount)
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	var h histogram
	if h.quantile(0.5) != 0 {
		t.Errorf("empty quantile = %s, want 0", h.quantile(0.5))
	}
	h.record(-time.Second)
	h.record(time.Hour) // clamped to maxValue
	if h.quantile(0.5) != 0 || h.quantile(1) != maxValue || time.Duration(h.max) != maxValue {
		t.Errorf("p50 %s p100 %s max %d: want 0, %d, %d", h.quantile(0.5), h.quantile(1), h.max, int64(maxValue), int64(maxValue))
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h histogram
	d := 1234567 * time.Nanosecond
	for i := 0; b.Loop(); i++ {
		h.record(d + time.Duration(i&1023))
	}
}
