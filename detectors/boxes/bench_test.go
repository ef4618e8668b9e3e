package boxes

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks over named sizes:
//
//	go test ./detectors/boxes -run '^$' -bench . -benchmem
func BenchmarkIoU(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sz := range []struct{ n, m int }{{10, 100}, {10, 1e4}, {100, 1e4}, {20, 1e5}} {
		a, c := randomBoxes(rng, sz.n, 800), randomBoxes(rng, sz.m, 800)
		dst := make([]float64, sz.n*sz.m)
		b.Run(fmt.Sprintf("%dx%.0e", sz.n, float64(sz.m)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dst = IoU(dst, a, c)
			}
			b.ReportMetric(float64(sz.n*sz.m)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpairs/s")
		})
	}
}

func BenchmarkNMS(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{1e2, 1e3, 1e4} {
		boxes := clustered(rng, n, n/20)
		scores, classes := make([]float64, n), make([]int, n)
		for i := range scores {
			scores[i] = rng.Float64()
			classes[i] = rng.IntN(80)
		}
		var s Suppressor
		dst := make([]int, 0, n)
		b.Run(fmt.Sprintf("NMS/N=%.0e", float64(n)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dst = s.NMS(dst, boxes, scores, 0.5)
			}
		})
		b.Run(fmt.Sprintf("BatchedNMS-80/N=%.0e", float64(n)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dst = s.BatchedNMS(dst, boxes, scores, classes, 0.5)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	g := RetinaNetAnchors()
	anchors := g.Anchors([]FeatureSize{{80, 80}, {40, 40}, {20, 20}, {10, 10}, {5, 5}})
	rng := rand.New(rand.NewPCG(3, 3))
	for _, nGT := range []int{1, 10, 50} {
		gt := randomBoxes(rng, nGT, 600)
		iou := IoU(nil, gt, anchors)
		dst := make([]int, len(anchors))
		m := RetinaNetMatcher()
		b.Run(fmt.Sprintf("gt=%d/anchors=%d", nGT, len(anchors)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dst = m.Match(iou, nGT, len(anchors), dst)
			}
		})
	}
}
