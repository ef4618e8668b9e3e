// Package boxes holds the box arithmetic of an anchor-based (RetinaNet-style) detector:
// IoU, non-maximum suppression, the box coder, the anchor generator and the anchor
// matcher, in pure Go (no cgo, no gotch), matching torchvision 0.14 on golden data.
//
// # Conventions
//
// A Box is [x1, y1, x2, y2] in pixels (float64), with x1 ≤ x2 and y1 ≤ y2 for a valid
// box. Width is x2 − x1 and height y2 − y1 (no +1, as torchvision and detectron2). Degenerate boxes (zero width or height) are allowed: their
// area is 0 and their IoU with anything is 0, never NaN. Inverted boxes (x1 > x2) are
// not rejected; they get what torchvision's formulas give them (a negative area).
//
// Matrices are row-major flat slices: IoU(dst, a, b) is [len(a), len(b)], and the
// Matcher reads the quality matrix [nGT, nAnchors] that IoU(dst, gt, anchors) writes.
// Box deltas are flat [N, 4] slices of (dx, dy, dw, dh), the layout package static's
// losses take. The written argument is always named dst; it is reused when its capacity
// is large enough and allocated otherwise, and the result is returned. Nothing else
// passed in is modified.
//
// Anchors are ordered level-major, then row y, then column x, then anchor type; see
// AnchorGenerator. An AnchorGrid keeps that layout with the anchors, so that
// Matcher.MatchGrid labels them without the dense matrix: it computes the IoUs of the anchors
// near each ground truth only, and gives Match's labels exactly.
//
// # Errors
//
// Caller bugs panic with a constant message prefixed by the package name, such as
// "boxes: length mismatch" when scores or classes differ in length from boxes, or a
// quality matrix from nGT·nAnchors. Invalid configurations (thresholds, weights, anchor
// sizes) are errors: Validate returns a *ConfigError wrapping ErrInvalidConfig that names
// the type and field. Methods that return no error panic when handed a configuration
// that Validate rejects, since the caller skipped validation.
//
// # Deviations from torchvision 0.14
//
//   - IoU is 0 where both boxes have zero area (union 0); box_iou gives NaN (0/0).
//   - Matcher.AllowLowQuality adds no match for a ground truth whose best IoU is 0.
//     torchvision then matches every anchor that ties at IoU 0 (all anchors that miss
//     it) to that anchor's argmax ground truth, turning background into positives; its
//     models reject degenerate boxes before matching, this package allows them.
//   - BatchedNMS orders equal scores by index. torchvision does too up to 1000 boxes
//     (one stable sort); above that it ends with an unstable sort, so equal scores may
//     come out in another order (the kept set is the same).
package boxes
