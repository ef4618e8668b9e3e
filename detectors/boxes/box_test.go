package boxes

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestIoU(t *testing.T) {
	sq := Box{0, 0, 10, 10}
	for _, tc := range []struct {
		name string
		a, b Box
		want float64 // closed form, from the areas stated
	}{
		{"identical", sq, sq, 1},
		{"disjoint", sq, Box{20, 20, 30, 30}, 0},
		{"touching at an edge", sq, Box{10, 0, 20, 10}, 0},
		{"touching at a corner", sq, Box{10, 10, 20, 20}, 0},
		{"half shifted: 50 / 150", sq, Box{5, 0, 15, 10}, 1.0 / 3},
		{"nested: 36 / 100", sq, Box{2, 2, 8, 8}, 0.36},
		{"crossing bars: 4 / (40 + 40 − 4)", Box{0, 4, 20, 6}, Box{9, -5, 11, 15}, 4.0 / 76},
		{"point inside: 0 / 100", sq, Box{3, 3, 3, 3}, 0},
		{"zero-width line inside: 0 / 100", sq, Box{5, 0, 5, 10}, 0},
		{"same point: union 0 (torchvision NaN)", Box{3, 3, 3, 3}, Box{3, 3, 3, 3}, 0},
		{"same zero-height line: union 0 (torchvision NaN)", Box{0, 5, 10, 5}, Box{0, 5, 10, 5}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, pair := range [][2]Box{{tc.a, tc.b}, {tc.b, tc.a}} {
				got := IoU(nil, []Box{pair[0]}, []Box{pair[1]})
				if len(got) != 1 || math.Abs(got[0]-tc.want) > 1e-15 {
					t.Errorf("IoU(%v, %v) = %v, want %v", pair[0], pair[1], got, tc.want)
				}
			}
		})
	}
}

func TestIoULayoutAndReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := randomBoxes(rng, 5, 100), randomBoxes(rng, 7, 100)
	got := IoU(nil, a, b)
	if len(got) != 35 {
		t.Fatalf("len %d, want 35", len(got))
	}
	for i := range a {
		for j := range b {
			if want := IoU(nil, a[i:i+1], b[j:j+1])[0]; got[i*len(b)+j] != want {
				t.Fatalf("[%d,%d] = %v, want %v (row-major)", i, j, got[i*len(b)+j], want)
			}
		}
	}
	// IoU is symmetric: the transpose of IoU(b, a).
	tr := IoU(nil, b, a)
	for i := range a {
		for j := range b {
			if got[i*len(b)+j] != tr[j*len(a)+i] {
				t.Fatalf("IoU(a, b)[%d,%d] ≠ IoU(b, a)[%d,%d]", i, j, j, i)
			}
		}
	}
	dst := make([]float64, 40)
	if out := IoU(dst, a, b); &out[0] != &dst[0] || len(out) != 35 {
		t.Error("dst with enough capacity was not reused")
	}
	if out := IoU(dst[:0], nil, b); len(out) != 0 {
		t.Errorf("empty a: len %d", len(out))
	}
	if testing.AllocsPerRun(10, func() { IoU(dst, a, b) }) != 0 {
		t.Error("IoU allocates with a large enough dst")
	}
}

func TestArea(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    Box
		want float64 // (x2 − x1)·(y2 − y1)
	}{
		{"square", Box{1, 2, 4, 5}, 9},
		{"zero width", Box{1, 2, 1, 5}, 0},
		{"point", Box{1, 1, 1, 1}, 0},
		{"inverted: negative, as torchvision", Box{4, 0, 1, 2}, -6},
	} {
		if got := tc.b.Area(); got != tc.want {
			t.Errorf("%s: Area(%v) = %v, want %v", tc.name, tc.b, got, tc.want)
		}
	}
	if b := (Box{1, 2, 4, 9}); b.Width() != 3 || b.Height() != 7 {
		t.Errorf("Width, Height of %v = %v, %v", b, b.Width(), b.Height())
	}
}

// randomBoxes returns n valid boxes with corners in [0, extent) and sides in [1, extent/3).
func randomBoxes(rng *rand.Rand, n int, extent float64) []Box {
	out := make([]Box, n)
	for i := range out {
		x, y := rng.Float64()*extent, rng.Float64()*extent
		w, h := 1+rng.Float64()*extent/3, 1+rng.Float64()*extent/3
		out[i] = Box{x, y, x + w, y + h}
	}
	return out
}
