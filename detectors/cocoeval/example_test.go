package cocoeval_test

import (
	"fmt"

	"github.com/smoothl1/smoothl1/detectors/cocoeval"
)

func ExampleEvaluate() {
	gt := []cocoeval.GT{
		{ID: 1, ImageID: 1, CategoryID: 1, Box: [4]float64{10, 10, 50, 40}, Area: 2000},
		{ID: 2, ImageID: 1, CategoryID: 1, Box: [4]float64{100, 10, 20, 20}, Area: 400},
		{ID: 3, ImageID: 2, CategoryID: 2, Box: [4]float64{0, 0, 200, 100}, Area: 20000},
	}
	dets := []cocoeval.Det{
		{ImageID: 1, CategoryID: 1, Box: [4]float64{12, 10, 50, 40}, Score: 0.9},   // IoU 1920/2080 = .92
		{ImageID: 1, CategoryID: 1, Box: [4]float64{300, 300, 20, 20}, Score: 0.8}, // false positive
		{ImageID: 2, CategoryID: 2, Box: [4]float64{0, 0, 160, 100}, Score: 0.7},   // IoU .8
	}
	// Category 1: a hit at 9 of the 10 IoU thresholds finding 1 gt of 2 (AP 51/101 each),
	// category 2: a hit at 7 (AP 1 each). AP = (0.9·51/101 + 0.7)/2.
	res, err := cocoeval.Evaluate(gt, dets, nil, cocoeval.Params{})
	if err != nil {
		panic(err)
	}
	fmt.Println(res)
	fmt.Printf("AP %.4f, AP50 %.4f\n", res.AP, res.AP50)
	// Output:
	//  Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.577
	//  Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.752
	//  Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.752
	//  Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.000
	//  Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.900
	//  Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.700
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.575
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.575
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.575
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.000
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.900
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.700
	// AP 0.5772, AP50 0.7525
}
