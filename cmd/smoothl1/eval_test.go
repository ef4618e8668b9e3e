package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/detectors/coco"
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
	code, out, stderr := runCmd("eval", "--data", data, "--checkpoint", ckpt, "--json", metrics)
	if code != 0 || !strings.Contains(out, "Average Precision") {
		t.Fatalf("eval: exit %d\n%s\n%s", code, out, stderr)
	}
	var got map[string]float64
	if err := json.Unmarshal(readFile(t, metrics), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large", "ar100"} {
		if want, ok := final[k].(float64); !ok || got[k] != want {
			t.Errorf("%s: eval %v, final.json %v", k, got[k], final[k])
		}
	}
	b := readFile(t, ckpt)
	bad := filepath.Join(tmp, "bad.ckpt")
	os.WriteFile(bad, b[:len(b)/2], 0o644)
	code, _, stderr = runCmd("eval", "--data", data, "--checkpoint", bad)
	if code != 1 || !strings.Contains(stderr, "bad.ckpt") || !strings.Contains(stderr, "checksum") {
		t.Errorf("damaged checkpoint: exit %d, %s", code, stderr)
	}
}
