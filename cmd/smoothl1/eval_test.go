package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/internal/testsupport/cocotest"
)

// TestEvalReproducesTraining trains the detector a few steps, then evaluates its checkpoint
// with `smoothl1 eval`: the metrics equal those final.json recorded at the end of training.
// A damaged checkpoint is refused with an error naming it.
func TestEvalReproducesTraining(t *testing.T) {
	tmp := t.TempDir()
	data, run := filepath.Join(tmp, "data"), filepath.Join(tmp, "run")
	if err := coco.Generate(data, coco.GenerateOptions{Images: 20, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd("train", "--task", "detect", "--data", data, "--loss", "sasl", "--steps", "150",
		"--batch", "4", "--lr", "0.01", "--warmup", "0", "--threads", "1", "--out", run)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	var final map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(run, "final.json")), &final); err != nil {
		t.Fatal(err)
	}
	// Compare real numbers: an untrained detector has no detections and every AP is 0.
	if ar, _ := final["ar100"].(float64); !(ar > 0) {
		t.Fatalf("AR@100 after training is %v: nothing to compare", final["ar100"])
	}
	ckpt := filepath.Join(run, "checkpoint.ckpt")
	metrics := filepath.Join(tmp, "eval.json")
	results := filepath.Join(tmp, "dets.json")
	code, out, stderr := runCmd("eval", "--data", data, "--checkpoint", ckpt, "--json", metrics, "--results", results)
	if code != 0 || !strings.Contains(out, "Average Precision") {
		t.Fatalf("eval: exit %d\n%s\n%s", code, out, stderr)
	}
	t.Logf("eval --checkpoint --results:\n%s", out)
	var got map[string]float64
	if err := json.Unmarshal(readFile(t, metrics), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large", "ar100"} {
		if want, ok := final[k].(float64); !ok || got[k] != want {
			t.Errorf("%s: eval %v, final.json %v", k, got[k], final[k])
		}
	}
	if len(got) != 12 {
		t.Errorf("--json has %d keys, want pycocotools' 12: %v", len(got), got)
	}

	// The round trip: the results file, scored by `eval --dets`, gives the same summary and
	// the same twelve numbers, bit for bit.
	rs, err := coco.ReadResults(results)
	if err != nil || len(rs) == 0 {
		t.Fatalf("results file: %d entries, %v", len(rs), err)
	}
	metrics2 := filepath.Join(tmp, "eval2.json")
	code, out2, stderr := runCmd("eval", "--data", data, "--dets", results, "--json", metrics2)
	if code != 0 {
		t.Fatalf("eval --dets: exit %d\n%s", code, stderr)
	}
	if out2 != out {
		t.Errorf("eval --dets printed\n%s\neval --checkpoint printed\n%s", out2, out)
	}
	var got2 map[string]float64
	if err := json.Unmarshal(readFile(t, metrics2), &got2); err != nil {
		t.Fatal(err)
	}
	for k, v := range got {
		if got2[k] != v {
			t.Errorf("round trip: %s = %v from the checkpoint, %v from its results file", k, v, got2[k])
		}
	}
	// --ann names the annotations directly; no image is read.
	if code, out3, stderr := runCmd("eval", "--ann", filepath.Join(data, "val.json"), "--dets", results); code != 0 || out3 != out {
		t.Errorf("eval --ann --dets: exit %d\n%s%s", code, out3, stderr)
	}

	b := readFile(t, ckpt)
	bad := filepath.Join(tmp, "bad.ckpt")
	os.WriteFile(bad, b[:len(b)/2], 0o644)
	code, _, stderr = runCmd("eval", "--data", data, "--checkpoint", bad)
	if code != 1 || !strings.Contains(stderr, "bad.ckpt") || !strings.Contains(stderr, "checksum") {
		t.Errorf("damaged checkpoint: exit %d, %s", code, stderr)
	}
}

