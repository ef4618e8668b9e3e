package dynamic

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sameBits reports whether a and b hold the same float64 bits.
func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

func sameSummary(a, b *Summary) bool {
	return a.Moments.Count == b.Moments.Count && a.Moments.Skipped == b.Moments.Skipped && a.K == b.K &&
		a.Images == b.Images && sameBits(a.Moments.Mean, b.Moments.Mean) && sameBits(a.Moments.M2, b.Moments.M2) &&
		sameBits(a.Smallest, b.Smallest)
}

// summaryCases are summaries of random batches (moments, smallest values, both, images), the
// zero value, and hand-made ones whose fields no Summarize writes (NaN payloads, −0, negative
// counts): the encoding carries bits, not meanings.
func summaryCases() []Summary {
	rng := rand.New(rand.NewPCG(5, 6))
	var out []Summary
	for i, b := range randomStream(rng, 12, 4, []int{0, 1, 2, 37, 300}, 0.1) {
		req := []Requirement{{Moments: true}, {K: 10}, {Moments: true, K: 3}, {K: 40, Source: Target}}[i%4]
		var s Summary
		Summarize(b.pred, b.target, 4, req, &s)
		s.Images = i % 5
		out = append(out, s)
	}
	odd := Summary{K: 2, Images: -1, Smallest: []float64{math.Copysign(0, -1), math.Float64frombits(0x7ff8000000000123)}}
	odd.Moments.Reset(3)
	odd.Moments.Count, odd.Moments.Skipped = -4, math.MaxInt64
	odd.Moments.Mean[1], odd.Moments.M2[2] = math.Inf(-1), math.SmallestNonzeroFloat64
	return append(out, Summary{}, odd)
}

// TestSummaryBinaryRoundTrip: every summary decodes to itself bit for bit, into a zero Summary
// and into one holding another summary's storage, and AppendBinary appends what MarshalBinary
// returns.
func TestSummaryBinaryRoundTrip(t *testing.T) {
	cases := summaryCases()
	for i := range cases {
		s := &cases[i]
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if want := 1 + 16*s.Dim() + 8*len(s.Smallest); len(b) < want || len(b) > want+4*10+2*10 {
			t.Errorf("case %d: %d bytes for D = %d and %d smallest values", i, len(b), s.Dim(), len(s.Smallest))
		}
		for _, dst := range []Summary{{}, cases[(i+1)%len(cases)]} {
			dst.Smallest = slices.Clone(dst.Smallest) // not to write the other case's storage
			dst.Moments.Mean, dst.Moments.M2 = slices.Clone(dst.Moments.Mean), slices.Clone(dst.Moments.M2)
			if err := dst.UnmarshalBinary(b); err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			if !sameSummary(&dst, s) {
				t.Errorf("case %d: decoded %+v, want %+v", i, dst, *s)
			}
		}
		prefix := []byte("abc")
		a, err := s.AppendBinary(slices.Clone(prefix))
		if err != nil || !bytes.Equal(a, append(prefix, b...)) {
			t.Errorf("case %d: AppendBinary = %x, %v; want %x after %q", i, a, err, b, prefix)
		}
	}
}

// TestSummaryBinaryMerge: merging decoded summaries in rank order is merging the originals:
// the same bits, so every rank of a data-parallel run gets the same merged summary.
func TestSummaryBinaryMerge(t *testing.T) {
	cases := summaryCases()[:8]
	var direct, decoded Summary
	for i := range cases {
		if cases[i].Validate() != nil {
			continue
		}
		b, _ := cases[i].MarshalBinary()
		var d Summary
		if err := d.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if err := direct.Merge(&cases[i]); err != nil {
			t.Fatal(err)
		}
		if err := decoded.Merge(&d); err != nil {
			t.Fatal(err)
		}
	}
	if direct.Moments.Count == 0 || !sameSummary(&direct, &decoded) {
		t.Errorf("merged decoded %+v, merged originals %+v", decoded, direct)
	}
}

func TestSummaryBinaryErrors(t *testing.T) {
	s := summaryCases()[2]
	good, _ := s.MarshalBinary()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"version 2", append([]byte{2}, good[1:]...)},
		{"trailing byte", append(slices.Clone(good), 0)},
		{"D beyond the data", []byte{1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0}},
		{"smallest beyond the data", []byte{1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"overlong varint", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"varint not in its shortest form", []byte{1, 0x80, 0x00, 0, 0, 0, 0, 0}}, // the zero Summary is 1 0 0 0 0 0 0
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := summaryCases()[3]
			before := dst
			before.Smallest = slices.Clone(dst.Smallest)
			before.Moments.Mean = slices.Clone(dst.Moments.Mean)
			if err := dst.UnmarshalBinary(tc.data); !errors.Is(err, ErrBadSummary) {
				t.Fatalf("error %v, want ErrBadSummary", err)
			}
			if !sameSummary(&dst, &before) {
				t.Errorf("a failed decode changed the summary: %+v, was %+v", dst, before)
			}
		})
	}
	for n := range len(good) { // every truncation
		var dst Summary
		if err := dst.UnmarshalBinary(good[:n]); !errors.Is(err, ErrBadSummary) {
			t.Errorf("truncated to %d of %d bytes: error %v, want ErrBadSummary", n, len(good), err)
		}
	}
	uneven := s
	uneven.Moments.M2 = uneven.Moments.M2[:2]
	if b, err := uneven.AppendBinary([]byte{7}); !errors.Is(err, ErrBadSummary) || !bytes.Equal(b, []byte{7}) {
		t.Errorf("M2 shorter than Mean: %x, %v; want [7] and ErrBadSummary", b, err)
	}
}

// FuzzSummaryBinary decodes arbitrary bytes. Invariants: no panic; a decoded summary encodes
// back to the same bytes (the form is canonical: one encoding per summary).
func FuzzSummaryBinary(f *testing.F) {
	for _, s := range summaryCases() {
		b, _ := s.MarshalBinary()
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Summary
		if err := s.UnmarshalBinary(data); err != nil {
			return
		}
		b, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("decoded %+v encodes to %x (%v), was %x", s, b, err, data)
		}
	})
}
