package cocoeval

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The golden file is written by testdata/ref_cocoeval.py, an independent numpy
// re-implementation of pycocotools' COCOeval (see its header); the tests only read it.

type goldenFile struct {
	IoUThresholds    []float64 `json:"iou_thresholds"`
	RecallThresholds []float64 `json:"recall_thresholds"`
	Sets             []struct {
		Name string `json:"name"`
		GT   []struct {
			ID         int64      `json:"id"`
			ImageID    int64      `json:"image_id"`
			CategoryID int64      `json:"category_id"`
			BBox       [4]float64 `json:"bbox"`
			Area       float64    `json:"area"`
			IsCrowd    int        `json:"iscrowd"`
		} `json:"gt"`
		Dets []struct {
			ImageID    int64      `json:"image_id"`
			CategoryID int64      `json:"category_id"`
			BBox       [4]float64 `json:"bbox"`
			Score      float64    `json:"score"`
		} `json:"dets"`
		ImageIDs []int64 `json:"image_ids"`
		Params   *struct {
			IoUThresholds []float64 `json:"iou_thresholds"`
			MaxDets       [3]int    `json:"max_dets"`
		} `json:"params"`
		Stats [12]float64 `json:"stats"`
	} `json:"sets"`
}

// goldenTol: the brief's bound against the reference is 1e-4. Both sides run the same
// float64 operations, so the observed differences are ~1e-16 (numpy's pairwise sums).
const goldenTol = 1e-4

func TestGoldenThresholds(t *testing.T) {
	g := readGolden(t)
	p := DefaultParams()
	if !slices.Equal(p.IoUThresholds, g.IoUThresholds) {
		t.Errorf("IoU thresholds %v, numpy.linspace %v", p.IoUThresholds, g.IoUThresholds)
	}
	if !slices.Equal(p.RecallThresholds, g.RecallThresholds) {
		t.Errorf("recall thresholds differ from numpy.linspace bit for bit")
	}
}

func TestGolden(t *testing.T) {
	g := readGolden(t)
	names := [12]string{"AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"}
	worst := 0.0
	for _, s := range g.Sets {
		t.Run(s.Name, func(t *testing.T) {
			gts := make([]GT, len(s.GT))
			for n, x := range s.GT {
				gts[n] = GT{ID: x.ID, ImageID: x.ImageID, CategoryID: x.CategoryID, Box: x.BBox, Area: x.Area, IsCrowd: x.IsCrowd != 0}
			}
			dets := make([]Det, len(s.Dets))
			for n, x := range s.Dets {
				dets[n] = Det{ImageID: x.ImageID, CategoryID: x.CategoryID, Box: x.BBox, Score: x.Score}
			}
			var p Params
			if s.Params != nil {
				p.IoUThresholds, p.MaxDets = s.Params.IoUThresholds, s.Params.MaxDets
			}
			res, err := Evaluate(gts, dets, s.ImageIDs, p)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range res.Stats() {
				d := math.Abs(v - s.Stats[k])
				worst = max(worst, d)
				if d > goldenTol {
					t.Errorf("%s = %.6f, reference %.6f", names[k], v, s.Stats[k])
				}
			}
		})
	}
	t.Logf("largest difference from the reference: %.3g", worst)
}

func readGolden(t *testing.T) goldenFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Sets) == 0 {
		t.Fatal("golden.json: no sets")
	}
	return g
}
