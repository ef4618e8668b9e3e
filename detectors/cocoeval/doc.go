// Package cocoeval computes COCO box detection metrics as pycocotools' COCOeval
// does with iouType "bbox": AP averaged over IoU thresholds .50:.05:.95, AP50, AP75,
// AP for small, medium and large objects, and AR at 1, 10 and 100 detections per image
// and per area, in pure Go (no cgo).
//
// # Conventions
//
// Boxes are COCO's [x, y, w, h] in pixels (top-left corner, width, height), not the
// [x1, y1, x2, y2] of package boxes. The IoU of a detection d and a ground truth g is
//
//	|d ∩ g| / (area(d) + area(g) − |d ∩ g|)    (g not crowd)
//	|d ∩ g| / area(d)                           (g crowd: the part of d inside the region)
//
// with area = w·h of the boxes. Object size (small [0, 32²], medium [32², 96²], large
// [96², 1e10], closed ranges: an area of exactly 32² is small and medium) is judged by
// GT.Area, the annotation's area (COCO's segmentation area), for ground truths and by w·h
// for detections.
//
// # Algorithm (pycocotools)
//
// Per image and category, detections are sorted by decreasing score (stable) and the
// first MaxDets[2] kept. Ground truths are ignored when crowd or outside the area range.
// For each IoU threshold t, detections are matched greedily in score order: each takes
// the unmatched ground truth with the largest IoU ≥ t (ties: the last in order), looking
// at non-ignored ground truths first and at ignored ones only when no non-ignored one
// qualifies; crowd ground truths can be matched any number of times. A detection matched
// to an ignored ground truth is ignored, and so is an unmatched detection outside the
// area range. Per category, area range and detection limit, the detections of all images
// (image ids ascending, each image's first maxDet) are sorted by decreasing score (stable),
// giving precision and recall after each; precision is made non-increasing from the right
// and read at the 101 recall thresholds 0:.01:1 (0 past the last recall reached). AP is
// the mean over IoU thresholds, recall thresholds and categories, AR the mean of the final
// recall over IoU thresholds and categories, both skipping the (category, …) cells with no
// non-ignored ground truth. A metric with no such cell is −1, as in pycocotools.
//
// # Inputs
//
// Images are imageIDs, or when nil the images that hold a ground truth; categories are
// those that hold a ground truth (detections of other categories change nothing, as in
// pycocotools, and are dropped). An image with detections but no ground truth must be
// listed in imageIDs: its detections are false positives. A detection or ground truth on
// an image not in the list is an error (ErrUnknownImage), as pycocotools' loadRes rejects
// results for images it does not know; so is a NaN or infinite box, area or score
// (ErrNotFinite), a negative width or height (ErrNegativeSize), an area w·h that
// underflows or overflows (ErrBoxArea) and a repeated GT.ID (ErrDuplicateID). Errors name the offending entry.
//
// # Deviations from pycocotools
//
//   - pycocotools records a match by storing the ground truth's id and tests it for
//     non-zero, so a ground truth with id 0 counts as unmatched; here ids only have to be
//     distinct.
//   - With custom Params, the AP of the first summary line uses MaxDets[2]; pycocotools
//     looks for a limit of exactly 100 and prints −1 without one.
//   - A zero GT.Area is replaced by the box's w·h (annotations always carry an area in
//     COCO files; data converted from boxes alone may not).
//   - Sums are plain left-to-right float64 sums where numpy sums pairwise: an outside
//     check against pycocotools on 300 generated cases found differences up to 2e-14.
//   - A finite box whose w·h underflows to 0 (w, h > 0) or overflows to +Inf, or whose
//     corner x + w or y + h overflows, is refused (ErrBoxArea): pycocotools' IoU of such a
//     box is NaN, which passes every threshold test and so matches anything.
package cocoeval
