package boxes

import (
	"fmt"
	"math"
)

// FeatureSize is the height and width, in cells, of one feature-map level.
type FeatureSize struct{ H, W int }

// AnchorGenerator places anchors on the cells of a feature pyramid, as detectron2's
// DefaultAnchorGenerator with offset 0.5. On level l (stride s = Strides[l]) the cell
// (x, y) is centred at
//
//	((x + 0.5)·s, (y + 0.5)·s)
//
// and carries NumAnchors() anchors, one per (scale, ratio) pair, with
//
//	side = Sizes[l]·scale,   w = side/√ratio,   h = ratio·w     (area side², h/w = ratio)
//
// Order: level-major, then row y, then column x, then anchor type t = iScale·
// len(AspectRatios) + iRatio (scale-major, as detectron2; torchvision's AnchorGenerator
// is ratio-major and centres anchors at (x·s, y·s)). The anchor of level l, cell (x, y),
// type t is at index offset(l) + (y·W + x)·NumAnchors() + t.
//
// Empty AspectRatios or Scales mean {1}.
type AnchorGenerator struct {
	Strides      []int     // per level, in pixels, > 0
	Sizes        []float64 // per level, the anchor side at scale 1 in pixels, > 0
	AspectRatios []float64 // h/w, > 0
	Scales       []float64 // multipliers of Sizes[l], > 0
}

// RetinaNetAnchors returns the anchor configuration of RetinaNet (Lin et al., 2017) on
// pyramid levels P3–P7: strides 8…128, sizes 32…512, aspect ratios 0.5, 1, 2 and scales
// 2^0, 2^(1/3), 2^(2/3): 9 anchors per cell.
func RetinaNetAnchors() AnchorGenerator {
	return AnchorGenerator{
		Strides:      []int{8, 16, 32, 64, 128},
		Sizes:        []float64{32, 64, 128, 256, 512},
		AspectRatios: []float64{0.5, 1, 2},
		Scales:       []float64{1, math.Exp2(1.0 / 3), math.Exp2(2.0 / 3)},
	}
}

// NumAnchors returns the number of anchors per cell, len(Scales)·len(AspectRatios)
// (an empty list counting as one entry).
func (g AnchorGenerator) NumAnchors() int {
	return max(len(g.Scales), 1) * max(len(g.AspectRatios), 1)
}

// Validate reports no level, a stride that is not positive, a Sizes list of another
// length than Strides, and a size, ratio or scale that is not positive and finite.
func (g AnchorGenerator) Validate() error {
	if len(g.Strides) == 0 {
		return &ConfigError{"AnchorGenerator", "Strides", g.Strides, "must name at least one level"}
	}
	for i, s := range g.Strides {
		if s <= 0 {
			return &ConfigError{"AnchorGenerator", fmt.Sprintf("Strides[%d]", i), s, "must be positive"}
		}
	}
	if len(g.Sizes) != len(g.Strides) {
		return &ConfigError{"AnchorGenerator", "Sizes", g.Sizes, fmt.Sprintf("must have one entry per level (%d)", len(g.Strides))}
	}
	for _, f := range []struct {
		name string
		v    []float64
	}{{"Sizes", g.Sizes}, {"AspectRatios", g.AspectRatios}, {"Scales", g.Scales}} {
		for i, v := range f.v {
			if !(v > 0) || math.IsInf(v, 1) {
				return &ConfigError{"AnchorGenerator", fmt.Sprintf("%s[%d]", f.name, i), v, "must be positive and finite"}
			}
		}
	}
	return nil
}

// CellAnchors returns the NumAnchors() anchors of level l centred at (0, 0), in anchor
// type order. It panics if g.Validate() fails or l is not a level.
func (g AnchorGenerator) CellAnchors(l int) []Box {
	if g.Validate() != nil {
		panic(msgBadConfig)
	}
	return g.cellAnchors(nil, l)
}

func (g AnchorGenerator) cellAnchors(dst []Box, l int) []Box {
	ratios, scales := g.AspectRatios, g.Scales
	if len(ratios) == 0 {
		ratios = []float64{1}
	}
	if len(scales) == 0 {
		scales = []float64{1}
	}
	dst = dst[:0]
	for _, sc := range scales {
		side := g.Sizes[l] * sc
		for _, r := range ratios {
			w := math.Sqrt(side * side / r)
			h := r * w
			dst = append(dst, Box{-w / 2, -h / 2, w / 2, h / 2})
		}
	}
	return dst
}

// Anchors returns the anchors of all levels for feature maps of the given sizes, one
// FeatureSize per level, in the documented order: Σ H·W·NumAnchors() boxes. It panics if
// len(sizes) ≠ len(g.Strides), a size is negative, or g.Validate() fails.
func (g AnchorGenerator) Anchors(sizes []FeatureSize) []Box {
	if g.Validate() != nil {
		panic(msgBadConfig)
	}
	if len(sizes) != len(g.Strides) {
		panic(msgLengthMismatch)
	}
	total := 0
	for _, fs := range sizes {
		if fs.H < 0 || fs.W < 0 {
			panic(msgNegativeCount)
		}
		total += fs.H * fs.W
	}
	out := make([]Box, 0, total*g.NumAnchors())
	var cell []Box
	for l, fs := range sizes {
		cell = g.cellAnchors(cell, l)
		stride := float64(g.Strides[l])
		for y := range fs.H {
			cy := (float64(y) + 0.5) * stride
			for x := range fs.W {
				cx := (float64(x) + 0.5) * stride
				for _, c := range cell {
					out = append(out, Box{cx + c[0], cy + c[1], cx + c[2], cy + c[3]})
				}
			}
		}
	}
	return out
}
