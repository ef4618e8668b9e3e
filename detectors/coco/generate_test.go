package coco

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// hashTree hashes every file under dir, names and contents, in walk order.
func hashTree(t *testing.T, dir string) [32]byte {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		data, err := os.ReadFile(path)
		h.Write([]byte(rel + "\x00"))
		h.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

func TestGenerateDeterministic(t *testing.T) {
	opts := GenerateOptions{Images: 12, Seed: 42}
	var hashes [3][32]byte
	for k := range hashes {
		if k == 2 {
			opts.Seed = 43
		}
		dir := t.TempDir()
		if err := Generate(dir, opts); err != nil {
			t.Fatal(err)
		}
		hashes[k] = hashTree(t, dir)
	}
	if hashes[0] != hashes[1] {
		t.Error("two runs with seed 42 wrote different files")
	}
	if hashes[0] == hashes[2] {
		t.Error("seeds 42 and 43 wrote the same files")
	}
}

// TestGenerateContent checks the dataset against its specification in Generate's doc.
func TestGenerateContent(t *testing.T) {
	dir := t.TempDir()
	const n = 60
	if err := Generate(dir, GenerateOptions{Images: n, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	train, err := Load(filepath.Join(dir, "train.json"), filepath.Join(dir, "images"), LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	val, err := Load(filepath.Join(dir, "val.json"), filepath.Join(dir, "images"), LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(train.Images) != 48 || len(val.Images) != 12 {
		t.Fatalf("split %d/%d, want 48/12 (ValFraction 0.2)", len(train.Images), len(val.Images))
	}
	if train.Clipped+val.Clipped != 0 {
		t.Errorf("%d boxes were clipped; objects are drawn inside the image", train.Clipped+val.Clipped)
	}
	var perClass [numClasses]int
	annIDs := map[int64]bool{}
	for _, ds := range []*Dataset{train, val} {
		if ds.NumClasses() != 3 || ds.Categories[0].Name != "rectangle" || ds.Categories[2].Name != "triangle" {
			t.Fatalf("categories %+v", ds.Categories)
		}
		for _, im := range ds.Images {
			if im.Width != 128 || im.Height != 128 {
				t.Errorf("image %d is %d×%d", im.ID, im.Width, im.Height)
			}
			if k := len(im.Objects); k < minObjects || k > maxObjects {
				t.Errorf("image %d has %d objects", im.ID, k)
			}
			for a, o := range im.Objects {
				annIDs[o.AnnotationID] = true
				perClass[o.Label]++
				b := o.Box
				w, h := b[2]-b[0], b[3]-b[1]
				if b != [4]float64{math.Round(b[0]), math.Round(b[1]), math.Round(b[2]), math.Round(b[3])} {
					t.Errorf("annotation %d: box %v is not whole pixels", o.AnnotationID, b)
				}
				if s := math.Sqrt(w * h); s < 5 || s > 75 {
					t.Errorf("annotation %d: scale %.1f outside ~[10, 70]", o.AnnotationID, s)
				}
				// The shape's pixel count: a triangle fills about half its box, an ellipse π/4.
				if o.Area > w*h || o.Area < 0.3*w*h {
					t.Errorf("annotation %d: area %v for a %v×%v box", o.AnnotationID, o.Area, w, h)
				}
				for _, p := range im.Objects[:a] {
					ia := [4]int{int(p.Box[0]), int(p.Box[1]), int(p.Box[2] - p.Box[0]), int(p.Box[3] - p.Box[1])}
					ib := [4]int{int(b[0]), int(b[1]), int(w), int(h)}
					if iouAbove(ia, ib, maxObjectIoU) {
						t.Errorf("image %d: annotations %d and %d overlap with IoU > 0.6", im.ID, p.AnnotationID, o.AnnotationID)
					}
				}
			}
		}
	}
	for c, k := range perClass {
		if k < 20 {
			t.Errorf("class %s has %d objects in %d images", classNames[c], k, n)
		}
	}
	if len(annIDs) < n {
		t.Errorf("%d distinct annotation ids for %d images", len(annIDs), n)
	}
}

func TestGenerateSplitAndOptions(t *testing.T) {
	for _, c := range []struct {
		opts       GenerateOptions
		train, val int
	}{
		{GenerateOptions{Images: 2}, 1, 1},                     // at least one each
		{GenerateOptions{Images: 3, ValFraction: 0.9}, 1, 2},   // round(2.7) = 3, capped at N − 1
		{GenerateOptions{Images: 10, Size: 48}, 8, 2},          // default 0.2
		{GenerateOptions{Images: 10, ValFraction: 0.01}, 9, 1}, // round(0.1) = 0, raised to 1
	} {
		dir := t.TempDir()
		if err := Generate(dir, c.opts); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]int{"train.json": c.train, "val.json": c.val} {
			ds, err := Load(filepath.Join(dir, name), filepath.Join(dir, "images"), LoadOptions{Strict: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(ds.Images) != want {
				t.Errorf("%+v: %s has %d images, want %d", c.opts, name, len(ds.Images), want)
			}
		}
	}
	for _, bad := range []GenerateOptions{{Images: 1}, {Images: 5, Size: 16}, {Images: 5, ValFraction: 1}, {Images: 5, ValFraction: -0.1}} {
		if err := Generate(t.TempDir(), bad); !errors.Is(err, ErrOption) {
			t.Errorf("Generate(%+v) = %v, want ErrOption", bad, err)
		}
	}
}

// TestShapeFootprint: rasterisation against boxes and counts worked out by hand.
func TestShapeFootprint(t *testing.T) {
	const u = subPixel
	cases := []struct {
		name string
		size int // image side
		s    shape
		bbox [4]int
		n    int
	}{
		// [2, 7) × [3, 5) in pixels covers pixel centres 2.5 … 6.5 and 3.5, 4.5.
		{"rectangle on the grid", 8, shape{class: classRectangle, x0: 2 * u, y0: 3 * u, x1: 7 * u, y1: 5 * u}, [4]int{2, 3, 5, 2}, 10},
		// [2.5, 4.5) covers centres 2.5 and 3.5 only: the right edge is open.
		{"rectangle half-open", 8, shape{class: classRectangle, x0: 2*u + u/2, y0: 0, x1: 4*u + u/2, y1: u}, [4]int{2, 0, 2, 1}, 2},
		// Circle of radius 2 at (4, 4): centres within distance 2 — 3.5, 4.5 (±0.5) in both
		// axes and 2.5, 5.5 with the other at 3.5, 4.5 (1.5² + 0.5² = 2.5 ≤ 4): 12 pixels.
		{"circle", 8, shape{class: classEllipse, x0: 2 * u, y0: 2 * u, x1: 6 * u, y1: 6 * u}, [4]int{2, 2, 4, 4}, 12},
		// Right triangle (0,0), (4,0), (0,4): centres with x + y ≤ 4: 4 + 3 + 2 + 1 = 10.
		{"triangle", 8, shape{class: classTriangle, x0: 0, y0: 0, x1: 4 * u, y1: 4 * u, v: [3][2]int64{{0, 0}, {4 * u, 0}, {0, 4 * u}}}, [4]int{0, 0, 4, 4}, 10},
		// The same triangle listed clockwise.
		{"triangle clockwise", 8, shape{class: classTriangle, x0: 0, y0: 0, x1: 4 * u, y1: 4 * u, v: [3][2]int64{{0, 0}, {0, 4 * u}, {4 * u, 0}}}, [4]int{0, 0, 4, 4}, 10},
		// Partly outside a 4×4 image: clipped to it.
		{"clipped", 4, shape{class: classRectangle, x0: -2 * u, y0: 2 * u, x1: 2 * u, y1: 9 * u}, [4]int{0, 2, 2, 2}, 4},
	}
	for _, c := range cases {
		visited := 0
		bbox, n := c.s.footprint(c.size, func(i, j int) { visited++ })
		if bbox != c.bbox || n != c.n || visited != n {
			t.Errorf("%s: bbox %v, n %d (visited %d); want %v, %d", c.name, bbox, n, visited, c.bbox, c.n)
		}
	}
}

// TestNoise: the noise has mean ≈ 0 and standard deviation ≈ noiseSigma (10⁵ draws: the
// standard errors are 0.02 and 0.015).
func TestNoise(t *testing.T) {
	r := newRNG(1, 2)
	var s, s2 float64
	const n = 100_000
	for range n {
		v := float64(r.noise())
		s += v
		s2 += v * v
	}
	mean := s / n
	std := math.Sqrt(s2/n - mean*mean)
	if math.Abs(mean) > 0.1 || math.Abs(std-noiseSigma) > 0.1 {
		t.Errorf("noise mean %.3f, std %.3f; want 0, %v", mean, std, noiseSigma)
	}
}

func TestIntnUniform(t *testing.T) {
	r := newRNG(3, 4)
	var counts [7]int
	for range 70_000 {
		counts[r.intn(7)]++
	}
	for k, c := range counts {
		if c < 9_500 || c > 10_500 { // 10⁴ ± 5σ
			t.Errorf("intn(7) drew %d %d times in 70000", k, c)
		}
	}
}
