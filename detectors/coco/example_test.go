package coco_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/smoothl1/smoothl1/detectors/coco"
)

func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "synthetic")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := coco.Generate(dir, coco.GenerateOptions{Images: 10, Seed: 1}); err != nil {
		log.Fatal(err)
	}
	images, _ := os.ReadDir(filepath.Join(dir, "images"))
	fmt.Println(len(images), "images, first", images[0].Name())
	// Output:
	// 10 images, first 000001.png
}

func ExampleLoad() {
	dir, err := os.MkdirTemp("", "synthetic")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := coco.Generate(dir, coco.GenerateOptions{Images: 10, Seed: 1}); err != nil {
		log.Fatal(err)
	}
	ds, err := coco.Load(filepath.Join(dir, "val.json"), filepath.Join(dir, "images"), coco.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range ds.Categories {
		label, _ := ds.Label(c.ID)
		fmt.Printf("category %d %q → label %d\n", c.ID, c.Name, label)
	}
	im := ds.Images[0]
	o := im.Objects[0]
	fmt.Printf("image %d (%s, %d×%d), objects: %d, first: %s at %v (x1 y1 x2 y2), area %v px\n",
		im.ID, im.FileName, im.Width, im.Height, len(im.Objects), ds.Categories[o.Label].Name, o.Box, o.Area)
	fmt.Println("skipped:", ds.Skipped.Total())
	// Output:
	// category 1 "rectangle" → label 0
	// category 2 "ellipse" → label 1
	// category 3 "triangle" → label 2
	// image 9 (000009.png, 128×128), objects: 1, first: ellipse at [102 0 114 11] (x1 y1 x2 y2), area 106 px
	// skipped: 0
}

func ExampleNewLoader() {
	dir, err := os.MkdirTemp("", "synthetic")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := coco.Generate(dir, coco.GenerateOptions{Images: 10, Seed: 1}); err != nil {
		log.Fatal(err)
	}
	ds, err := coco.Load(filepath.Join(dir, "train.json"), filepath.Join(dir, "images"), coco.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	l, err := coco.NewLoader(ds, coco.LoaderOptions{Size: 64, BatchSize: 4, Flip: true, Seed: 7})
	if err != nil {
		log.Fatal(err)
	}
	// Training: step 2 holds samples 8 … 11 of the run, i.e. epoch 1 (8 images an epoch).
	b := l.Batch(2)
	fmt.Println("images:", len(b.Images), "floats = 4 × 3 × 64 × 64")
	s := b.Samples[0]
	fmt.Printf("image %d, scale %v, flipped %v, boxes: %d, first %v → original %v\n",
		s.ImageID, s.Scale, s.Flipped, len(s.Boxes), s.Boxes[0], b.ToOriginal(0, s.Boxes[0]))
	// Evaluation: every image once, in order, unflipped.
	n := 0
	for b := range l.EvalBatches(3) {
		n += len(b.Samples)
	}
	fmt.Println("evaluated", n, "images")
	// Output:
	// images: 49152 floats = 4 × 3 × 64 × 64
	// image 4, scale 0.5, flipped false, boxes: 4, first [29.5 30 54.5 48] → original [59 60 109 96]
	// evaluated 8 images
}

func ExampleReadResults() {
	dir, err := os.MkdirTemp("", "results")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "dets.json")
	rs := []coco.Result{{ImageID: 42, CategoryID: 18, BBox: [4]float64{10, 20, 30.5, 40}, Score: 0.93}}
	if err := coco.WriteResults(path, rs); err != nil {
		log.Fatal(err)
	}
	got, err := coco.ReadResults(path)
	fmt.Println(got, err)

	// A bad entry is named.
	os.WriteFile(path, []byte(`[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1e200, 1e200], "score": 1}]`), 0o644)
	_, err = coco.ReadResults(path)
	fmt.Println(err != nil && errors.Is(err, coco.ErrBadBox))
	// Output:
	// [{42 18 [10 20 30.5 40] 0.93}] <nil>
	// true
}
