package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/detectors/coco"
)

// TestPredict trains the detector briefly, then runs `smoothl1 predict` on the validation
// images. Oracle: `eval --results` of the same checkpoint, whose detections of those images
// above the threshold must be predict's, box for box and score for score (the same network,
// letterbox and decoding reached through a results file instead of a picture folder).
func TestPredict(t *testing.T) {
	tmp := t.TempDir()
	data, run, out := filepath.Join(tmp, "data"), filepath.Join(tmp, "run"), filepath.Join(tmp, "pred")
	if err := coco.Generate(data, coco.GenerateOptions{Images: 20, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd("train", "--task", "detect", "--data", data, "--loss", "sasl", "--steps", "150",
		"--batch", "4", "--lr", "0.01", "--warmup", "0", "--threads", "1", "--out", run)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	ckpt := filepath.Join(run, "checkpoint.ckpt")
	results := filepath.Join(tmp, "dets.json")
	if code, _, stderr := runCmd("eval", "--data", data, "--checkpoint", ckpt, "--results", results); code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, stderr)
	}
	val, err := coco.Load(filepath.Join(data, "val.json"), filepath.Join(data, "images"), coco.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := coco.ReadResults(results)
	if err != nil || len(rs) < 2 {
		t.Fatalf("%d detections, %v", len(rs), err)
	}
	// The threshold: the median score, so that it keeps some detections and drops others.
	scores := make([]float64, len(rs))
	for i, r := range rs {
		scores[i] = r.Score
	}
	slices.Sort(scores)
	thresh := scores[len(scores)/2]
	args := []string{"predict", "--checkpoint", ckpt, "--out", out, "--score-threshold", strconv.FormatFloat(thresh, 'g', -1, 64)}
	want := map[string][]coco.Result{}
	for _, im := range val.Images {
		args = append(args, im.Path)
		for _, r := range rs {
			if r.ImageID == im.ID && r.Score >= thresh {
				want[im.Path] = append(want[im.Path], r)
			}
		}
	}
	code, stdout, stderr := runCmd(args...)
	if code != 0 {
		t.Fatalf("predict: exit %d\n%s", code, stderr)
	}
	t.Log(stdout)
	var got []predictedImage
	if err := json.Unmarshal(readFile(t, filepath.Join(out, "detections.json")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(val.Images) {
		t.Fatalf("%d images in detections.json, want %d", len(got), len(val.Images))
	}
	total := 0
	for i, g := range got {
		im := val.Images[i]
		if g.FileName != im.Path || g.Width != im.Width || g.Height != im.Height {
			t.Errorf("entry %d: %+v, want %s %d×%d", i, g, im.Path, im.Width, im.Height)
		}
		w := want[im.Path]
		if len(g.Detections) != len(w) {
			t.Errorf("%s: %d detections, eval --results has %d above %v", im.Path, len(g.Detections), len(w), thresh)
			continue
		}
		// eval --results lists them per image in Detect's order (score descending within a
		// class after NMS); predict sorts by score: compare as sets.
		for _, d := range g.Detections {
			found := false
			for _, r := range w {
				found = found || (r.BBox == d.BBox && r.Score == d.Score && r.CategoryID == d.CategoryID)
			}
			if !found {
				t.Errorf("%s: detection %+v not among eval's", im.Path, d)
			}
			if !strings.Contains("rectangle ellipse triangle", d.Category) || d.Category == "" {
				t.Errorf("category name %q", d.Category)
			}
		}
		total += len(w)
		f, err := os.Open(filepath.Join(out, g.Picture))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 384 {
			t.Errorf("%s: picture %v, %v: want a PNG scaled to ≥ 384 pixels", g.Picture, img.Bounds(), err)
		}
	}
	if total == 0 {
		t.Fatal("no detection above the threshold: nothing was compared")
	}

	// --images DIR: sub-folders are walked, pictures mirror them, and an --out inside DIR
	// is not read back as input on a rerun.
	imgs := filepath.Join(tmp, "imgs")
	os.MkdirAll(filepath.Join(imgs, "sub"), 0o755)
	os.WriteFile(filepath.Join(imgs, "a.png"), readFile(t, val.Images[0].Path), 0o644)
	os.WriteFile(filepath.Join(imgs, "sub", "b.png"), readFile(t, val.Images[1].Path), 0o644)
	inside := filepath.Join(imgs, "pred")
	for run := range 2 {
		if code, _, stderr := runCmd("predict", "--checkpoint", ckpt, "--images", imgs, "--out", inside); code != 0 {
			t.Fatalf("predict --images (run %d): exit %d\n%s", run, code, stderr)
		}
		var listing []predictedImage
		if err := json.Unmarshal(readFile(t, filepath.Join(inside, "detections.json")), &listing); err != nil {
			t.Fatal(err)
		}
		if len(listing) != 2 || listing[0].FileName != "a.png" || listing[1].Picture != "sub/b.png" {
			t.Fatalf("run %d: %+v, want a.png and sub/b.png only", run, listing)
		}
		if _, err := os.Stat(filepath.Join(inside, "sub", "b.png")); err != nil {
			t.Fatal(err)
		}
	}

	for _, bad := range [][]string{
		{"predict", "--checkpoint", ckpt, "--out", out},                                               // no images
		{"predict", "--checkpoint", ckpt, "--out", out, "--images", data, val.Images[0].Path},         // both
		{"predict", "--checkpoint", ckpt, "--images", data},                                           // no --out
		{"predict", "--checkpoint", ckpt, "--out", out, "--score-threshold", "2", val.Images[0].Path}, // threshold
	} {
		if code, _, stderr := runCmd(bad...); code != 2 {
			t.Errorf("%v: exit %d, %s", bad[1:], code, stderr)
		}
	}
	if code, _, stderr := runCmd("predict", "--checkpoint", ckpt, "--out", out, filepath.Join(data, "val.json")); code != 1 || !strings.Contains(stderr, "val.json") {
		t.Errorf("a JSON file as an image: exit %d, %s", code, stderr)
	}
}
