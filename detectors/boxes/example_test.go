package boxes_test

import (
	"fmt"

	"github.com/smoothl1/smoothl1/detectors/boxes"
)

func ExampleIoU() {
	a := []boxes.Box{{0, 0, 10, 10}}
	b := []boxes.Box{{5, 0, 15, 10}, {10, 0, 20, 10}, {2, 2, 8, 8}, {3, 3, 3, 3}}
	fmt.Printf("%.4f\n", boxes.IoU(nil, a, b))
	// Output: [0.3333 0.0000 0.3600 0.0000]
}

func ExampleNMS() {
	bs := []boxes.Box{{0, 0, 10, 10}, {1, 0, 11, 10}, {20, 20, 30, 30}, {0, 0, 10, 10}}
	scores := []float64{0.9, 0.8, 0.7, 0.9}
	// Box 1 overlaps box 0 with IoU 90/110; box 3 duplicates box 0 with the same score
	// and loses the tie to the lower index.
	fmt.Println(boxes.NMS(bs, scores, 0.5))
	// Output: [0 2]
}

func ExampleBatchedNMS() {
	bs := []boxes.Box{{0, 0, 10, 10}, {0, 0, 10, 10}, {0, 0, 10, 10}}
	scores := []float64{0.6, 0.9, 0.8}
	classes := []int{7, 3, 7}
	fmt.Println(boxes.BatchedNMS(bs, scores, classes, 0.5))
	// Output: [1 2]
}

func ExampleSuppressor() {
	var s boxes.Suppressor // reused across images: no allocation once grown
	var keep []int
	for _, scores := range [][]float64{{0.2, 0.9}, {0.9, 0.2}} {
		keep = s.NMS(keep, []boxes.Box{{0, 0, 4, 4}, {0, 0, 4, 5}}, scores, 0.5)
		fmt.Println(keep)
	}
	// Output:
	// [1]
	// [0]
}

func ExampleCoder() {
	anchors := []boxes.Box{{0, 0, 10, 10}}
	gt := []boxes.Box{{5, 5, 25, 15}}
	c := boxes.Coder{Weights: [4]float64{10, 10, 5, 5}}
	deltas := c.Encode(nil, anchors, gt)
	fmt.Printf("deltas %.4f\n", deltas)
	fmt.Printf("decoded %.4f\n", c.Decode(nil, anchors, deltas))
	// Without the clamp, dw = 10 would make the box e^10 ≈ 22026 times wider.
	fmt.Printf("clamped %.1f\n", boxes.Coder{}.Decode(nil, anchors, []float64{0, 0, 10, 0}))
	// Output:
	// deltas [10.0000 5.0000 3.4657 0.0000]
	// decoded [[5.0000 5.0000 25.0000 15.0000]]
	// clamped [[-307.5 0.0 317.5 10.0]]
}

func ExampleAnchorGenerator() {
	g := boxes.AnchorGenerator{Strides: []int{8}, Sizes: []float64{16}, AspectRatios: []float64{0.25, 1}}
	// One level, a 1×2 map: cells centred at (4, 4) and (12, 4), anchors 32×8 and 16×16.
	fmt.Println(g.NumAnchors(), g.Anchors([]boxes.FeatureSize{{H: 1, W: 2}}))
	// Output: 2 [[-12 0 20 8] [-4 -4 12 12] [-4 0 28 8] [4 -4 20 12]]
}

func ExampleMatcher_Match() {
	gt := []boxes.Box{{0, 0, 10, 10}, {40, 40, 44, 44}}
	anchors := []boxes.Box{{0, 0, 10, 11}, {2, 0, 12, 10}, {36, 36, 52, 52}, {80, 80, 96, 96}}
	iou := boxes.IoU(nil, gt, anchors) // [len(gt), len(anchors)]
	m := boxes.RetinaNetMatcher()
	// Anchor 1 overlaps gt 0 with IoU 80/120: positive too. Gt 1 overlaps anchor 2 with
	// IoU 16/256 only; the low-quality rule still gives it that anchor.
	fmt.Println(m.Match(iou, len(gt), len(anchors), nil))
	m.AllowLowQuality = false
	fmt.Println(m.Match(iou, len(gt), len(anchors), nil))
	// Output:
	// [0 0 1 -1]
	// [0 0 -1 -1]
}
