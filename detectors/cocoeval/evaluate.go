package cocoeval

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// GT is one ground-truth annotation.
type GT struct {
	ID, ImageID, CategoryID int64
	Box                     [4]float64 // x, y, w, h in pixels
	Area                    float64    // the annotation's area, for the size ranges; 0 means w·h
	IsCrowd                 bool       // a crowd region: never a miss, absorbs any detections inside it
}

// Det is one detection.
type Det struct {
	ImageID, CategoryID int64
	Box                 [4]float64 // x, y, w, h in pixels
	Score               float64
}

// Evaluate computes the COCO box metrics of dets against gt on the images imageIDs (nil:
// every image that holds a ground truth) with parameters p (zero value: COCO's). See the
// package documentation for the algorithm and the errors. Neither slice is modified.
func Evaluate(gt []GT, dets []Det, imageIDs []int64, p Params) (Result, error) {
	p, err := p.resolve()
	if err != nil {
		return Result{}, err
	}
	if err := validate(gt, dets); err != nil {
		return Result{}, err
	}
	imageIDsNil := imageIDs == nil
	if imageIDsNil {
		imageIDs = make([]int64, len(gt))
		for n, g := range gt {
			imageIDs[n] = g.ImageID
		}
	}
	images := slices.Compact(slices.Sorted(slices.Values(imageIDs)))
	imageIndex := make(map[int64]int, len(images))
	for i, id := range images {
		imageIndex[id] = i
	}
	cats := make([]int64, len(gt))
	for n, g := range gt {
		cats[n] = g.CategoryID
	}
	cats = slices.Compact(slices.Sorted(slices.Values(cats)))
	catIndex := make(map[int64]int, len(cats))
	for k, id := range cats {
		catIndex[id] = k
	}

	// Key every entry by (category, image); sorting by (category, image, input index)
	// groups them in input order, the order pycocotools keeps within an image.
	type entry struct {
		k, i, n int
		det     bool
	}
	entries := make([]entry, 0, len(gt)+len(dets))
	for n, g := range gt {
		i, ok := imageIndex[g.ImageID]
		if !ok {
			return Result{}, fmt.Errorf("%w: gt[%d] (id %d) has image id %d, not in imageIDs", ErrUnknownImage, n, g.ID, g.ImageID)
		}
		entries = append(entries, entry{catIndex[g.CategoryID], i, n, false})
	}
	for n, d := range dets {
		i, ok := imageIndex[d.ImageID]
		if !ok {
			why := "not in imageIDs"
			if imageIDsNil {
				why = "which holds no ground truth (list it in imageIDs to count its detections)"
			}
			return Result{}, fmt.Errorf("%w: dets[%d] has image id %d, %s", ErrUnknownImage, n, d.ImageID, why)
		}
		if k, ok := catIndex[d.CategoryID]; ok {
			entries = append(entries, entry{k, i, n, true})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.k, b.k), cmp.Compare(a.i, b.i), cmp.Compare(a.n, b.n))
	})

	e := evaluator{p: p, cells: make([][]cell, len(cats))}
	var cg []GT
	var cd []Det
	for lo := 0; lo < len(entries); {
		k, i := entries[lo].k, entries[lo].i
		cg, cd = cg[:0], cd[:0]
		hi := lo
		for ; hi < len(entries) && entries[hi].k == k && entries[hi].i == i; hi++ {
			if entries[hi].det {
				cd = append(cd, dets[entries[hi].n])
			} else {
				cg = append(cg, gt[entries[hi].n])
			}
		}
		e.cells[k] = append(e.cells[k], e.evalCell(cg, cd))
		lo = hi
	}
	return e.accumulate().summarize(), nil
}

// validate checks the values of every entry.
func validate(gt []GT, dets []Det) error {
	ids := make(map[int64]int, len(gt))
	for n, g := range gt {
		if prev, dup := ids[g.ID]; dup {
			return fmt.Errorf("%w: gt[%d] and gt[%d] have id %d", ErrDuplicateID, prev, n, g.ID)
		}
		ids[g.ID] = n
		if err := checkBox(g.Box); err != nil {
			return fmt.Errorf("%w: gt[%d] (id %d) box %v", err, n, g.ID, g.Box)
		}
		if math.IsNaN(g.Area) || math.IsInf(g.Area, 0) {
			return fmt.Errorf("%w: gt[%d] (id %d) area %v", ErrNotFinite, n, g.ID, g.Area)
		}
		if g.Area < 0 {
			return fmt.Errorf("%w: gt[%d] (id %d) area %v", ErrNegativeSize, n, g.ID, g.Area)
		}
	}
	for n, d := range dets {
		if err := checkBox(d.Box); err != nil {
			return fmt.Errorf("%w: dets[%d] box %v", err, n, d.Box)
		}
		if math.IsNaN(d.Score) || math.IsInf(d.Score, 0) {
			return fmt.Errorf("%w: dets[%d] score %v", ErrNotFinite, n, d.Score)
		}
	}
	return nil
}

func checkBox(b [4]float64) error {
	for _, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ErrNotFinite
		}
	}
	if b[2] < 0 || b[3] < 0 {
		return ErrNegativeSize
	}
	if a := b[2] * b[3]; math.IsInf(a, 0) || a == 0 && b[2] > 0 && b[3] > 0 ||
		math.IsInf(b[0]+b[2], 0) || math.IsInf(b[1]+b[3], 0) {
		return ErrBoxArea
	}
	return nil
}
