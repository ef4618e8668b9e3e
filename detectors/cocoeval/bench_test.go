package cocoeval

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkEvaluate runs a COCO-like load: 80 categories, ~7 gts and 100 detections per
// image (COCO val2017 has 5000 images and ~36k gts).
//
//	go test ./detectors/cocoeval -run '^$' -bench . -benchmem
func BenchmarkEvaluate(b *testing.B) {
	for _, images := range []int{100, 1000} {
		rng := rand.New(rand.NewPCG(1, uint64(images)))
		var gts []GT
		var dets []Det
		box := func() [4]float64 {
			w, h := 4+rng.Float64()*200, 4+rng.Float64()*200
			return [4]float64{rng.Float64() * 400, rng.Float64() * 300, w, h}
		}
		for img := range int64(images) {
			for range 7 {
				g := GT{ID: int64(len(gts)) + 1, ImageID: img, CategoryID: rng.Int64N(80), Box: box()}
				g.Area = g.Box[2] * g.Box[3] * 0.7
				gts = append(gts, g)
				d := g.Box
				d[0] += rng.NormFloat64() * 3
				dets = append(dets, Det{ImageID: img, CategoryID: g.CategoryID, Box: d, Score: rng.Float64()})
			}
			for range 93 {
				dets = append(dets, Det{ImageID: img, CategoryID: rng.Int64N(80), Box: box(), Score: rng.Float64() * 0.5})
			}
		}
		b.Run(fmt.Sprintf("images=%d", images), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Evaluate(gts, dets, nil, Params{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
