package boxes

import (
	"fmt"
	"math"
)

// DefaultScaleClamp is log(1000/16) ≈ 4.135 (the float64 that math.Log and Python's
// math.log give), the largest dw and dh, after dividing by the weights, that Decode
// exponentiates. It exists to stop exp() of a large predicted dw or dh from overflowing
// (to +Inf above 709) or from producing absurd boxes early in training, when the
// regression head's outputs are still arbitrary: a decoded box is at most 1000/16 = 62.5
// times its anchor's width or height (a 16-pixel anchor grows to 1000 pixels at most).
// torchvision and detectron2 use the same value.
const DefaultScaleClamp = 4.135166556742356

// Coder encodes ground-truth boxes as regression targets relative to anchors and decodes
// predicted deltas back to boxes: the inverse pair of torchvision's BoxCoder and
// detectron2's Box2BoxTransform.
//
// With anchor centre (ax, ay) and size (aw, ah), ground truth (gx, gy, gw, gh) (centre
// x1 + w/2, width x2 − x1, no +1) and Weights (wx, wy, ww, wh):
//
//	dx = wx·(gx − ax)/aw      dy = wy·(gy − ay)/ah
//	dw = ww·log(gw/aw)        dh = wh·log(gh/ah)
//
// Decode inverts it, clamping dw/ww and dh/wh at ScaleClamp from above before exp().
//
// The zero value is the default coder: zero Weights mean (1, 1, 1, 1) (RetinaNet) and a
// zero ScaleClamp means DefaultScaleClamp; math.Inf(1) disables the clamp. Faster R-CNN's
// box head uses Weights (10, 10, 5, 5).
type Coder struct {
	Weights    [4]float64 // wx, wy, ww, wh; all > 0, or all 0 for (1, 1, 1, 1)
	ScaleClamp float64    // > 0, or 0 for DefaultScaleClamp
}

// Validate reports a Weights entry that is not positive and finite (unless all four are
// 0), or a ScaleClamp that is negative or NaN.
func (c Coder) Validate() error {
	if c.Weights != [4]float64{} {
		for i, w := range c.Weights {
			if !(w > 0) || math.IsInf(w, 1) {
				return &ConfigError{"Coder", fmt.Sprintf("Weights[%d]", i), w, "must be positive and finite (or all four 0 for the defaults)"}
			}
		}
	}
	if !(c.ScaleClamp >= 0) {
		return &ConfigError{"Coder", "ScaleClamp", c.ScaleClamp, "must be positive, 0 (default) or +Inf"}
	}
	return nil
}

// resolved returns the weights and the clamp with the zero-value defaults applied; it
// panics if Validate fails.
func (c Coder) resolved() (w [4]float64, clamp float64) {
	if c.Validate() != nil {
		panic(msgBadConfig)
	}
	w, clamp = c.Weights, c.ScaleClamp
	if w == [4]float64{} {
		w = [4]float64{1, 1, 1, 1}
	}
	if clamp == 0 {
		clamp = DefaultScaleClamp
	}
	return w, clamp
}

// Encode writes the deltas of gt[i] relative to anchors[i] to dst[4i:4i+4] as (dx, dy,
// dw, dh) and returns dst[:4·len(anchors)] (the [N, 4] layout of package static), as
// torchvision's BoxCoder.encode_single(gt, anchors) in float64. dst is reused when its
// capacity suffices. anchors and gt must have the same length; otherwise Encode panics.
//
// Anchors must have positive width and height and ground truths too: a zero anchor side
// divides by zero and a zero ground-truth side gives log(0) = −Inf, as in torchvision.
// Filter degenerate boxes first. Encode panics if c.Validate() fails.
func (c Coder) Encode(dst []float64, anchors, gt []Box) []float64 {
	if len(gt) != len(anchors) {
		panic(msgLengthMismatch)
	}
	w, _ := c.resolved()
	n := 4 * len(anchors)
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	for i, a := range anchors {
		g := gt[i]
		aw, ah := a[2]-a[0], a[3]-a[1]
		ax, ay := a[0]+0.5*aw, a[1]+0.5*ah
		gw, gh := g[2]-g[0], g[3]-g[1]
		gx, gy := g[0]+0.5*gw, g[1]+0.5*gh
		d := dst[4*i : 4*i+4]
		d[0] = w[0] * (gx - ax) / aw
		d[1] = w[1] * (gy - ay) / ah
		d[2] = w[2] * math.Log(gw/aw)
		d[3] = w[3] * math.Log(gh/ah)
	}
	return dst
}

// Decode returns the boxes that deltas (flat [N, 4], N = len(anchors)) encode relative to
// anchors, as torchvision's BoxCoder.decode_single(deltas, anchors) in float64:
//
//	cx = dx/wx·aw + ax                 cy = dy/wy·ah + ay
//	w  = exp(min(dw/ww, clamp))·aw     h  = exp(min(dh/wh, clamp))·ah
//	box = (cx − w/2, cy − h/2, cx + w/2, cy + h/2)
//
// dst is reused when its capacity suffices, as Encode's.
//
// Decode(nil, anchors, Encode(nil, anchors, gt)) returns gt up to rounding when no log-ratio
// exceeds the clamp. It panics if len(deltas) ≠ 4·len(anchors) or c.Validate() fails.
// NaN deltas give NaN boxes.
func (c Coder) Decode(dst []Box, anchors []Box, deltas []float64) []Box {
	if len(deltas) != 4*len(anchors) {
		panic(msgLengthMismatch)
	}
	w, clamp := c.resolved()
	if cap(dst) < len(anchors) {
		dst = make([]Box, len(anchors))
	}
	out := dst[:len(anchors)]
	for i, a := range anchors {
		d := deltas[4*i : 4*i+4]
		aw, ah := a[2]-a[0], a[3]-a[1]
		ax, ay := a[0]+0.5*aw, a[1]+0.5*ah
		dx, dy := d[0]/w[0], d[1]/w[1]
		dw, dh := min(d[2]/w[2], clamp), min(d[3]/w[3], clamp)
		// min keeps a NaN, as torch.clamp does; the conversions forbid FMA (see interUnion).
		cx, cy := float64(dx*aw)+ax, float64(dy*ah)+ay
		half := [2]float64{0.5 * (math.Exp(dw) * aw), 0.5 * (math.Exp(dh) * ah)}
		out[i] = Box{cx - half[0], cy - half[1], cx + half[0], cy + half[1]}
	}
	return out
}
