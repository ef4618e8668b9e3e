package boxes

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMatch(t *testing.T) {
	rn := RetinaNetMatcher()
	strict := Matcher{PositiveIoU: 0.5, NegativeIoU: 0.4}
	for _, tc := range []struct {
		name    string
		m       Matcher
		iou     []float64 // [nGT, nAnchors]
		nGT, nA int
		want    []int // by hand from the thresholds
	}{
		{"no gt: all background", rn, nil, 0, 3, []int{-1, -1, -1}},
		{"no anchors", rn, nil, 2, 0, []int{}},
		{"thresholds: 0.5 positive, 0.4 ignore, below background", strict,
			[]float64{0.5, 0.45, 0.4, 0.39, 0}, 1, 5, []int{0, -2, -2, -1, -1}},
		{"best gt wins; ties go to the first gt", strict,
			[]float64{
				0.6, 0.7, 0.1,
				0.8, 0.7, 0.2,
			}, 2, 3, []int{1, 0, -1}},
		{"low quality: gt 1's best anchor (0.3, two ties) matched although < 0.4", rn,
			[]float64{
				0.9, 0.0, 0.0, 0.1,
				0.0, 0.3, 0.3, 0.2,
			}, 2, 4, []int{0, 1, 1, -1}},
		{"low quality gives the anchor its own best gt (torchvision), not the gt it is best for", rn,
			[]float64{
				0.9, 0.45, 0.0, // gt 0
				0.0, 0.44, 0.1, // gt 1: its best anchor 1 overlaps gt 0 more
			}, 2, 3, []int{0, 0, -1}},
		{"low quality: a gt overlapping no anchor adds nothing (torchvision would match all)", rn,
			[]float64{
				0.0, 0.6, 0.2,
				0.0, 0.0, 0.0,
			}, 2, 3, []int{-1, 0, -1}},
		{"without low quality the same gt 1 loses", strict,
			[]float64{
				0.9, 0.0, 0.0, 0.1,
				0.0, 0.3, 0.3, 0.2,
			}, 2, 4, []int{0, -1, -1, -1}},
		{"zero value: everything matched to its best gt", Matcher{},
			[]float64{0, 0.1, 0.3, 0.2}, 2, 2, []int{1, 1}},
		{"equal thresholds: no ignore band", Matcher{PositiveIoU: 0.5, NegativeIoU: 0.5},
			[]float64{0.49, 0.5}, 1, 2, []int{-1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.m.Match(tc.iou, tc.nGT, tc.nA, nil)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
			if ref := refMatch(tc.m, tc.iou, tc.nGT, tc.nA); !slices.Equal(got, ref) {
				t.Errorf("Match = %v, reference %v", got, ref)
			}
		})
	}
}

// refMatch is a direct transcription of the Matcher's definition, with the per-anchor
// best values, argmaxes and per-gt maxima held in their own slices.
func refMatch(m Matcher, iou []float64, nGT, nA int) []int {
	out := make([]int, nA)
	if nGT == 0 {
		for j := range out {
			out[j] = Background
		}
		return out
	}
	best, arg := make([]float64, nA), make([]int, nA)
	for j := range nA {
		best[j] = iou[j]
		for i := 1; i < nGT; i++ {
			if iou[i*nA+j] > best[j] {
				best[j], arg[j] = iou[i*nA+j], i
			}
		}
		switch {
		case best[j] >= m.PositiveIoU:
			out[j] = arg[j]
		case best[j] >= m.NegativeIoU:
			out[j] = Ignore
		default:
			out[j] = Background
		}
	}
	if m.AllowLowQuality && nA > 0 {
		for i := range nGT {
			top := slices.Max(iou[i*nA : (i+1)*nA])
			for j := range nA {
				if top > 0 && iou[i*nA+j] == top {
					out[j] = arg[j]
				}
			}
		}
	}
	return out
}

// TestMatchAgainstReference compares with refMatch on random matrices whose entries are
// multiples of 0.1, so that ties (across gts, across anchors, at the thresholds) are common.
func TestMatchAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	configs := []Matcher{
		RetinaNetMatcher(), {PositiveIoU: 0.5, NegativeIoU: 0.4},
		{PositiveIoU: 0.7, NegativeIoU: 0.3, AllowLowQuality: true}, {PositiveIoU: 0.5, NegativeIoU: 0.5, AllowLowQuality: true},
		{}, {PositiveIoU: 1, NegativeIoU: 0, AllowLowQuality: true},
	}
	dst := make([]int, 0, 4)
	for trial := range 2000 {
		nGT, nA := rng.IntN(6), rng.IntN(40)
		iou := make([]float64, nGT*nA)
		for k := range iou {
			if rng.IntN(3) > 0 { // a third overlap nothing
				iou[k] = float64(rng.IntN(11)) / 10
			}
		}
		for _, m := range configs {
			dst = m.Match(iou, nGT, nA, dst)
			if want := refMatch(m, iou, nGT, nA); !slices.Equal(dst, want) {
				t.Fatalf("trial %d %+v, %d×%d %v:\ngot  %v\nwant %v", trial, m, nGT, nA, iou, dst, want)
			}
		}
	}
}

func TestMatchReusesDst(t *testing.T) {
	iou := []float64{0.9, 0.1, 0.5, 0.2, 0.3, 0.6}
	dst := make([]int, 5)
	m := RetinaNetMatcher()
	if got := m.Match(iou, 2, 3, dst); &got[0] != &dst[0] || len(got) != 3 {
		t.Error("dst with enough capacity was not reused")
	}
	if n := testing.AllocsPerRun(10, func() { m.Match(iou, 2, 3, dst) }); n != 0 {
		t.Errorf("Match allocates %v times with a large enough dst", n)
	}
}
