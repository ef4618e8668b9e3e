package cocoeval

import (
	"math"
	"strings"
	"testing"
)

func gt(id, img int64, box [4]float64) GT {
	return GT{ID: id, ImageID: img, CategoryID: 1, Box: box, Area: box[2] * box[3]}
}

func det(img int64, box [4]float64, score float64) Det {
	return Det{ImageID: img, CategoryID: 1, Box: box, Score: score}
}

// The hand cases. Precision is tp/(tp + fp + 2⁻⁵²) as in pycocotools, hence a 1e-12
// tolerance around the exact fractions. R = 101 recall thresholds r = 0, .01, …, 1.
func TestHandCases(t *testing.T) {
	med := [4]float64{10, 10, 50, 50} // area 2500: medium
	far := [4]float64{300, 300, 50, 50}
	const na = -1.0 // no ground truth in that range: pycocotools' −1
	for _, tc := range []struct {
		name     string
		gt       []GT
		dets     []Det
		imageIDs []int64
		want     [12]float64 // AP AP50 AP75 APs APm APl AR1 AR10 AR100 ARs ARm ARl
	}{
		{
			// One TP at every threshold: precision 1 at every recall point, recall 1.
			// The only gt is medium: small and large have none.
			name: "one image, one gt, perfect detection",
			gt:   []GT{gt(1, 1, med)}, dets: []Det{det(1, med, 0.9)},
			want: [12]float64{1, 1, 1, na, 1, na, 1, 1, 1, na, 1, na},
		},
		{
			// FP then TP: after 1 det rc 0, pr 0; after 2 rc 1, pr 1/2. The envelope
			// makes pr = 1/2 at both; every r ≤ 1 finds it: AP = 1/2. AR = 1; AR1 = 0
			// (the first detection is the FP).
			name: "false positive ranked first",
			gt:   []GT{gt(1, 1, med)}, dets: []Det{det(1, far, 0.9), det(1, med, 0.8)},
			want: [12]float64{0.5, 0.5, 0.5, na, 0.5, na, 0, 1, 1, na, 1, na},
		},
		{
			// TP then FP: pr = 1 at rc 1 is reached first: AP = 1.
			name: "false positive ranked last",
			gt:   []GT{gt(1, 1, med)}, dets: []Det{det(1, far, 0.5), det(1, med, 0.8)},
			want: [12]float64{1, 1, 1, na, 1, na, 1, 1, 1, na, 1, na},
		},
		{
			// rc reaches 1/2 with pr 1: the 51 thresholds r ≤ .50 read 1, the other 50
			// read 0 (recall never reaches them): AP = 51/101. AR = 1/2.
			name: "two gts, one detection",
			gt:   []GT{gt(1, 1, med), gt(2, 1, [4]float64{100, 100, 50, 50})}, dets: []Det{det(1, med, 0.9)},
			want: [12]float64{51.0 / 101, 51.0 / 101, 51.0 / 101, na, 51.0 / 101, na, 0.5, 0.5, 0.5, na, 0.5, na},
		},
		{
			name: "no detections",
			gt:   []GT{gt(1, 1, med)},
			want: [12]float64{0, 0, 0, na, 0, na, 0, 0, 0, na, 0, na},
		},
		{
			// A 10×10 box matches the 10×11 gt with IoU 100/110 = .909: a TP for t ≤ .90,
			// a FP for t = .95 (and the gt a miss). AP = 9/10 (nine thresholds at 1, one at
			// 0), AP75 = 1, AR = 9/10.
			name: "IoU .909: a hit below .95 only",
			gt:   []GT{gt(1, 1, [4]float64{0, 0, 10, 11})}, dets: []Det{det(1, [4]float64{0, 0, 10, 10}, 0.9)},
			want: [12]float64{0.9, 1, 1, 0.9, na, na, 0.9, 0.9, 0.9, 0.9, na, na},
		},
		{
			// Small (20², 400), medium (50², 2500) and large (100², 10⁴) gts, each found,
			// plus a 10×10 FP scored highest. all: FP, TP, TP, TP → pr after each 0, 1/2,
			// 2/3, 3/4, envelope 3/4 everywhere: AP = 3/4. small: the FP is small and
			// unmatched: FP, TP (medium and large gts and their detections ignored):
			// AP = 1/2. medium, large: the FP is outside the range and unmatched: ignored,
			// AP = 1. AR1: the FP comes first, 0.
			name: "small, medium, large, and a small false positive",
			gt: []GT{gt(1, 1, [4]float64{0, 0, 20, 20}), gt(2, 1, [4]float64{100, 0, 50, 50}),
				gt(3, 1, [4]float64{200, 0, 100, 100})},
			dets: []Det{det(1, [4]float64{0, 0, 20, 20}, 0.9), det(1, [4]float64{100, 0, 50, 50}, 0.8),
				det(1, [4]float64{200, 0, 100, 100}, 0.7), det(1, [4]float64{400, 400, 10, 10}, 0.95)},
			want: [12]float64{0.75, 0.75, 0.75, 0.5, 1, 1, 0, 1, 1, 1, 1, 1},
		},
		{
			// Area exactly 32² = 1024 lies in both closed ranges [0, 32²] and [32², 96²].
			name: "area on the small/medium boundary counts in both",
			gt:   []GT{gt(1, 1, [4]float64{0, 0, 32, 32})}, dets: []Det{det(1, [4]float64{0, 0, 32, 32}, 0.5)},
			want: [12]float64{1, 1, 1, 1, 1, na, 1, 1, 1, 1, 1, na},
		},
		{
			// The size class follows GT.Area (a segmentation area), not the 50×50 box:
			// area 900 makes the gt small. Its detection (w·h 2500) matches it, so it is
			// not ignored in the small range though its own area is medium.
			name: "size class from GT.Area",
			gt:   []GT{{ID: 1, ImageID: 1, CategoryID: 1, Box: med, Area: 900}}, dets: []Det{det(1, med, 0.9)},
			want: [12]float64{1, 1, 1, 1, na, na, 1, 1, 1, 1, na, na},
		},
		{
			// Two detections inside a crowd region: IoU = intersection / det area = 1, so
			// both match the crowd gt (any number of times) and are ignored. The crowd gt is
			// not a positive: AP = AR = 1 from the regular gt alone (area 100: small).
			name: "crowd region absorbs detections",
			gt: []GT{gt(1, 1, [4]float64{0, 0, 10, 10}),
				{ID: 2, ImageID: 1, CategoryID: 1, Box: [4]float64{50, 50, 50, 50}, Area: 2500, IsCrowd: true}},
			dets: []Det{det(1, [4]float64{0, 0, 10, 10}, 0.9), det(1, [4]float64{60, 60, 10, 10}, 0.8),
				det(1, [4]float64{70, 70, 10, 10}, 0.7)},
			want: [12]float64{1, 1, 1, 1, na, na, 1, 1, 1, 1, na, na},
		},
		{
			// The same with the region as a regular gt: IoU 100/2500 = .04, two FPs after
			// the TP and a missed gt. all: rc 1/2 with pr 1 first: AP = 51/101, AR = 1/2.
			// small: only the 10×10 gt counts (the 2500 one is ignored); the two 10×10 FPs
			// are small and unmatched: TP, FP, FP: AP = 1, AR = 1. medium: the regular gt
			// missed, the small detections ignored: AP = AR = 0.
			name: "the region as a regular gt",
			gt: []GT{gt(1, 1, [4]float64{0, 0, 10, 10}),
				{ID: 2, ImageID: 1, CategoryID: 1, Box: [4]float64{50, 50, 50, 50}, Area: 2500}},
			dets: []Det{det(1, [4]float64{0, 0, 10, 10}, 0.9), det(1, [4]float64{60, 60, 10, 10}, 0.8),
				det(1, [4]float64{70, 70, 10, 10}, 0.7)},
			want: [12]float64{51.0 / 101, 51.0 / 101, 51.0 / 101, 1, 0, na, 0.5, 0.5, 0.5, 1, 0, na},
		},
		{
			// Category 2 has no gt and category 3 only a crowd gt: both are left out of the
			// means (pycocotools' −1 cells), so the metrics are category 1's alone.
			name: "categories without a counted gt are excluded",
			gt: []GT{gt(1, 1, med),
				{ID: 2, ImageID: 1, CategoryID: 3, Box: far, Area: 2500, IsCrowd: true}},
			dets: []Det{det(1, med, 0.9), {ImageID: 1, CategoryID: 2, Box: far, Score: 0.99},
				{ImageID: 1, CategoryID: 3, Box: [4]float64{0, 0, 5, 5}, Score: 0.99}},
			want: [12]float64{1, 1, 1, na, 1, na, 1, 1, 1, na, 1, na},
		},
		{
			// Image 2 holds no gt; listed in imageIDs, its detection is a FP scored first:
			// AP = 1/2 as in "false positive ranked first". AR1 = 1: one detection per
			// image, and image 1's is the TP.
			name:     "detections on an image without gt, listed",
			gt:       []GT{gt(1, 1, med)},
			dets:     []Det{det(2, med, 0.9), det(1, med, 0.8)},
			imageIDs: []int64{2, 1, 1},
			want:     [12]float64{0.5, 0.5, 0.5, na, 0.5, na, 1, 1, 1, na, 1, na},
		},
		{
			// Three gts in one image, three exact detections: one detection per image
			// finds one of three (AR1 = 1/3); ten find all.
			name: "AR at 1 and 10 detections",
			gt:   []GT{gt(1, 1, med), gt(2, 1, [4]float64{100, 10, 50, 50}), gt(3, 1, [4]float64{200, 10, 50, 50})},
			dets: []Det{det(1, med, 0.9), det(1, [4]float64{100, 10, 50, 50}, 0.8), det(1, [4]float64{200, 10, 50, 50}, 0.7)},
			want: [12]float64{1, 1, 1, na, 1, na, 1.0 / 3, 1, 1, na, 1, na},
		},
		{
			name: "no ground truth at all",
			want: [12]float64{na, na, na, na, na, na, na, na, na, na, na, na},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Evaluate(tc.gt, tc.dets, tc.imageIDs, Params{})
			if err != nil {
				t.Fatal(err)
			}
			got := res.Stats()
			for k := range got {
				if math.Abs(got[k]-tc.want[k]) > 1e-12 {
					t.Errorf("stats = %.4f\nwant    %.4f", got, tc.want)
					break
				}
			}
		})
	}
}

