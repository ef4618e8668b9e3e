package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // decodes the JPEG inputs
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/smoothl1/smoothl1/detectors"
	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/detectors/cocoeval"
	"github.com/smoothl1/smoothl1/detectors/draw"
	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/trainer"
)

// predictedImage is one entry of predict's detections.json.
type predictedImage struct {
	FileName   string         `json:"file_name"` // as given (--images: relative to DIR)
	Picture    string         `json:"picture"`   // the PNG drawn, relative to --out
	Width      int            `json:"width"`
	Height     int            `json:"height"`
	Detections []predictedBox `json:"detections"`
}

type predictedBox struct {
	CategoryID int64      `json:"category_id"`
	Category   string     `json:"category"`
	BBox       [4]float64 `json:"bbox"` // x, y, w, h in the image's pixels
	Score      float64    `json:"score"`
}

func runPredict(args []string, stdout, stderr io.Writer) error {
	fset := newFlags("predict", stderr)
	ckpt := fset.String("checkpoint", "", "checkpoint `FILE` of a `train --task detect` run")
	images := fset.String("images", "", "predict every PNG and JPEG under `DIR` (sub-folders too); or give the files after the flags")
	out := fset.String("out", "", "output `DIR`: detections.json and one PNG per image")
	thresh := fset.Float64("score-threshold", 0.3, "keep detections scoring at least this (in the JSON and the pictures)")
	data := fset.String("data", "", "the dataset `DIR` the checkpoint was trained on, for its categories (default: the one recorded in the checkpoint)")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	files := fset.Args()
	switch {
	case *ckpt == "" || *out == "":
		return usagef("--checkpoint and --out are required")
	case (*images == "") == (len(files) == 0):
		return usagef("give --images DIR or image files after the flags, not both")
	case !(*thresh >= 0 && *thresh <= 1):
		return usagef("--score-threshold %v: want a number in [0, 1]", *thresh)
	}
	names := files // as written in detections.json
	paths := files
	if *images != "" {
		var err error
		if names, err = imageFiles(*images, *out); err != nil {
			return err
		}
		paths = make([]string, len(names))
		for i, n := range names {
			paths[i] = filepath.Join(*images, n)
		}
	}
	pictures, err := pictureNames(names)
	if err != nil {
		return err
	}
	det, vs, _, err := detectors.Load(*ckpt, detectors.Config{Data: *data}) // "": the checkpoint's dataset
	if err != nil {
		return fmt.Errorf("loading %s with the checkpoint's dataset (--data to name another): %w", *ckpt, err)
	}
	defer trainer.DestroyVarStore(vs)
	cats := det.Categories()
	ds, err := coco.FromImages(paths, cats)
	if err != nil {
		return err
	}
	dets, err := det.DetectDataset(ds)
	if err != nil {
		return err
	}
	byImage := map[int64][]cocoeval.Det{}
	for _, d := range dets {
		if d.Score >= *thresh {
			byImage[d.ImageID] = append(byImage[d.ImageID], d)
		}
	}
	catNames := make([]string, len(cats))
	for l, c := range cats {
		catNames[l] = c.Name
	}
	var listing []predictedImage
	total := 0
	for i, im := range ds.Images {
		mine := byImage[im.ID]
		// Lowest score first, so the best boxes are drawn on top.
		sort.SliceStable(mine, func(a, b int) bool { return mine[a].Score < mine[b].Score })
		entry := predictedImage{FileName: names[i], Picture: pictures[i], Width: im.Width, Height: im.Height, Detections: []predictedBox{}}
		var drawn []draw.Box
		for _, d := range slices.Backward(mine) {
			label, _ := ds.Label(d.CategoryID)
			entry.Detections = append(entry.Detections, predictedBox{CategoryID: d.CategoryID, Category: catNames[label], BBox: d.Box, Score: d.Score})
		}
		for _, d := range mine {
			label, _ := ds.Label(d.CategoryID)
			drawn = append(drawn, draw.Box{Box: coco.XYWHToXYXY(d.Box), Class: label, Score: d.Score, HasScore: true})
		}
		total += len(mine)
		src, err := detectors.DecodeImage(im.Path)
		if err != nil {
			return err
		}
		pic := draw.Detections(src, drawn, draw.Options{Names: catNames,
			Title: fmt.Sprintf("%s: %d detections, score ≥ %.2f", filepath.Base(names[i]), len(mine), *thresh)})
		if err := writePNG(filepath.Join(*out, pictures[i]), pic); err != nil {
			return err
		}
		listing = append(listing, entry)
	}
	b, err := json.MarshalIndent(listing, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(*out, "detections.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d images, %d detections scoring ≥ %.2f: %s\n", len(listing), total, *thresh, filepath.Join(*out, "detections.json"))
	return nil
}

// imageFiles lists the PNG and JPEG files under dir (by extension, any case), as slash-
// separated paths relative to dir, sorted, leaving out the output folder out when it is
// inside dir (a rerun must not predict on its own pictures).
func imageFiles(dir, out string) ([]string, error) {
	var names []string
	outInfo, _ := os.Stat(out)
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && outInfo != nil {
			if info, err := e.Info(); err == nil && os.SameFile(info, outInfo) {
				return filepath.SkipDir
			}
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".png", ".jpg", ".jpeg":
			if !e.IsDir() {
				rel, err := filepath.Rel(dir, p)
				if err != nil {
					return err
				}
				names = append(names, filepath.ToSlash(rel))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no PNG or JPEG files under %s", dir)
	}
	sort.Strings(names)
	return names, nil
}

// pictureNames gives each input the name of its drawn PNG under --out: its path relative to
// --images (or its base name) with the extension replaced by .png; two inputs that would
// share a picture are an error.
func pictureNames(names []string) ([]string, error) {
	out := make([]string, len(names))
	seen := map[string]string{}
	for i, n := range names {
		p := filepath.ToSlash(n)
		if filepath.IsAbs(n) || strings.HasPrefix(p, "../") {
			p = filepath.Base(n)
		}
		p = strings.TrimSuffix(p, filepath.Ext(p)) + ".png"
		if prev, dup := seen[p]; dup {
			return nil, usagef("%s and %s would both be drawn to %s", prev, n, p)
		}
		seen[p] = n
		out[i] = p
	}
	return out, nil
}

func writePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}
