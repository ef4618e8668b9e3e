package boxes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomGenerator returns an anchor configuration with one to three levels, strides 1 to 64
// (not necessarily increasing), sizes from a pixel to several images, and up to three ratios
// and scales, with feature maps of up to 12 cells a side (some empty).
func randomGenerator(rng *rand.Rand) (AnchorGenerator, []FeatureSize) {
	var g AnchorGenerator
	var sizes []FeatureSize
	for range 1 + rng.IntN(3) {
		g.Strides = append(g.Strides, 1<<rng.IntN(7))
		g.Sizes = append(g.Sizes, math.Exp2(rng.Float64()*10))
		sizes = append(sizes, FeatureSize{H: rng.IntN(13), W: rng.IntN(13)})
	}
	for range rng.IntN(4) {
		g.AspectRatios = append(g.AspectRatios, math.Exp2(rng.Float64()*4-2))
	}
	for range rng.IntN(4) {
		g.Scales = append(g.Scales, math.Exp2(rng.Float64()*2-1))
	}
	return g, sizes
}

// randomGT returns n boxes of every kind the matcher may be handed, in an image of side
// extent: ordinary boxes, boxes clipped at or crossing the borders, tiny and zero-size boxes,
// boxes larger than the image, boxes whose edges are an anchor's edges (touching, so IoU 0,
// or exactly equal), inverted boxes, and a few with coordinates beyond ±2⁴⁰, infinite or NaN.
func randomGT(rng *rand.Rand, n int, extent float64, anchors []Box) []Box {
	out := make([]Box, n)
	for i := range out {
		x, y := rng.Float64()*extent, rng.Float64()*extent
		w, h := rng.Float64()*extent/2, rng.Float64()*extent/2
		b := Box{x, y, x + w, y + h}
		switch k := rng.IntN(20); {
		case k < 6: // ordinary
		case k == 6: // clipped to the image
			b = Box{max(b[0]-extent/3, 0), max(b[1]-extent/3, 0), min(b[2]+extent/3, extent), min(b[3], extent)}
		case k == 7: // the whole image, or beyond it
			b = Box{0, 0, extent, extent}
			if rng.IntN(2) == 0 {
				b = Box{-extent, -2 * extent, 3 * extent, 5 * extent}
			}
		case k == 8: // tiny
			b[2], b[3] = b[0]+rng.Float64()*1e-6, b[1]+rng.Float64()*1e-3
		case k == 9: // zero width or height
			if rng.IntN(2) == 0 {
				b[2] = b[0]
			} else {
				b[3] = b[1]
			}
		case k < 14 && len(anchors) > 0: // an anchor's edges: equal, touching, or nudged
			a := anchors[rng.IntN(len(anchors))]
			switch rng.IntN(4) {
			case 0:
				b = a
			case 1: // touching on the right: IoU 0
				b = Box{a[2], a[1], a[2] + w, a[3]}
			case 2: // touching below
				b = Box{a[0], a[3], a[2], a[3] + h}
			default:
				for q := range b {
					b[q] = a[q] + (rng.Float64()-0.5)*1e-9
				}
			}
		case k == 14: // inverted
			b[0], b[2] = b[2]+1, b[0]
		case k == 15: // huge, within the window limit and beyond it
			s := []float64{1e6, 1e11, 1e13, 1e300}[rng.IntN(4)]
			b = Box{-s * rng.Float64(), -s * rng.Float64(), s * rng.Float64(), s * rng.Float64()}
			if rng.IntN(3) == 0 { // a width that overflows to +Inf times a zero height: NaN areas
				b = Box{-math.MaxFloat64, y, math.MaxFloat64, y}
			}
		case k == 16: // not finite
			b[rng.IntN(4)] = []float64{math.Inf(1), math.Inf(-1), math.NaN()}[rng.IntN(3)]
		case k == 17: // on a grid of whole pixels, so that edges coincide with anchors'
			for q := range b {
				b[q] = math.Round(b[q])
			}
		default: // a duplicate of an earlier box: ties across ground truths
			if i > 0 {
				b = out[rng.IntN(i)]
			}
		}
		out[i] = b
	}
	return out
}

// sameFloat reports whether a and b are the same float64, bit for bit, or both NaN.
func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// TestGridOverlapsAgainstIoU: Overlaps lists every anchor whose dense IoU with the box is not
// zero, each with the dense IoU bit for bit, in increasing order; every anchor it leaves out
// has a dense IoU of exactly ±0.
func TestGridOverlapsAgainstIoU(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var idx []int
	var vals []float64
	for trial := range 3000 {
		g, sizes := randomGenerator(rng)
		grid := g.Grid(sizes)
		anchors := grid.Anchors()
		if !slices.Equal(anchors, g.Anchors(sizes)) {
			t.Fatalf("trial %d: Grid's anchors differ from Anchors", trial)
		}
		extent := float64(g.Strides[0] * max(sizes[0].W, 1))
		for _, b := range randomGT(rng, 4, extent, anchors) {
			dense := IoU(nil, []Box{b}, anchors)
			idx, vals = grid.Overlaps(idx[:0], vals[:0], b)
			if !slices.IsSorted(idx) || len(slices.Compact(slices.Clone(idx))) != len(idx) {
				t.Fatalf("trial %d, box %v: indices not increasing: %v", trial, b, idx)
			}
			listed := make([]bool, len(anchors))
			for q, j := range idx {
				listed[j] = true
				if !sameFloat(vals[q], dense[j]) {
					t.Fatalf("trial %d, box %v, anchor %d %v: IoU %v, dense %v", trial, b, j, anchors[j], vals[q], dense[j])
				}
			}
			for j, v := range dense {
				if !listed[j] && v != 0 {
					t.Fatalf("trial %d (%+v %v), box %v: anchor %d %v left out with IoU %v", trial, g, sizes, b, j, anchors[j], v)
				}
			}
		}
	}
}

