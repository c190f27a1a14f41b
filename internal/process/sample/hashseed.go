package sample

import "waymark/internal/model"

// The Collector's hash_seed mode hashes into 2^14 buckets.
const (
	numHashBuckets   = 0x4000
	bucketMask       = numHashBuckets - 1
	hashBucketShift  = 42 // bucket bits sit at the top of the 56-bit threshold
	fnvOffsetBasis32 = 0x811c9dc5
	fnvPrime32       = 0x01000193
)

// hashSeedPolicy is a hash_seed percentage in the Collector's units.
type hashSeedPolicy struct {
	scaled    uint32    // keep iff bucket < scaled
	threshold Threshold // scaled re-expressed as an OTEP 235 threshold
}

// newHashSeedPolicy scales a percentage exactly as the Collector does: in
// float32, truncated toward zero.
func newHashSeedPolicy(pct float64) hashSeedPolicy {
	const percentageScaleFactor = numHashBuckets / 100.0
	scaled := uint32(float32(pct) * float32(percentageScaleFactor))
	if scaled > numHashBuckets {
		scaled = numHashBuckets
	}
	return hashSeedPolicy{scaled: scaled, threshold: Threshold(numHashBuckets-scaled) << hashBucketShift}
}

// hashTraceID is FNV-1a-32 over the seed's four little-endian bytes followed
// by the 16 trace ID bytes in wire order.
func hashTraceID(seed uint32, id model.TraceID) uint32 {
	h := uint32(fnvOffsetBasis32)
	for i := 0; i < 4; i++ {
		h ^= seed >> (8 * i) & 0xff
		h *= fnvPrime32
	}
	for _, b := range id {
		h ^= uint32(b)
		h *= fnvPrime32
	}
	return h
}

// hashSeedRandomness expresses a hash as the OTEP 235 randomness the
// Collector writes in "rv": the inverted bucket on top, so that R >= T
// exactly when bucket < scaled, then bits mixed from the rest of the hash,
// then the bucket again.
func hashSeedRandomness(h uint32) Randomness {
	bucket := uint64(h & bucketMask)
	u := uint64(h >> 18)
	m := u ^ (u << 10)
	return Randomness((bucketMask-bucket)<<hashBucketShift | m<<14 | bucket)
}
