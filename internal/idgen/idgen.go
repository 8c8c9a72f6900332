// Package idgen makes identifiers for orders, records and messages that are unique
// across shards and instances without coordination and sort by creation time.
package idgen

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// Generator makes 24-character identifiers: 9 characters of millisecond time, 8 of a
// random instance tag drawn from crypto/rand when the generator is made, and 7 of a
// per-instance counter, in a sortable base-32 alphabet. Two instances collide only if
// their 40-bit tags are equal, about once in 10^12 pairs; within one instance the
// counter makes identifiers distinct. A Generator is safe for concurrent use.
type Generator struct {
	tag uint64
	seq atomic.Uint64
	now func() time.Time
}

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// New returns a generator with a fresh random instance tag. now may be nil, which
// means time.Now.
func New(now func() time.Time) *Generator {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("idgen: crypto/rand: " + err.Error())
	}
	if now == nil {
		now = time.Now
	}
	g := &Generator{tag: binary.BigEndian.Uint64(b[:8]) & (1<<40 - 1), now: now}
	g.seq.Store(binary.BigEndian.Uint64(b[8:]) & (1<<35 - 1))
	return g
}

// Next returns a new identifier.
func (g *Generator) Next() string {
	var out [24]byte
	ms := uint64(g.now().UnixMilli())
	put(out[0:9], ms)
	put(out[9:17], g.tag)
	put(out[17:24], g.seq.Add(1))
	return string(out[:])
}

func put(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = alphabet[v&31]
		v >>= 5
	}
}
