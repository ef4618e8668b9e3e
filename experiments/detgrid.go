package experiments

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // dataset images may be JPEGs
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/smoothl1/smoothl1/detectors"
	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/detectors/draw"
	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/recipe"
	"github.com/smoothl1/smoothl1/spec"
	"github.com/smoothl1/smoothl1/trainer"
)

// Detection grids: for each detector task, a picture of a few validation images with the
// ground truth, the baseline's detections and the self-adjusting loss's detections side by
// side, so that a reader sees what the AP numbers mean.
const (
	gridImages    = 4   // validation images (rows), the first ones of val.json
	gridThreshold = 0.3 // detections drawn: score ≥ this (smoothl1 predict's default)
	gridMinSide   = 256 // each picture scaled up to this shorter side
)

func detectionsImage(task string) string { return task + "-detections.png" }

// detectionGrid is a grid to draw: which runs, and the file.
type detectionGrid struct {
	task, file                 string
	baseline, adaptive         Record
	baselineName, adaptiveName string
}

// detectionGrids picks, per detector task, the baseline and the first self-adjusting (sasl)
// variant, on the lowest seed both finished with their last checkpoint still in the run
// folder. Tasks without such a pair get no grid.
func detectionGrids(out string, cfg Config, results []TaskResult, byID map[string]Record) []detectionGrid {
	var grids []detectionGrid
	for _, tr := range results {
		if tr.Task.Task != recipe.Detect || tr.Baseline == "" {
			continue
		}
		adaptive := ""
		for _, r := range tr.Rows {
			if s, err := spec.Parse(r.Variant); err == nil && s.Name == "sasl" {
				adaptive = r.Variant
				break
			}
		}
		if adaptive == "" {
			continue
		}
		for seed := 1; seed <= cfg.Seeds; seed++ {
			b, okB := byID[runID(tr.Task, tr.Baseline, uint64(seed))]
			a, okA := byID[runID(tr.Task, adaptive, uint64(seed))]
			if !okA || !okB || a.Status != StatusOK || b.Status != StatusOK ||
				!exists(checkpointOf(out, a)) || !exists(checkpointOf(out, b)) {
				continue
			}
			grids = append(grids, detectionGrid{task: tr.Task.Name, file: detectionsImage(tr.Task.Name),
				baseline: b, adaptive: a, baselineName: tr.Baseline, adaptiveName: adaptive})
			break
		}
	}
	return grids
}

func checkpointOf(out string, r Record) string {
	return filepath.Join(RunDir(out, r.ID), trainer.CheckpointFile)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// writeDetectionGrids draws the grids of detectionGrids into out/plots and returns the
// report's section about them ("" when there is none); a grid that cannot be drawn is
// reported there with the reason. The pictures are a function of the
// checkpoints and the dataset, so a rerun draws the same files.
func writeDetectionGrids(out string, cfg Config, results []TaskResult, byID map[string]Record) string {
	grids := detectionGrids(out, cfg, results, byID)
	if len(grids) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Detections\n\n")
	fmt.Fprintf(&b, "The first %d validation images: the ground truth (crowd regions dashed), then the detections scoring "+
		"≥ %.1f of the baseline and of the self-adjusting loss, from each run's last checkpoint "+
		"(`smoothl1 predict --checkpoint runs/ID/checkpoint.ckpt` draws any images).\n", gridImages, gridThreshold)
	for _, g := range grids {
		if err := drawDetectionGrid(filepath.Join(out, PlotsDir, g.file), out, g); err != nil {
			// A picture that cannot be drawn (a dataset moved since the sweep) is said in the
			// report, not fatal to it.
			fmt.Fprintf(&b, "\n%s: the grid could not be drawn: %v\n", g.task, err)
			continue
		}
		fmt.Fprintf(&b, "\n![%s: ground truth, %s and %s, seed %d](%s/%s)\n", g.task, g.baselineName, g.adaptiveName, g.baseline.Seed, PlotsDir, g.file)
	}
	return b.String()
}

func drawDetectionGrid(path, out string, g detectionGrid) error {
	ckptB, ckptA := checkpointOf(out, g.baseline), checkpointOf(out, g.adaptive)
	data, err := detectors.CheckpointDataset(ckptB)
	if err != nil {
		return err
	}
	det, err := detectors.New(detectors.Config{Data: data})
	if err != nil {
		return err
	}
	val := det.Val()
	n := min(gridImages, len(val.Images))
	paths := make([]string, n)
	for i := range n {
		paths[i] = val.Images[i].Path
	}
	cats := det.Categories()
	names := make([]string, len(cats))
	for l, c := range cats {
		names[l] = c.Name
	}
	subset, err := coco.FromImages(paths, cats)
	if err != nil {
		return err
	}
	// Detections of each run, per image (FromImages numbers the images 1 … n).
	var preds [2][][]draw.Box
	for k, ckpt := range []string{ckptB, ckptA} {
		vs, _, err := trainer.LoadModel(ckpt, det)
		if err != nil {
			return err
		}
		dets, err := det.DetectDataset(subset)
		trainer.DestroyVarStore(vs)
		if err != nil {
			return err
		}
		preds[k] = make([][]draw.Box, n)
		for _, d := range dets {
			if d.Score < gridThreshold {
				continue
			}
			l, _ := subset.Label(d.CategoryID)
			preds[k][d.ImageID-1] = append(preds[k][d.ImageID-1], draw.Box{Box: coco.XYWHToXYXY(d.Box), Class: l, Score: d.Score, HasScore: true})
		}
	}
	var cells [][]image.Image
	for i := range n {
		im := val.Images[i]
		src, err := detectors.DecodeImage(im.Path)
		if err != nil {
			return err
		}
		var truth []draw.Box
		for _, o := range im.Objects {
			truth = append(truth, draw.Box{Box: o.Box, Class: o.Label, Crowd: o.Crowd})
		}
		opt := func(title string) draw.Options {
			return draw.Options{Names: names, MinSide: gridMinSide, Title: title}
		}
		cells = append(cells, []image.Image{
			draw.Detections(src, truth, opt(fmt.Sprintf("%s: %d objects", im.FileName, len(truth)))),
			draw.Detections(src, preds[0][i], opt(fmt.Sprintf("%d detections", len(preds[0][i])))),
			draw.Detections(src, preds[1][i], opt(fmt.Sprintf("%d detections", len(preds[1][i])))),
		})
	}
	grid := draw.Grid(cells, []string{"ground truth", g.baselineName + " (baseline)", g.adaptiveName}, 8)
	var buf bytes.Buffer
	if err := png.Encode(&buf, grid); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}

// linkCheckpoint gives the merged run folder dst the last checkpoint of the shard's run
// folder src, when there is one (a hard link, or a copy across file systems), so that a
// merged report draws the same detection grids as an unsharded one.
func linkCheckpoint(src, dst string) error {
	from, to := filepath.Join(src, trainer.CheckpointFile), filepath.Join(dst, trainer.CheckpointFile)
	if !exists(from) || exists(to) {
		return nil
	}
	if os.Link(from, to) == nil {
		return nil
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(to, b, 0o644)
}
