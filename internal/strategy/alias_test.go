package strategy

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// chiSquareCritical holds the chi-square critical values at p = 0.001 by degrees
// of freedom.
var chiSquareCritical = map[int]float64{
	1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467, 5: 20.515,
	6: 22.458, 7: 24.322, 8: 26.124, 9: 27.877, 10: 29.588,
}

// chiSquare returns the chi-square statistic of observed counts against relative
// weights, its degrees of freedom and the critical value at p = 0.001. Cells
// expected below 5 are merged (smallest first), as statisticians do.
func chiSquare(observed []int, weights []float64) (stat, crit float64, df int, err error) {
	var n int
	var wsum float64
	for i := range observed {
		n += observed[i]
		wsum += weights[i]
	}
	type cell struct{ obs, exp float64 }
	cells := make([]cell, len(observed))
	for i := range observed {
		cells[i] = cell{float64(observed[i]), float64(n) * weights[i] / wsum}
	}
	slices.SortFunc(cells, func(a, b cell) int { return cmp.Compare(a.exp, b.exp) })
	var merged []cell
	var cur cell
	for _, c := range cells {
		cur.obs += c.obs
		cur.exp += c.exp
		if cur.exp >= 5 {
			merged = append(merged, cur)
			cur = cell{}
		}
	}
	if cur.exp > 0 || cur.obs > 0 {
		if len(merged) == 0 {
			return 0, 0, 0, fmt.Errorf("too few draws for a chi-square test")
		}
		merged[len(merged)-1].obs += cur.obs
		merged[len(merged)-1].exp += cur.exp
	}
	df = len(merged) - 1
	crit, ok := chiSquareCritical[df]
	if !ok {
		return 0, 0, df, fmt.Errorf("no critical value for df=%d", df)
	}
	for _, c := range merged {
		d := c.obs - c.exp
		stat += d * d / c.exp
	}
	return stat, crit, df, nil
}

// checkChiSquare fails t when the counts that sample draws do not fit the weights
// at p = 0.001. A sample past the critical value is drawn again, independently,
// and the test fails only if that one is past it too: a real deviation of the
// sizes these tests look for fails both samples, while a chance failure of a
// correct sampler (1 in 1 000 per check, and the suite runs dozens) would need
// two, 1 in 10^6.
func checkChiSquare(t *testing.T, name string, sample func() []int, weights []float64) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		observed := sample()
		stat, crit, df, err := chiSquare(observed, weights)
		switch {
		case err != nil:
			t.Fatalf("%s: %v", name, err)
		case stat <= crit:
			t.Logf("%s: chi-square %.3f ≤ %.3f (df=%d)", name, stat, crit, df)
			return
		case attempt == 1:
			t.Logf("%s: chi-square %.3f > %.3f (df=%d) on the first sample; drawing a second", name, stat, crit, df)
		default:
			t.Errorf("%s: chi-square %.3f > %.3f (df=%d, p=0.001) on two independent samples: observed %v, weights %v", name, stat, crit, df, observed, weights)
			return
		}
	}
}

func ratesOf(s Strategy) []Rate {
	out := make([]Rate, len(s.Awards))
	for i, a := range s.Awards {
		out[i] = a.Rate
	}
	return out
}

func floats[T ~int64](ws []T) []float64 {
	out := make([]float64, len(ws))
	for i, w := range ws {
		out[i] = float64(w)
	}
	return out
}

// hugeWeights overflow n·T in 64 bits, forcing the two-draw path.
var hugeWeights = []Rate{1 << 60, 1<<60 + 7, 1 << 61, 1<<59 + 1, 3 << 58}

