package boxes

import (
	"math"
	"slices"
	"testing"
)

// TestAnchorsByHand: two levels, two scales, aspect ratios 1 and 4 (whose square roots
// are exact). Level 0: stride 4, size 8, a 1×2 map, cell centres (2, 2) and (6, 2).
// Level 1: stride 8, size 16, one cell centred at (4, 4). Side s = size·scale; ratio 1
// gives s × s, ratio 4 gives w = s/2, h = 2s. Types: (×1, r1), (×1, r4), (×2, r1), (×2, r4).
func TestAnchorsByHand(t *testing.T) {
	g := AnchorGenerator{Strides: []int{4, 8}, Sizes: []float64{8, 16}, AspectRatios: []float64{1, 4}, Scales: []float64{1, 2}}
	want := []Box{
		// level 0, y 0, x 0, centre (2, 2): 8×8, 4×16, 16×16, 8×32
		{-2, -2, 6, 6}, {0, -6, 4, 10}, {-6, -6, 10, 10}, {-2, -14, 6, 18},
		// level 0, y 0, x 1, centre (6, 2)
		{2, -2, 10, 6}, {4, -6, 8, 10}, {-2, -6, 14, 10}, {2, -14, 10, 18},
		// level 1, centre (4, 4): 16×16, 8×32, 32×32, 16×64
		{-4, -4, 12, 12}, {0, -12, 8, 20}, {-12, -12, 20, 20}, {-4, -28, 12, 36},
	}
	if g.NumAnchors() != 4 {
		t.Errorf("NumAnchors = %d, want 4", g.NumAnchors())
	}
	got := g.Anchors([]FeatureSize{{H: 1, W: 2}, {H: 1, W: 1}})
	if !slices.Equal(got, want) {
		t.Errorf("Anchors =\n%v\nwant\n%v", got, want)
	}
	if cell := g.CellAnchors(1); !slices.Equal(cell, []Box{{-8, -8, 8, 8}, {-4, -16, 4, 16}, {-16, -16, 16, 16}, {-8, -32, 8, 32}}) {
		t.Errorf("CellAnchors(1) = %v", cell)
	}
}

func TestAnchorCounts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		g     AnchorGenerator
		sizes []FeatureSize
		want  int // Σ H·W·NumAnchors
	}{
		{"RetinaNet, 640×640 image: (80² + 40² + 20² + 10² + 5²)·9",
			RetinaNetAnchors(), []FeatureSize{{80, 80}, {40, 40}, {20, 20}, {10, 10}, {5, 5}}, 8525 * 9},
		{"RetinaNet, 512×320 image", RetinaNetAnchors(), []FeatureSize{{64, 40}, {32, 20}, {16, 10}, {8, 5}, {4, 3}}, (2560 + 640 + 160 + 40 + 12) * 9},
		{"empty ratios and scales mean {1}", AnchorGenerator{Strides: []int{16}, Sizes: []float64{32}}, []FeatureSize{{3, 5}}, 15},
		{"an empty level", RetinaNetAnchors(), []FeatureSize{{2, 2}, {0, 7}, {1, 1}, {0, 0}, {1, 0}}, 5 * 9},
	} {
		if got := len(tc.g.Anchors(tc.sizes)); got != tc.want {
			t.Errorf("%s: %d anchors, want %d", tc.name, got, tc.want)
		}
	}
	if n := RetinaNetAnchors().NumAnchors(); n != 9 {
		t.Errorf("RetinaNet NumAnchors = %d, want 9", n)
	}
}

// TestAnchorGeometry checks every RetinaNet anchor on a 6×6 map against its definition
// (centre, area, aspect ratio) and two symmetries: mirroring the map left–right maps
// anchors onto anchors, and the ratio-r anchor of cell (x, y) is the transpose of the
// ratio-1/r anchor of cell (y, x).
func TestAnchorGeometry(t *testing.T) {
	g := RetinaNetAnchors()
	const n = 6
	sizes := make([]FeatureSize, len(g.Strides))
	for l := range sizes {
		sizes[l] = FeatureSize{n, n}
	}
	all := g.Anchors(sizes)
	A := g.NumAnchors()
	at := func(l, y, x, typ int) Box { return all[(l*n*n+y*n+x)*A+typ] }
	const tol = 1e-9
	for l, stride := range g.Strides {
		s := float64(stride)
		for y := range n {
			for x := range n {
				for si, sc := range g.Scales {
					for ri, r := range g.AspectRatios {
						typ := si*len(g.AspectRatios) + ri
						b := at(l, y, x, typ)
						cx, cy := (b[0]+b[2])/2, (b[1]+b[3])/2
						if math.Abs(cx-(float64(x)+0.5)*s) > tol || math.Abs(cy-(float64(y)+0.5)*s) > tol {
							t.Fatalf("level %d cell (%d,%d) type %d: centre (%v, %v)", l, x, y, typ, cx, cy)
						}
						side := g.Sizes[l] * sc
						if area := b.Area(); math.Abs(area-side*side) > tol*side*side {
							t.Fatalf("area %v, want %v", area, side*side)
						}
						if ar := b.Height() / b.Width(); math.Abs(ar-r) > tol {
							t.Fatalf("h/w %v, want %v", ar, r)
						}
						// mirror: x → n−1−x reflects about the map's centre line n·s/2
						m := at(l, y, n-1-x, typ)
						if math.Abs(m[0]-(n*s-b[2])) > tol || math.Abs(m[2]-(n*s-b[0])) > tol || m[1] != b[1] || m[3] != b[3] {
							t.Fatalf("mirror of %v is %v", b, m)
						}
						// transpose: ratios 0.5 and 2 are reciprocal, 1 is its own
						rt := len(g.AspectRatios) - 1 - ri
						tb := at(l, x, y, si*len(g.AspectRatios)+rt)
						for k, v := range (Box{b[1], b[0], b[3], b[2]}) {
							if math.Abs(tb[k]-v) > tol*(1+math.Abs(v)) {
								t.Fatalf("transpose of %v is %v", b, tb)
							}
						}
					}
				}
			}
		}
	}
}