// TestMatching checks two rules of the greedy match on one image through the per-image
// evaluation (area range "all").
func TestMatching(t *testing.T) {
	e := evaluator{p: DefaultParams()}
	// Equal IoUs: the last gt wins (pycocotools compares with ≥). Det 0 overlaps gts 0
	// and 1 with the same IoU and takes gt 1; det 1 then finds gt 1 taken and gt 0 below
	// the threshold: a FP. Had the first gt won, det 1 would have matched gt 1.
	gts := []GT{
		{ID: 1, Box: [4]float64{0, 0, 10, 10}, Area: 100},
		{ID: 2, Box: [4]float64{4, 0, 10, 10}, Area: 100},
	}
	// Det 0 = [2, 0, 12, 10]: with gt 0 inter 80, union 120 → 2/3; with gt 1 inter 80,
	// union 120 → 2/3 as well. Det 1 = [4, 0, 13, 10]: with gt 1 inter 90 union 100 → .9,
	// with gt 0 inter 60 union 130 → .46.
	dets := []Det{{Box: [4]float64{2, 0, 10, 10}, Score: 0.9}, {Box: [4]float64{4, 0, 9, 10}, Score: 0.8}}
	c := e.evalCell(gts, dets)
	all := c.area[0]
	D := 2
	// t = .5 and .6 (indices 0 and 2): det 0 matched, det 1 not (gt 0 at .46).
	for _, ti := range []int{0, 2} {
		if !all.matched[ti*D+0] || all.matched[ti*D+1] {
			t.Errorf("t index %d: matched %v, want [true false]", ti, all.matched[ti*D:(ti+1)*D])
		}
	}

	// A regular gt is preferred to an ignored one with a larger IoU: det overlaps the
	// crowd gt with IoU 1 (intersection/det area) and the regular gt with 0.8.
	gts = []GT{
		{ID: 1, Box: [4]float64{0, 0, 100, 100}, Area: 1e4, IsCrowd: true},
		{ID: 2, Box: [4]float64{10, 10, 10, 10}, Area: 100},
	}
	dets = []Det{{Box: [4]float64{10, 10, 10, 8}, Score: 0.9}}
	c = e.evalCell(gts, dets)
	if !c.area[0].matched[0] || c.area[0].ignored[0] {
		t.Errorf("t=.5: matched %v ignored %v, want a counted match to the regular gt", c.area[0].matched[0], c.area[0].ignored[0])
	}
	// At t = .85 the regular gt (0.8) no longer qualifies: the crowd takes it, ignored.
	if t85 := 7; !c.area[0].matched[t85] || !c.area[0].ignored[t85] {
		t.Errorf("t=.85: matched %v ignored %v, want matched to the crowd and ignored", c.area[0].matched[t85], c.area[0].ignored[t85])
	}
}

