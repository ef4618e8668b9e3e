package experiments

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/detectors"
	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/detectors/draw"
	"github.com/smoothl1/smoothl1/recipe"
)

// TestDetectionGrid sweeps a tiny detector task with the baseline and a self-adjusting loss
// and checks the report's grid of validation images: the section and the image in report.md,
// a picture of 3 columns × 4 rows, whose ground-truth cells are the ground truth drawn by
// package draw (the grid assembles them unchanged), and the same picture from a merge of two
// shards (checkpoints follow the runs).
func TestDetectionGrid(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	if err := coco.Generate(data, coco.GenerateOptions{Images: 20, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	task := TaskConfig{Name: "det", Task: recipe.Detect}
	task.Data, task.Steps, task.Batch, task.CheckpointEvery = data, 4, 2, 4
	cfg := Config{Name: "gridtest", Seeds: 1, Threads: 1,
		Variants: []string{"smoothl1:beta=0.11", "sasl:betamax=0.11"}, Tasks: []TaskConfig{task}}
	whole := filepath.Join(tmp, "whole")
	sweep(t, cfg, whole, All, 1)
	rep, err := os.ReadFile(filepath.Join(whole, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rep, []byte("## Detections")) || !bytes.Contains(rep, []byte("(plots/det-detections.png)")) {
		t.Fatalf("report.md has no detection grid:\n%s", rep)
	}
	gridPNG := filepath.Join(whole, PlotsDir, detectionsImage("det"))
	if keep := os.Getenv("SMOOTHL1_KEEP_GRID"); keep != "" { // to look at it
		b, _ := os.ReadFile(gridPNG)
		os.WriteFile(keep, b, 0o644)
	}
	f, err := os.Open(gridPNG)
	if err != nil {
		t.Fatal(err)
	}
	grid, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	val, err := coco.Load(filepath.Join(data, "val.json"), filepath.Join(data, "images"), coco.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The first row's ground-truth cell, drawn here the way the grid draws it.
	im := val.Images[0]
	src, err := detectors.DecodeImage(im.Path)
	if err != nil {
		t.Fatal(err)
	}
	var truth []draw.Box
	for _, o := range im.Objects {
		truth = append(truth, draw.Box{Box: o.Box, Class: o.Label, Crowd: o.Crowd})
	}
	names := []string{"rectangle", "ellipse", "triangle"}
	cell := draw.Detections(src, truth, draw.Options{Names: names, MinSide: gridMinSide,
		Title: im.FileName + ": " + strconv.Itoa(len(truth)) + " objects"})
	headers := draw.Grid([][]image.Image{{cell}}, []string{"x"}, 8).Bounds().Dy() - cell.Bounds().Dy() - 2*8
	w := grid.Bounds().Dx()
	if w < 3*cell.Bounds().Dx()+4*8 || grid.Bounds().Dy() < 4*cell.Bounds().Dy()/2 {
		t.Fatalf("grid %v for cells of %v: want 3 columns and 4 rows", grid.Bounds(), cell.Bounds())
	}
	ox, oy := 8, headers+8
	for y := 0; y < cell.Bounds().Dy(); y++ {
		for x := 0; x < cell.Bounds().Dx(); x++ {
			r1, g1, b1, _ := grid.At(ox+x, oy+y).RGBA()
			r2, g2, b2, _ := cell.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				t.Fatalf("ground-truth cell differs at (%d, %d)", x, y)
			}
		}
	}

	// Shards merged: the checkpoints come along, and the grid is the same file.
	var shards []string
	for i := range 2 {
		dir := filepath.Join(tmp, "shard-"+strconv.Itoa(i))
		sweep(t, cfg, dir, Shard{i, 2}, 1)
		shards = append(shards, dir)
	}
	merged := filepath.Join(tmp, "merged")
	if _, err := Merge(shards, merged); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, whole, merged, []string{ReportFile, filepath.Join(PlotsDir, detectionsImage("det"))})
	if !strings.Contains(string(rep), "smoothl1:beta=0.11") {
		t.Error("the grid's caption does not name the baseline")
	}
}
