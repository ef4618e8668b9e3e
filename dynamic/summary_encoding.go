package dynamic

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The binary form of a Summary, for the ranks of a data-parallel run to exchange (each sends
// its shard's summary; every rank merges all of them in rank order):
//
//	version byte (1)
//	varint Count, Skipped, K, Images   (signed varints, encoding/binary)
//	uvarint D, uvarint len(Smallest)
//	D × Mean, D × M2, len(Smallest) × Smallest   (float64 bits, little-endian)
//
// Floats travel as their bits, so a decoded Summary equals the encoded one bit for bit, NaN
// payloads and signed zeros included; four columns and ten smallest values take about 120
// bytes.
const summaryEncodingVersion = 1

// AppendBinary appends the binary form of s to b (encoding.BinaryAppender) and returns the
// extended buffer. Moments.Mean and M2 of different lengths are an error wrapping
// ErrBadSummary (b is then returned as it was); the values are not checked.
func (s *Summary) AppendBinary(b []byte) ([]byte, error) {
	m := &s.Moments
	if len(m.M2) != len(m.Mean) {
		return b, fmt.Errorf("%w: len(Moments.M2) = %d, len(Moments.Mean) = %d", ErrBadSummary, len(m.M2), len(m.Mean))
	}
	b = append(b, summaryEncodingVersion)
	for _, v := range []int64{m.Count, m.Skipped, int64(s.K), int64(s.Images)} {
		b = binary.AppendVarint(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Mean)))
	b = binary.AppendUvarint(b, uint64(len(s.Smallest)))
	for _, xs := range [][]float64{m.Mean, m.M2, s.Smallest} {
		for _, v := range xs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b, nil
}

// MarshalBinary returns the binary form of s (encoding.BinaryMarshaler); see AppendBinary.
func (s *Summary) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary sets s to the Summary encoded in data by MarshalBinary, reusing s's slices.
// Data that is truncated, has trailing bytes, another version, a number not in its shortest
// form, or lengths that do not fit is an error wrapping ErrBadSummary, and s is then unchanged. It checks the form, not the
// values: Merge and the schedulers validate those.
func (s *Summary) UnmarshalBinary(data []byte) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: binary form: %s", ErrBadSummary, fmt.Sprintf(format, a...))
	}
	if len(data) == 0 {
		return bad("empty")
	}
	if data[0] != summaryEncodingVersion {
		return bad("version %d, this build reads version %d", data[0], summaryEncodingVersion)
	}
	p := data[1:]
	// Each varint must be the shortest form of its value: one encoding per summary.
	var scratch [binary.MaxVarintLen64]byte
	var ints [4]int64
	for i := range ints {
		v, n := binary.Varint(p)
		if n <= 0 || n != binary.PutVarint(scratch[:], v) {
			return bad("truncated or malformed header")
		}
		ints[i], p = v, p[n:]
	}
	var lens [2]uint64
	for i := range lens {
		v, n := binary.Uvarint(p)
		if n <= 0 || n != binary.PutUvarint(scratch[:], v) {
			return bad("truncated or malformed header")
		}
		lens[i], p = v, p[n:]
	}
	if int64(ints[2]) != int64(int(ints[2])) || int64(ints[3]) != int64(int(ints[3])) {
		return bad("K %d or Images %d does not fit an int", ints[2], ints[3])
	}
	d, k := lens[0], lens[1]
	// Bounded before anything is multiplied or allocated: a lying length must not overflow.
	if d > uint64(len(p))/16 || k > (uint64(len(p))-16*d)/8 || uint64(len(p)) != 16*d+8*k {
		return bad("%d bytes of floats for D = %d and %d smallest values", len(p), d, k)
	}
	floats := func(dst []float64, n uint64) []float64 {
		dst = dst[:0]
		for range n {
			dst = append(dst, math.Float64frombits(binary.LittleEndian.Uint64(p)))
			p = p[8:]
		}
		return dst
	}
	m := &s.Moments
	m.Count, m.Skipped, s.K, s.Images = ints[0], ints[1], int(ints[2]), int(ints[3])
	m.Mean = floats(m.Mean, d)
	m.M2 = floats(m.M2, d)
	s.Smallest = floats(s.Smallest, k)
	if d == 0 {
		m.Mean, m.M2 = nil, nil // the zero value's dimension 0
	}
	return nil
}