// TestEvalDetsErrors: a results file with a bad entry is refused with an error naming the
// entry (pycocotools asserts on some of these and silently mis-scores others), and bad flag
// combinations are usage errors (exit 2).
func TestEvalDetsErrors(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	if err := coco.Generate(data, coco.GenerateOptions{Images: 5, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	ds, err := coco.Load(filepath.Join(data, "val.json"), filepath.Join(data, "images"), coco.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img := ds.Images[0].ID
	entry := func(image, cat int64, box, score string) string {
		return `{"image_id": ` + itoa(image) + `, "category_id": ` + itoa(cat) + `, "bbox": ` + box + `, "score": ` + score + `}`
	}
	good := entry(img, 1, "[1, 2, 30, 40]", "0.9")
	cases := []struct{ name, json, says string }{
		{"unknown image", "[" + good + ", " + entry(99999, 1, "[1, 2, 3, 4]", "0.5") + "]", "coco: unknown image id: entry 1: image_id 99999"},
		{"unknown category", "[" + entry(img, 4, "[1, 2, 3, 4]", "0.5") + "]", "coco: unknown category id: entry 0: category_id 4"},
		{"NaN box", "[" + good + ", " + entry(img, 1, "[1, NaN, 3, 4]", "0.5") + "]", "entry 1"},
		{"negative box", "[" + entry(img, 1, "[1, 2, -3, 4]", "0.5") + "]", "negative"},
		{"missing score", `[{"image_id": ` + itoa(img) + `, "category_id": 1, "bbox": [1, 2, 3, 4]}]`, `entry 0: missing "score"`},
		{"area underflows", "[" + entry(img, 1, "[0, 0, 1e-170, 1e-170]", "0.5") + "]", "underflows"},
	}
	for _, tc := range cases {
		path := filepath.Join(tmp, "dets.json")
		os.WriteFile(path, []byte(tc.json), 0o644)
		code, _, stderr := runCmd("eval", "--data", data, "--dets", path)
		if code != 1 || !strings.Contains(stderr, tc.says) {
			t.Errorf("%s: exit %d, %s", tc.name, code, stderr)
		}
	}
	for _, args := range [][]string{
		{"eval", "--data", data},
		{"eval", "--data", data, "--dets", "x.json", "--checkpoint", "c.ckpt"},
		{"eval", "--dets", "x.json"},
		{"eval", "--data", data, "--dets", "x.json", "--results", "y.json"},
	} {
		if code, _, stderr := runCmd(args...); code != 2 {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestEvalDetsRealWorld scores a results file against cocotest's real-world-like val.json
// (category ids with gaps, an image without annotations, a crowd region) given with --ann
// alone: no image is read. Oracle: the ground truth as detections gives AP = AR = 1.
func TestEvalDetsRealWorld(t *testing.T) {
	tmp := t.TempDir()
	if _, err := cocotest.Write(tmp); err != nil {
		t.Fatal(err)
	}
	ann := filepath.Join(tmp, "val.json")
	os.RemoveAll(filepath.Join(tmp, "images")) // pycocotools needs no pictures either
	ds, err := coco.Load(ann, "", coco.LoadOptions{NoImageFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	var rs []coco.Result
	for _, im := range ds.Images {
		for _, o := range im.Objects {
			if !o.Crowd {
				rs = append(rs, coco.Result{ImageID: im.ID, CategoryID: o.CategoryID, BBox: o.FileBox, Score: 0.5})
			}
		}
	}
	dets := filepath.Join(tmp, "dets.json")
	if err := coco.WriteResults(dets, rs); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(tmp, "m.json")
	code, out, stderr := runCmd("eval", "--ann", ann, "--dets", dets, "--json", m)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000") {
		t.Errorf("summary:\n%s", out)
	}
	var got map[string]float64
	if err := json.Unmarshal(readFile(t, m), &got); err != nil {
		t.Fatal(err)
	}
	if got["ap"] != 1 || got["ar100"] != 1 || got["ap75"] != 1 {
		t.Errorf("metrics %v", got)
	}
}

// TestEvalRoundTripRealWorld: the round trip on cocotest's real-world-like data (category
// ids with gaps, crowd regions, an image without annotations, a box overrunning the border,
// mixed image formats in sub-folders): train briefly, `eval --results`, then `eval --dets` of
// that file prints the same summary, and every entry carries one of the dataset's category
// ids and a val image id.
func TestEvalRoundTripRealWorld(t *testing.T) {
	tmp := t.TempDir()
	rw, err := cocotest.Write(filepath.Join(tmp, "data"))
	if err != nil {
		t.Fatal(err)
	}
	data, run := rw.Dir, filepath.Join(tmp, "run")
	code, _, stderr := runCmd("train", "--task", "detect", "--data", data, "--loss", "sasl", "--steps", "80",
		"--batch", "4", "--lr", "0.01", "--warmup", "0", "--threads", "1", "--out", run)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	results := filepath.Join(tmp, "dets.json")
	code, out, stderr := runCmd("eval", "--data", data, "--checkpoint", filepath.Join(run, "checkpoint.ckpt"), "--results", results)
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, stderr)
	}
	rs, err := coco.ReadResults(results)
	if err != nil || len(rs) == 0 {
		t.Fatalf("%d detections, %v: nothing to compare", len(rs), err)
	}
	cats, vals := map[int64]bool{}, map[int64]bool{}
	for _, c := range cocotest.Categories {
		cats[c.ID] = true
	}
	for _, im := range rw.Images {
		vals[im.ID] = im.Split == "val"
	}
	for i, r := range rs {
		if !cats[r.CategoryID] || !vals[r.ImageID] {
			t.Fatalf("entry %d: image %d, category %d", i, r.ImageID, r.CategoryID)
		}
	}
	code, out2, stderr := runCmd("eval", "--data", data, "--dets", results)
	if code != 0 || out2 != out {
		t.Errorf("eval --dets: exit %d\n%s\nwant\n%s\n%s", code, out2, out, stderr)
	}
}
