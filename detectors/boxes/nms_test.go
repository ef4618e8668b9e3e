package boxes

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNMS(t *testing.T) {
	a := Box{0, 0, 10, 10}
	nan := math.NaN()
	for _, tc := range []struct {
		name   string
		boxes  []Box
		scores []float64
		thresh float64
		want   []int // derived by hand from the IoUs in the name
	}{
		{"empty", nil, nil, 0.5, []int{}},
		{"one box", []Box{a}, []float64{0.1}, 0.5, []int{0}},
		{"overlap 90/110 > 0.5 suppressed, disjoint kept",
			[]Box{{1, 0, 11, 10}, a, {20, 20, 30, 30}}, []float64{0.8, 0.9, 0.7}, 0.5, []int{1, 2}},
		{"overlap 90/110 < 0.9 kept", []Box{a, {1, 0, 11, 10}}, []float64{0.9, 0.8}, 0.9, []int{0, 1}},
		{"IoU equal to the threshold (50/150 = 1/3) is kept: strict >",
			[]Box{a, {5, 0, 15, 10}}, []float64{0.9, 0.8}, 1.0 / 3, []int{0, 1}},
		{"greedy: B suppressed by A cannot suppress C (A–B, B–C 60/140, A–C 20/180)",
			[]Box{a, {4, 0, 14, 10}, {8, 0, 18, 10}}, []float64{0.9, 0.8, 0.7}, 0.4, []int{0, 2}},
		{"identical boxes, equal scores: lowest index kept (stable, as torchvision CPU)",
			[]Box{a, a, a}, []float64{0.5, 0.5, 0.5}, 0.5, []int{0}},
		{"equal scores, disjoint boxes: index order",
			[]Box{{20, 0, 30, 10}, a, {40, 0, 50, 10}}, []float64{0.5, 0.5, 0.7}, 0.5, []int{2, 0, 1}},
		{"touching boxes never suppress, even at threshold 0",
			[]Box{a, {10, 0, 20, 10}, {10, 10, 20, 20}}, []float64{0.9, 0.8, 0.7}, 0, []int{0, 1, 2}},
		{"zero-area duplicates: union 0, never suppressed (torchvision: NaN > t is false)",
			[]Box{{3, 3, 3, 3}, {3, 3, 3, 3}}, []float64{0.9, 0.8}, 0, []int{0, 1}},
		{"threshold 1 keeps identical boxes (IoU 1 is not > 1)",
			[]Box{a, a}, []float64{0.2, 0.9}, 1, []int{1, 0}},
		{"negative threshold: disjoint boxes (IoU 0 > −0.1) suppressed",
			[]Box{a, {50, 50, 60, 60}}, []float64{0.2, 0.9}, -0.1, []int{1}},
		{"NaN score ranks first, as torch.sort(descending=True)",
			[]Box{a, {0, 0, 10, 11}}, []float64{0.9, nan}, 0.5, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NMS(tc.boxes, tc.scores, tc.thresh)
			if !slices.Equal(got, tc.want) || got == nil {
				t.Errorf("NMS = %#v, want %v", got, tc.want)
			}
			// BatchedNMS with a single class is NMS.
			if got := BatchedNMS(tc.boxes, tc.scores, make([]int, len(tc.boxes)), tc.thresh); !slices.Equal(got, tc.want) || got == nil {
				t.Errorf("BatchedNMS, one class = %#v, want %v", got, tc.want)
			}
		})
	}
}

func TestBatchedNMS(t *testing.T) {
	a := Box{0, 0, 10, 10}
	for _, tc := range []struct {
		name    string
		boxes   []Box
		scores  []float64
		classes []int
		want    []int
	}{
		{"empty", nil, nil, nil, []int{}},
		{"identical boxes of two classes both kept", []Box{a, a}, []float64{0.3, 0.9}, []int{1, 2}, []int{1, 0}},
		{"suppression within a class only",
			[]Box{a, a, a, a}, []float64{0.9, 0.8, 0.7, 0.6}, []int{5, -1, 5, -1}, []int{0, 1}},
		{"equal scores across classes: index order",
			[]Box{a, {20, 0, 30, 10}, a}, []float64{0.5, 0.5, 0.5}, []int{3, 3, 1}, []int{0, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := BatchedNMS(tc.boxes, tc.scores, tc.classes, 0.5)
			if !slices.Equal(got, tc.want) || got == nil {
				t.Errorf("BatchedNMS = %#v, want %v", got, tc.want)
			}
		})
	}
}

// TestBatchedNMSIsPerClassNMS checks BatchedNMS against its definition: NMS run on each
// class alone, the kept indices merged by decreasing score, then index.
func TestBatchedNMSIsPerClassNMS(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var s Suppressor
	for trial := range 50 {
		n := rng.IntN(80)
		boxes := clustered(rng, n, 4)
		scores := make([]float64, n)
		classes := make([]int, n)
		for i := range scores {
			scores[i] = float64(rng.IntN(6)) / 5 // ties
			classes[i] = rng.IntN(4) - 1
		}
		var want []int
		for c := -1; c < 3; c++ {
			var idx []int
			for i := range n {
				if classes[i] == c {
					idx = append(idx, i)
				}
			}
			sub, subScores := make([]Box, len(idx)), make([]float64, len(idx))
			for k, i := range idx {
				sub[k], subScores[k] = boxes[i], scores[i]
			}
			for _, k := range NMS(sub, subScores, 0.45) {
				want = append(want, idx[k])
			}
		}
		slices.SortFunc(want, func(i, j int) int { return byScore(scores, i, j) })
		if got := s.BatchedNMS(nil, boxes, scores, classes, 0.45); !slices.Equal(got, want) {
			t.Fatalf("trial %d: got %v, want %v", trial, got, want)
		}
	}
}

func TestSuppressorDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	boxes := clustered(rng, 500, 20)
	scores := make([]float64, len(boxes))
	classes := make([]int, len(boxes))
	for i := range scores {
		scores[i] = rng.Float64()
		classes[i] = rng.IntN(5)
	}
	var s Suppressor
	dst := s.NMS(make([]int, 0, len(boxes)), boxes, scores, 0.5)
	if n := testing.AllocsPerRun(20, func() { dst = s.NMS(dst, boxes, scores, 0.5) }); n != 0 {
		t.Errorf("Suppressor.NMS: %v allocations per call", n)
	}
	if n := testing.AllocsPerRun(20, func() { dst = s.BatchedNMS(dst, boxes, scores, classes, 0.5) }); n != 0 {
		t.Errorf("Suppressor.BatchedNMS: %v allocations per call", n)
	}
	if raceEnabled {
		return
	}
	NMS(boxes, scores, 0.5) // warm the pool
	if n := testing.AllocsPerRun(20, func() { NMS(boxes, scores, 0.5) }); n > 1 {
		t.Errorf("NMS: %v allocations per call, want only the result", n)
	}
}

// clustered returns n boxes jittered around k random centres, so that NMS suppresses.
func clustered(rng *rand.Rand, n, k int) []Box {
	centres := randomBoxes(rng, max(k, 1), 400)
	out := make([]Box, n)
	for i := range out {
		c := centres[rng.IntN(len(centres))]
		var b Box
		for j := range b {
			b[j] = c[j] + rng.NormFloat64()*4
		}
		b[2], b[3] = max(b[2], b[0]+1), max(b[3], b[1]+1)
		out[i] = b
	}
	return out
}