func TestIoU(t *testing.T) {
	sq := [4]float64{0, 0, 10, 10}
	for _, tc := range []struct {
		name  string
		d, g  [4]float64
		crowd bool
		want  float64 // closed form
	}{
		{"identical", sq, sq, false, 1},
		{"half: 50 / 150", sq, [4]float64{5, 0, 10, 10}, false, 1.0 / 3},
		{"touching", sq, [4]float64{10, 0, 10, 10}, false, 0},
		{"crowd: 50 / det area 100", sq, [4]float64{5, 0, 100, 100}, true, 0.5},
		{"crowd containing the det: 1", sq, [4]float64{-5, -5, 100, 100}, true, 1},
		{"zero-width det", [4]float64{5, 5, 0, 3}, sq, false, 0},
	} {
		if got := iou(tc.d, tc.g, tc.crowd); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	res, err := Evaluate([]GT{gt(1, 1, [4]float64{0, 0, 50, 50})}, []Det{det(1, [4]float64{0, 0, 50, 50}, 1)}, nil, Params{})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(res.String(), "\n")
	want := []string{ // pycocotools' summarize() for this input
		" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000",
		" Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 1.000",
		" Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 1.000",
		" Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000",
		" Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 1.000",
		" Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000",
		" Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 1.000",
		" Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 1.000",
		" Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000",
		" Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000",
		" Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 1.000",
		" Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000",
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), res)
	}
	for n := range want {
		if lines[n] != want[n] {
			t.Errorf("line %d:\n%q\nwant\n%q", n, lines[n], want[n])
		}
	}
}