// TestMatchGridAgainstMatch: MatchGrid gives exactly Match's labels on the dense IoU matrix
// (the oracle), over random anchor layouts, ground-truth sets of 0 to 40 boxes of every kind
// randomGT makes, and matcher configurations with and without low-quality matches, an
// ignore band, equal thresholds and zero thresholds. One scratch is reused throughout, as a
// detector reuses it between images.
func TestMatchGridAgainstMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	configs := []Matcher{
		RetinaNetMatcher(), {PositiveIoU: 0.5, NegativeIoU: 0.4},
		{PositiveIoU: 0.7, NegativeIoU: 0.3, AllowLowQuality: true}, {PositiveIoU: 0.5, NegativeIoU: 0.5, AllowLowQuality: true},
		{}, {AllowLowQuality: true}, {PositiveIoU: 1, NegativeIoU: 0, AllowLowQuality: true},
	}
	var s MatchScratch
	var got []int
	for trial := range 3000 {
		g, sizes := randomGenerator(rng)
		if trial%10 == 0 { // the detector's own layout
			g, sizes = RetinaNetAnchors(), []FeatureSize{{16, 16}, {8, 8}, {4, 4}, {2, 2}, {1, 1}}
		}
		grid := g.Grid(sizes)
		anchors := grid.Anchors()
		extent := float64(g.Strides[0] * max(sizes[0].W, 1))
		n := []int{0, 1, 2, 5, 40}[rng.IntN(5)]
		gt := randomGT(rng, n, extent, anchors)
		iou := IoU(nil, gt, anchors)
		for _, m := range configs {
			want := m.Match(iou, len(gt), len(anchors), nil)
			got = m.MatchGrid(got, gt, grid, &s)
			if !slices.Equal(got, want) {
				for j := range got {
					if got[j] != want[j] {
						t.Fatalf("trial %d %+v, %+v on %v, gt %v: anchor %d %v: MatchGrid %d, Match %d",
							trial, m, g, sizes, gt, j, anchors[j], got[j], want[j])
					}
				}
			}
		}
	}
}

// TestMatchGridAllocs: with a large enough dst and a grown scratch, MatchGrid allocates
// nothing.
func TestMatchGridAllocs(t *testing.T) {
	grid := RetinaNetAnchors().Grid([]FeatureSize{{16, 16}, {8, 8}, {4, 4}, {2, 2}, {1, 1}})
	gt := randomBoxes(rand.New(rand.NewPCG(1, 2)), 6, 128)
	m := RetinaNetMatcher()
	var s MatchScratch
	dst := m.MatchGrid(nil, gt, grid, &s)
	if n := testing.AllocsPerRun(10, func() { dst = m.MatchGrid(dst, gt, grid, &s) }); n != 0 {
		t.Errorf("MatchGrid allocates %v times with a grown scratch", n)
	}
	if got := m.MatchGrid(nil, gt, grid, nil); !slices.Equal(got, dst) {
		t.Error("a nil scratch gives other labels")
	}
}

func TestMatchGridPanics(t *testing.T) {
	grid := RetinaNetAnchors().Grid([]FeatureSize{{2, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 1}})
	defer func() {
		if r := recover(); r != msgBadConfig {
			t.Errorf("panic %v, want %q", r, msgBadConfig)
		}
	}()
	Matcher{PositiveIoU: 0.3, NegativeIoU: 0.4}.MatchGrid(nil, nil, grid, nil)
}

func BenchmarkMatchGrid(b *testing.B) {
	g := RetinaNetAnchors()
	sizes := []FeatureSize{{80, 80}, {40, 40}, {20, 20}, {10, 10}, {5, 5}}
	grid := g.Grid(sizes)
	rng := rand.New(rand.NewPCG(3, 3))
	for _, nGT := range []int{1, 10, 50} {
		gt := randomBoxes(rng, nGT, 600)
		m := RetinaNetMatcher()
		var s MatchScratch
		dst := make([]int, grid.Len())
		b.Run(fmt.Sprintf("gt=%d/anchors=%d/dense", nGT, grid.Len()), func(b *testing.B) {
			var iou []float64
			for b.Loop() {
				iou = IoU(iou, gt, grid.Anchors())
				dst = m.Match(iou, nGT, grid.Len(), dst)
			}
		})
		b.Run(fmt.Sprintf("gt=%d/anchors=%d/grid", nGT, grid.Len()), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dst = m.MatchGrid(dst, gt, grid, &s)
			}
		})
	}
}
