package strategy

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
)

// Alias is an exact alias table (Vose's method) over the indices 0..Len()-1 of the
// weights it was built from. Sampling costs one or two random draws and one
// comparison, is exact in integers (index i comes out with probability exactly
// w_i / Σw, no floating point anywhere) and never fails.
//
// Construction: weights are divided by their greatest common divisor, then scaled
// by n = len(weights), so that every column holds exactly T = Σw units: the column's
// own index owns the units below its threshold, its alias the rest. One uniform
// draw r in [0, n·T) selects the column r / T and the unit r mod T; when n·T does
// not fit in 64 bits the column and the unit are drawn separately.
//
// Random numbers come from math/rand/v2's top-level functions: the runtime's
// per-thread ChaCha8 generator, seeded from the operating system, without locks.
// An Alias is immutable after NewAlias and safe for concurrent use. The zero value
// is not usable; build one with NewAlias.
type Alias struct {
	total uint64 // T: units per column (Σw after the gcd reduction)
	span  uint64 // n·T, or 0 when it overflows uint64 (two draws then)
	n     uint64
	// magic and shift divide by T without a division instruction:
	// r / T = hi64(r·magic) >> shift for every r < span (checked when built);
	// magic 0 means divide.
	magic uint64
	shift uint
	cols  []aliasColumn
}

// aliasColumn is one column: units below threshold belong to the column's own
// index, the others to alias.
type aliasColumn struct {
	threshold uint64
	alias     uint64
}

// NewAlias builds an alias table from positive relative weights. Weights need not
// sum to RateScale. An empty list, a weight ≤ 0 or a sum beyond int64 returns an
// error wrapping ErrInvalidRule.
func NewAlias(weights []Rate) (*Alias, error) {
	n := len(weights)
	if n == 0 {
		return nil, fmt.Errorf("%w: alias table: no weights", ErrInvalidRule)
	}
	if uint64(n) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: alias table: %d weights is too many", ErrInvalidRule, n)
	}
	var sum, g uint64
	for i, w := range weights {
		if w <= 0 {
			return nil, fmt.Errorf("%w: alias table: weight %d of index %d is not positive", ErrInvalidRule, w, i)
		}
		var carry uint64
		sum, carry = bits.Add64(sum, uint64(w), 0)
		if carry != 0 || sum > math.MaxInt64 {
			return nil, fmt.Errorf("%w: alias table: weights sum beyond int64", ErrInvalidRule)
		}
		g = gcd(g, uint64(w))
	}
	total := sum / g
	a := &Alias{total: total, n: uint64(n), cols: make([]aliasColumn, n)}
	if hi, lo := bits.Mul64(uint64(n), total); hi == 0 {
		a.span = lo
		a.magic, a.shift = reciprocal(total, a.span)
	}

	// Scaled weights n·w_i may exceed 64 bits, so the construction runs in 128-bit
	// integers; every threshold it stores is below T and fits in 64.
	p := make([]u128, n)
	small := make([]int, 0, n)
	large := make([]int, 0, n)
	for i, w := range weights {
		p[i] = mul128(uint64(w)/g, uint64(n))
		if p[i].less(total) {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		l := small[len(small)-1]
		small = small[:len(small)-1]
		gi := large[len(large)-1]
		large = large[:len(large)-1]
		a.cols[l] = aliasColumn{threshold: p[l].lo, alias: uint64(gi)}
		// The large index gives away the units the small one lacks: T - p[l].
		p[gi] = p[gi].sub(total - p[l].lo)
		if p[gi].less(total) {
			small = append(small, gi)
		} else {
			large = append(large, gi)
		}
	}
	// In exact arithmetic the remaining indices hold exactly T units each: the
	// remaining mass is (remaining count)·T and no index left is below T.
	for _, i := range large {
		if p[i] != (u128{lo: total}) {
			return nil, fmt.Errorf("alias table: internal error: column %d holds %v units, want %d", i, p[i], total)
		}
		a.cols[i] = aliasColumn{threshold: total, alias: uint64(i)}
	}
	if len(small) > 0 {
		return nil, fmt.Errorf("alias table: internal error: %d columns left unfilled", len(small))
	}
	return a, nil
}

// Len returns the number of indices the table samples from.
func (a *Alias) Len() int { return len(a.cols) }

// Sample returns an index in [0, Len()) with probability proportional to its
// weight. It does not allocate.
func (a *Alias) Sample() int {
	var col, unit uint64
	switch {
	case a.n == 1:
		return 0
	case a.magic != 0:
		r := rand.Uint64N(a.span)
		hi, _ := bits.Mul64(r, a.magic)
		col = hi >> a.shift
		unit = r - col*a.total
	case a.span != 0:
		r := rand.Uint64N(a.span)
		col, unit = r/a.total, r%a.total
	default:
		col, unit = rand.Uint64N(a.n), rand.Uint64N(a.total)
	}
	c := a.cols[col]
	if unit < c.threshold {
		return int(col)
	}
	return int(c.alias)
}

// mass returns, per index, the number of units the table assigns to it, out of
// Len()·T in total; exact tables give index i exactly n·w_i/gcd units. It reports
// false when a sum does not fit in 64 bits. Tests use it to check exactness.
func (a *Alias) mass() ([]uint64, bool) {
	m := make([]uint64, len(a.cols))
	for j, c := range a.cols {
		var c1, c2 uint64
		m[j], c1 = bits.Add64(m[j], c.threshold, 0)
		m[c.alias], c2 = bits.Add64(m[c.alias], a.total-c.threshold, 0)
		if c1|c2 != 0 {
			return nil, false
		}
	}
	return m, true
}

// reciprocal returns magic and shift such that r / d == hi64(r·magic) >> shift for
// every r < span, or magic 0 when no 64-bit magic number does. With k = 64+shift
// and magic = ⌈2^k / d⌉ = (2^k + e) / d, 0 ≤ e < d, the quotient is exact when
// r·e < 2^k for all r < span (Granlund–Montgomery), which is checked here.
func reciprocal(d, span uint64) (magic uint64, shift uint) {
	if d < 2 || span == 0 {
		return 0, 0
	}
	one := big.NewInt(1)
	bd := new(big.Int).SetUint64(d)
	maxR := new(big.Int).SetUint64(span - 1)
	for s := uint(0); s < 64; s++ {
		k := 64 + s
		pow := new(big.Int).Lsh(one, k)
		m, rem := new(big.Int).QuoRem(pow, bd, new(big.Int))
		if rem.Sign() != 0 {
			m.Add(m, one)
		}
		if m.BitLen() > 64 {
			return 0, 0 // larger shifts only make magic larger
		}
		e := new(big.Int).Sub(new(big.Int).Mul(m, bd), pow)
		if new(big.Int).Mul(maxR, e).Cmp(pow) < 0 {
			return m.Uint64(), s
		}
	}
	return 0, 0
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// u128 is an unsigned 128-bit integer for the table construction.
type u128 struct{ hi, lo uint64 }

func mul128(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi: hi, lo: lo}
}

// less reports whether x < v.
func (x u128) less(v uint64) bool { return x.hi == 0 && x.lo < v }

// sub returns x - v; the caller guarantees x ≥ v.
func (x u128) sub(v uint64) u128 {
	lo, borrow := bits.Sub64(x.lo, v, 0)
	return u128{hi: x.hi - borrow, lo: lo}
}
