package detectors

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/internal/testsupport/cocotest"
	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
	"github.com/smoothl1/smoothl1/trainer"
)

// iouByHand is the IoU of two x1, y1, x2, y2 boxes, written out here as the oracle.
func iouByHand(a, b [4]float64) float64 {
	iw := math.Min(a[2], b[2]) - math.Max(a[0], b[0])
	ih := math.Min(a[3], b[3]) - math.Max(a[1], b[1])
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	return inter / ((a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter)
}

// TestRealWorldTraining trains the detector a few steps on cocotest's real-world-like data
// (category ids 1 … 90 with gaps, empty images, crowd regions, grayscale/paletted/RGBA PNGs
// and JPEGs in sub-folders) and evaluates it; detections carry the dataset's own category
// ids.
func TestRealWorldTraining(t *testing.T) {
	dir := t.TempDir()
	if _, err := cocotest.Write(dir); err != nil {
		t.Fatal(err)
	}
	// A score threshold below the prior (0.01), so that even a barely trained network
	// detects, and the labels' mapping back to ids is exercised.
	d, err := New(Config{Data: dir, BatchSize: 4, Seed: 1, Flip: true, ScoreThresh: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	loss, err := tensorloss.NewStaticLoss(static.SmoothL1{}, static.Sum)
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	res, err := trainer.Run(context.Background(), trainer.Config{
		Dir: run, Steps: 6, Seed: 1, CheckpointEvery: 3,
		Optimizer: trainer.OptimizerConfig{Kind: trainer.AdamW},
		Schedule:  trainer.Schedule{Base: 1e-2}, ClipNorm: 10, Identity: json.RawMessage(`{}`),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Progress: io.Discard,
	}, d, loss)
	if err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(res.LastLoss) || res.LastLoss <= 0 {
		t.Errorf("last loss %v", res.LastLoss)
	}
	for k, v := range res.Eval {
		if math.IsNaN(v) || v > 1 || (v < 0 && v != -1) {
			t.Errorf("metric %s = %v", k, v)
		}
	}
	vs, _, err := trainer.LoadModel(filepath.Join(run, "checkpoint.ckpt"), d)
	if err != nil {
		t.Fatal(err)
	}
	defer trainer.DestroyVarStore(vs)
	ids := map[int64]bool{}
	for _, c := range cocotest.Categories {
		ids[c.ID] = true
	}
	seen := map[int64]bool{}
	for b := range d.trainL.EvalBatches(4) {
		dets, err := d.Detect(&b, d.train)
		if err != nil {
			t.Fatal(err)
		}
		for _, det := range dets {
			if !ids[det.CategoryID] {
				t.Fatalf("detection with category id %d, not one of the dataset's", det.CategoryID)
			}
			seen[det.CategoryID] = true
		}
	}
	if !seen[90] || !seen[44] {
		t.Errorf("detected categories %v: want ids 44 and 90 among them (labels 3 and 4 mapped back)", seen)
	}
}

// TestCrowdAnchors checks the anchor targets around crowd regions on cocotest's data: an
// anchor whose IoU with a crowd box reaches the matcher's positive threshold (0.5) and that
// is not matched to an object is ignored (neither positive nor negative); objects keep their
// positives; every other anchor follows the matcher (IoU < 0.4 negative, [0.4, 0.5)
// ignored). Oracle: the IoUs written out here.
func TestCrowdAnchors(t *testing.T) {
	dir := t.TempDir()
	if _, err := cocotest.Write(dir); err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Data: dir, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	byCrowd := 0
	for b := range d.trainL.EvalBatches(4) {
		var tg targets
		d.buildTargets(&tg, &b)
		na := len(d.anchors)
		pos := map[int64]bool{}
		for _, k := range tg.pos {
			pos[k] = true
		}
		for i, s := range b.Samples {
			for a, anc := range d.anchors {
				k := i*na + a
				var best, crowd float64
				for j, bx := range s.Boxes {
					v := iouByHand(anc, bx)
					if s.Crowd[j] {
						crowd = math.Max(crowd, v)
					} else {
						best = math.Max(best, v)
					}
				}
				if pos[int64(k)] {
					continue // positives (including low-quality matches) are checked by TestTargets
				}
				want := float32(1)
				if best >= 0.4 || crowd >= 0.5 {
					want = 0
				}
				if best < 0.4 && crowd >= 0.5 {
					byCrowd++
				}
				if tg.valid[k] != want {
					t.Fatalf("image %d anchor %d: valid %v, want %v (IoU %.3f with objects, %.3f with crowd)", s.ImageID, a, tg.valid[k], want, best, crowd)
				}
			}
		}
		// A positive is never matched to a crowd box.
		for j, m := range tg.matched {
			i := int(tg.pos[j]) / na
			s := b.Samples[i]
			for q, bx := range s.Boxes {
				if s.Crowd[q] && [4]float64(m) == bx && !slices.Contains(nonCrowd(s), bx) {
					t.Fatalf("positive %d matched to crowd box %v", j, bx)
				}
			}
		}
	}
	if byCrowd == 0 {
		t.Fatal("no anchor was ignored for a crowd region: the data does not exercise the rule")
	}
}

func nonCrowd(s coco.Sample) [][4]float64 {
	var out [][4]float64
	for j, b := range s.Boxes {
		if !s.Crowd[j] {
			out = append(out, b)
		}
	}
	return out
}

// TestEvaluateResultsRealWorld scores hand-made results on cocotest's val.json. Oracles, by
// hand from pycocotools' definitions: the ground-truth boxes as detections give AP = AR = 1;
// a detection inside the crowd region changes nothing (crowd regions absorb detections); one
// extra detection on the image without annotations, scoring above everything in a category
// with n objects, makes that category's precision n/(n+1) at every recall, so
// AP = (C − 1 + n/(n+1))/C over the C categories with objects.
func TestEvaluateResultsRealWorld(t *testing.T) {
	dir := t.TempDir()
	rw, err := cocotest.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := coco.Load(filepath.Join(dir, "val.json"), filepath.Join(dir, "images"), coco.LoadOptions{NoImageFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	var rs []coco.Result
	perCat := map[int64]int{}
	var crowdBox [4]float64
	var crowdImage int64
	for _, im := range ds.Images {
		for _, o := range im.Objects {
			if o.Crowd {
				crowdBox, crowdImage = o.FileBox, im.ID
				continue
			}
			perCat[o.CategoryID]++
			rs = append(rs, coco.Result{ImageID: im.ID, CategoryID: o.CategoryID, BBox: o.FileBox, Score: 0.9})
		}
	}
	check := func(name string, rs []coco.Result, ap float64) {
		t.Helper()
		r, err := EvaluateResults(ds, rs)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r.AP-ap) > 1e-12 || math.Abs(r.AP50-ap) > 1e-12 || r.AR100 != 1 {
			t.Errorf("%s: AP %v AP50 %v AR100 %v, want AP = AP50 = %v, AR100 = 1", name, r.AP, r.AP50, r.AR100, ap)
		}
	}
	check("perfect", rs, 1)
	inCrowd := coco.Result{ImageID: crowdImage, CategoryID: cocotest.Categories[0].ID,
		BBox: [4]float64{crowdBox[0] + 2, crowdBox[1] + 2, crowdBox[2] / 3, crowdBox[3] / 3}, Score: 0.95}
	check("perfect plus a detection in the crowd region", append(slices.Clone(rs), inCrowd), 1)
	empty := rw.Empty("val")
	if len(empty) != 1 {
		t.Fatalf("val images without annotations: %v", empty)
	}
	cat := rs[0].CategoryID
	n := float64(perCat[cat])
	fp := coco.Result{ImageID: empty[0], CategoryID: cat, BBox: [4]float64{1, 1, 10, 10}, Score: 0.99}
	c := float64(len(perCat))
	check("a false positive on the empty image", append(slices.Clone(rs), fp), (c-1+n/(n+1))/c)
	// A category id in a gap of COCO's ids is refused, naming the entry.
	bad := append(slices.Clone(rs), coco.Result{ImageID: empty[0], CategoryID: 2, BBox: [4]float64{1, 1, 2, 2}, Score: 0.5})
	if _, err := EvaluateResults(ds, bad); err == nil {
		t.Error("a detection of category 2 (a gap) was scored")
	}
}
