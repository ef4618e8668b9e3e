package coco

import (
	"math/bits"
	"math/rand/v2"
)

// rng draws from a PCG stream (a specified algorithm) with this package's own helpers, so the
// synthetic dataset and the loader's epochs do not depend on how math/rand/v2's Rand methods,
// which promise no stable output, turn the stream into numbers.
type rng struct{ src rand.PCG }

func newRNG(seed1, seed2 uint64) *rng {
	r := new(rng)
	r.src.Seed(seed1, seed2)
	return r
}

// intn is uniform on [0, n) (Lemire's multiply-shift with rejection, unbiased).
func (r *rng) intn(n int) int {
	if n <= 0 {
		panic(msgIntnNonPositive)
	}
	un := uint64(n)
	for {
		hi, lo := bits.Mul64(r.src.Uint64(), un)
		if lo >= un || lo >= (-un)%un {
			return int(hi)
		}
	}
}

// intRange is uniform on [lo, hi].
func (r *rng) intRange(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// float is uniform on [0, 1) with 53 random bits.
func (r *rng) float() float64 { return float64(r.src.Uint64()>>11) / (1 << 53) }