func TestAliasExactMass(t *testing.T) {
	cases := map[string][]Rate{
		"single": {7},
		"equal":  {5, 5, 5, 5},
		"huge":   hugeWeights,
		"tiny":   {1, 1_000_000, 3, 999_999},
	}
	for _, s := range demoStrategies() {
		cases[fmt.Sprint("strategy ", s.ID)] = ratesOf(s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		ws := make([]Rate, 1+r.IntN(40))
		for j := range ws {
			ws[j] = Rate(1 + r.Int64N(RateScale))
		}
		cases[fmt.Sprint("random ", i)] = ws
	}
	for name, ws := range cases {
		a, err := NewAlias(ws)
		if err != nil {
			t.Fatalf("%s: NewAlias: %v", name, err)
		}
		m, ok := a.mass()
		if !ok {
			// Sums beyond 64 bits: check with big integers instead.
			checkMassBig(t, name, a, ws)
			continue
		}
		var g uint64
		for _, w := range ws {
			g = gcd(g, uint64(w))
		}
		for i, w := range ws {
			if want := uint64(len(ws)) * (uint64(w) / g); m[i] != want {
				t.Errorf("%s: index %d holds %d units, want %d (exact n·w/gcd)", name, i, m[i], want)
			}
		}
	}
}

// checkMassBig checks exactness for tables whose masses overflow 64 bits.
func checkMassBig(t *testing.T, name string, a *Alias, ws []Rate) {
	t.Helper()
	m := make([]*big.Int, len(ws))
	for i := range m {
		m[i] = new(big.Int)
	}
	for j, c := range a.cols {
		m[j].Add(m[j], new(big.Int).SetUint64(c.threshold))
		m[c.alias].Add(m[c.alias], new(big.Int).SetUint64(a.total-c.threshold))
	}
	var g uint64
	for _, w := range ws {
		g = gcd(g, uint64(w))
	}
	for i, w := range ws {
		want := new(big.Int).Mul(big.NewInt(int64(len(ws))), new(big.Int).SetUint64(uint64(w)/g))
		if m[i].Cmp(want) != 0 {
			t.Errorf("%s: index %d holds %v units, want %v", name, i, m[i], want)
		}
	}
}

func TestAliasRejectsBadWeights(t *testing.T) {
	for name, ws := range map[string][]Rate{
		"empty":    nil,
		"zero":     {1, 0},
		"negative": {5, -1},
		"overflow": {math.MaxInt64, 1},
	} {
		if _, err := NewAlias(ws); !errors.Is(err, ErrInvalidRule) {
			t.Errorf("%s: NewAlias = %v, want ErrInvalidRule", name, err)
		}
	}
}

func TestAliasUsesTwoDrawsOnlyOnOverflow(t *testing.T) {
	small, _ := NewAlias(ratesOf(demoStrategy(t, 100001)))
	if small.span == 0 {
		t.Errorf("demo table should sample with one draw")
	}
	huge, _ := NewAlias(hugeWeights)
	if huge.span != 0 {
		t.Errorf("huge weights should overflow n·T and use two draws")
	}
}

// TestAliasChiSquare samples the demo strategies' tables and huge weights (two-draw
// path) and checks the distribution at p = 0.001; no sample is out of range.
func TestAliasChiSquare(t *testing.T) {
	const draws = 200_000
	cases := []struct {
		name   string
		ws     []Rate
		divide bool // force the division instruction path
	}{
		{"100001", ratesOf(demoStrategy(t, 100001)), false},
		{"100001 division path", ratesOf(demoStrategy(t, 100001)), true},
		{"100002 (rates sum to 0.61)", ratesOf(demoStrategy(t, 100002)), false},
		{"100005", ratesOf(demoStrategy(t, 100005)), false},
		{"10007", ratesOf(demoStrategy(t, 10007)), false},
		{"huge weights", hugeWeights, false},
		{"tiny cell merged", []Rate{1, 500_000, 500_000}, false},
	}
	for _, c := range cases {
		a, err := NewAlias(c.ws)
		if err != nil {
			t.Fatal(err)
		}
		if c.divide {
			a.magic = 0
		}
		checkChiSquare(t, c.name, func() []int {
			obs := make([]int, len(c.ws))
			for range draws {
				i := a.Sample()
				if i < 0 || i >= len(obs) {
					t.Fatalf("%s: Sample() = %d out of range", c.name, i)
				}
				obs[i]++
			}
			return obs
		}, floats(c.ws))
	}
}

// TestChiSquareDetectsBias proves the test can fail: a 1-point bias over
// 100 000 draws is far beyond the critical value, and merging works.
func TestChiSquareDetectsBias(t *testing.T) {
	a, _ := NewAlias([]Rate{300_000, 200_000, 500_000})
	obs := make([]int, 3)
	for range 100_000 {
		obs[a.Sample()]++
	}
	stat, crit, _, err := chiSquare(obs, []float64{0.31, 0.19, 0.5})
	if err != nil || stat <= crit {
		t.Errorf("biased weights: chi-square %.3f, critical %.3f, err %v: bias not detected", stat, crit, err)
	}
	_, _, df, err := chiSquare([]int{0, 1, 2, 10, 10}, []float64{0.001, 0.001, 0.1, 0.5, 0.5})
	if err != nil || df != 1 {
		t.Errorf("merging tiny cells: df = %d, err %v; want df 1", df, err)
	}
}

func BenchmarkSample(b *testing.B) {
	a, err := NewAlias(ratesOf(demoStrategy(b, 100001)))
	if err != nil {
		b.Fatal(err)
	}
	var sink int
	b.ReportAllocs()
	for b.Loop() {
		sink += a.Sample()
	}
	_ = sink
}

func BenchmarkSampleParallel(b *testing.B) {
	a, err := NewAlias(ratesOf(demoStrategy(b, 100001)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var sink int
		for pb.Next() {
			sink += a.Sample()
		}
		_ = sink
	})
}

// TestReciprocalDividesExactly compares the multiply-shift division with the
// division instruction, at the edges of the range and at random points.
func TestReciprocalDividesExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	divisors := []uint64{2, 3, 7, 10_000, 999_999, 1_000_000, 1<<32 - 1, 1 << 32, 1<<32 + 1, 6_700_417}
	for range 200 {
		divisors = append(divisors, 2+r.Uint64N(1<<40))
	}
	fast := 0
	for _, d := range divisors {
		for _, n := range []uint64{2, 3, 9, 40, 1000, 1 << 20} {
			hi, span := bits.Mul64(n, d)
			if hi != 0 {
				continue
			}
			m, s := reciprocal(d, span)
			if m == 0 {
				continue
			}
			fast++
			check := func(x uint64) {
				q, _ := bits.Mul64(x, m)
				if q>>s != x/d {
					t.Fatalf("d=%d span=%d x=%d: magic gives %d, want %d", d, span, x, q>>s, x/d)
				}
			}
			for x := uint64(0); x < 2000 && x < span; x++ {
				check(x)
				check(span - 1 - x)
			}
			for c := uint64(1); c < n && c < 2000; c++ { // around column boundaries
				check(c*d - 1)
				check(c * d)
			}
			for range 2000 {
				check(r.Uint64N(span))
			}
		}
	}
	if fast < len(divisors) {
		t.Errorf("only %d of %d cases had a magic number", fast, len(divisors)*6)
	}
	if a, _ := NewAlias(ratesOf(demoStrategy(t, 100001))); a.magic == 0 {
		t.Errorf("demo table divides with the division instruction")
	}
}
