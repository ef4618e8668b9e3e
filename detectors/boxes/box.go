package boxes

// Box is an axis-aligned box [x1, y1, x2, y2] in pixels, with x1 ≤ x2 and y1 ≤ y2 when
// valid.
type Box [4]float64

// Width returns x2 − x1.
func (b Box) Width() float64 { return b[2] - b[0] }

// Height returns y2 − y1.
func (b Box) Height() float64 { return b[3] - b[1] }

// Area returns (x2 − x1)·(y2 − y1), as torchvision's box_area: 0 for a degenerate box,
// negative for an inverted one.
func (b Box) Area() float64 { return float64((b[2] - b[0]) * (b[3] - b[1])) }

// interUnion returns the intersection and union areas of a and b:
//
//	inter = max(0, min(ax2, bx2) − max(ax1, bx1)) · max(0, min(ay2, by2) − max(ay1, by1))
//	union = area(a) + area(b) − inter
//
// in the order of operations torchvision uses in box_iou and in its CPU NMS kernel, so
// results agree bit for bit in float64. IoU and NMS share it. (The float64 conversions
// in Area and here stop the compiler from fusing a product and a sum into one FMA, which
// rounds differently on arm64 and amd64 v3.)
func interUnion(a, b *Box) (inter, union float64) {
	w := min(a[2], b[2]) - max(a[0], b[0])
	h := min(a[3], b[3]) - max(a[1], b[1])
	inter = float64(max(w, 0) * max(h, 0))
	return inter, a.Area() + b.Area() - inter
}

// IoU writes the intersection over union of every pair (a[i], b[j]) to dst[i·len(b)+j]
// and returns dst[:len(a)·len(b)]:
//
//	IoU(a, b) = |a ∩ b| / |a ∪ b|,   0 when |a ∪ b| = 0
//
// as torchvision.ops.box_iou, except that two zero-area boxes (union 0) have IoU 0 where
// box_iou gives NaN. Boxes that only touch at an edge or a corner have IoU 0. dst is
// reused when its capacity is at least len(a)·len(b), allocated otherwise.
func IoU(dst []float64, a, b []Box) []float64 {
	n := len(a) * len(b)
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	for i := range a {
		row := dst[i*len(b) : (i+1)*len(b)]
		for j := range b {
			inter, union := interUnion(&a[i], &b[j])
			if union == 0 {
				row[j] = 0
				continue
			}
			row[j] = inter / union
		}
	}
	return dst
}
