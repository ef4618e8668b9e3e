package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/smoothl1/smoothl1/detectors/coco"
)

// TestSummarizeSoak: a transient spike (a checkpoint's garbage) is not growth; a steady climb
// is, and fails the limit.
func TestSummarizeSoak(t *testing.T) {
	var flat, leak []soakSample
	for i := int64(0); i <= 100; i++ {
		rss := 250.0 + float64(i%3) // jitter
		if i >= 50 && i < 54 {
			rss += 60 // spike
		}
		flat = append(flat, soakSample{Step: i * 10, RSSMiB: rss, Live: 100})
		leak = append(leak, soakSample{Step: i * 10, RSSMiB: 250 + 0.5*float64(i), Live: 100 + int(i)})
	}
	f := summarizeSoak(flat, 200, 20)
	if !f.Pass || f.GrowthMiB > 2 || f.PeakRSSMiB != 312 || f.LiveMin != 100 || f.LiveMax != 100 {
		t.Errorf("flat with a spike: %+v", f)
	}
	l := summarizeSoak(leak, 200, 20)
	// Medians of samples 20–27 and 93–100: 261.75 and 298.25.
	if l.Pass || l.GrowthMiB < 36 || l.GrowthMiB > 37 || l.SlopeMiBPer1k < 49 || l.SlopeMiBPer1k > 51 || l.LiveMax != 200 {
		t.Errorf("steady climb: growth %v, slope %v, live max %d, pass %v", l.GrowthMiB, l.SlopeMiBPer1k, l.LiveMax, l.Pass)
	}
	if e := summarizeSoak(flat[:5], 200, 20); e.Pass {
		t.Error("no sample after warm-up passed")
	}
}

// TestSoakShort is the CI version of `make soak`: 1,000 detector steps (batch 4, one thread)
// in a fresh process; RSS must grow by less than 20 MiB after 200 warm-up steps and the live
// tensor count must not move.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the detector for 1,000 steps")
	}
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	if err := coco.Generate(data, coco.GenerateOptions{Images: 60, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "soak")
	cmd := smoothl1Command("soak", "--out", out, "--data", data, "--steps", "1000", "--batch", "4",
		"--warmup", "200", "--sample-every", "20", "--max-growth-mb", "20", "--threads", "1")
	msg, err := cmd.CombinedOutput()
	b, rerr := os.ReadFile(filepath.Join(out, "soak.json"))
	if rerr != nil {
		t.Fatalf("%v; %v\n%s", err, rerr, msg)
	}
	var res soakResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("RSS %.1f → %.1f MiB after warm-up (growth %.1f, slope %.2f MiB/1000 steps, peak %.1f); live tensors %d–%d",
		res.WarmRSSMiB, res.EndRSSMiB, res.GrowthMiB, res.SlopeMiBPer1k, res.PeakRSSMiB, res.LiveMin, res.LiveMax)
	if err != nil || !res.Pass {
		t.Errorf("soak failed: %v\n%s", err, msg)
	}
	if res.LiveMin != res.LiveMax {
		t.Errorf("live tensors moved between %d and %d after warm-up", res.LiveMin, res.LiveMax)
	}
	for _, f := range []string{"rss.csv", "rss.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
