package simulator

import "hash/fnv"

// Everything random in the simulator is a hash of the seed and of what is being decided
// (report, minute, event, field, call number), never a stateful generator: any value can
// be recomputed on its own, in any order, from any goroutine.

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hash combines parts into one well-mixed value.
func hash(parts ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, p := range parts {
		h = mix(h ^ mix(p+0x632be59bd9b4e019))
	}
	return h
}

// strHash is a stable hash of a name (report, field).
func strHash(s string) uint64 {
	f := fnv.New64a()
	_, _ = f.Write([]byte(s)) // hash.Hash.Write never fails
	return f.Sum64()
}

// unit maps h to [0,1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// between maps h to [lo, hi] (inclusive); hi < lo gives lo.
func between(h uint64, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + int64(h%uint64(hi-lo+1))
}
