package data

import (
	"hash/fnv"
)

// Hash64 is a stable 64-bit hash of s: FNV-1a followed by the splitmix64
// finalizer (Steele et al. 2014), so that nearby strings ("12+34", "12+35")
// land on unrelated values and the top bits can be used as a uniform number
// in [0,1) for splitting items between training and held-out sets. The value
// never changes between Go releases or platforms.
func Hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return mix64(h.Sum64())
}

// mix64 is the splitmix64 finalizer.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// Unit maps a hash to [0,1) using its top 53 bits.
func Unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }
