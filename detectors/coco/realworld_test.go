package coco

import (
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/smoothl1/smoothl1/internal/testsupport/cocotest"
)

// TestRealWorldDataset loads cocotest's real-world-like dataset: category ids with gaps
// (1, 3, 18, 44, 90) listed out of order, images without annotations, crowd regions, a box
// overrunning the border, file names in sub-folders, and grayscale, paletted and RGBA PNGs
// and RGB and grayscale JPEGs of different sizes. Oracles: the generator's own record of
// what it wrote (ids, colours, formats).
func TestRealWorldDataset(t *testing.T) {
	dir := t.TempDir()
	rw, err := cocotest.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	images := filepath.Join(dir, "images")
	for _, split := range []string{"train", "val"} {
		ds, err := Load(filepath.Join(dir, split+".json"), images, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Labels: contiguous in ascending id, and back.
		if ds.NumClasses() != 5 {
			t.Fatalf("%d classes", ds.NumClasses())
		}
		for l, c := range cocotest.Categories {
			if got, ok := ds.Label(c.ID); !ok || got != l || ds.CategoryID(l) != c.ID || ds.Categories[l].Name != c.Name {
				t.Errorf("category %d %q: label %d, %v; back %d", c.ID, c.Name, got, ok, ds.CategoryID(l))
			}
		}
		for _, gap := range []int64{0, 2, 4, 17, 89, 91} {
			if _, ok := ds.Label(gap); ok {
				t.Errorf("category id %d is a gap but has a label", gap)
			}
		}
		// Every image is there, empty ones with no objects; sub-folder paths.
		want := map[int64]cocotest.Image{}
		for _, im := range rw.Images {
			if im.Split == split {
				want[im.ID] = im
			}
		}
		if len(ds.Images) != len(want) {
			t.Fatalf("%s: %d images, want %d", split, len(ds.Images), len(want))
		}
		crowd, objects := 0, 0
		for _, im := range ds.Images {
			w := want[im.ID]
			if im.Path != filepath.Join(images, filepath.FromSlash(w.FileName)) || im.Width != w.Width || im.Height != w.Height {
				t.Errorf("image %d: %s %d×%d, want %s %d×%d", im.ID, im.Path, im.Width, im.Height, w.FileName, w.Width, w.Height)
			}
			if slices.Contains(rw.Empty(split), im.ID) != (len(im.Objects) == 0) {
				t.Errorf("image %d: %d objects, empty in the generator: %v", im.ID, len(im.Objects), slices.Contains(rw.Empty(split), im.ID))
			}
			for _, o := range im.Objects {
				objects++
				if o.Crowd {
					crowd++
				}
			}
		}
		wantCrowd, wantObjects := 0, 0
		for _, a := range rw.Annotations {
			if _, ok := want[a.ImageID]; ok {
				wantObjects++
				wantCrowd += a.IsCrowd
			}
		}
		if crowd != wantCrowd || objects != wantObjects || crowd == 0 || len(rw.Empty(split)) == 0 {
			t.Errorf("%s: %d objects, %d crowd; want %d and %d (non-zero), empty images %v", split, objects, crowd, wantObjects, wantCrowd, rw.Empty(split))
		}
		if split == "train" && ds.Clipped != 1 {
			t.Errorf("train: %d clipped boxes, want the 1 that overruns the border", ds.Clipped)
		}

		// Pixels: the centre of each object, through decoding and letterboxing, has its
		// category's colour (its grey level in grayscale images); the RGBA image keeps the
		// colour of its translucent background (alpha dropped, as PIL's convert("RGB")).
		l, err := NewLoader(ds, LoaderOptions{Size: 128, BatchSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		const S = 128
		pixel := func(b *Batch, j int, x, y float64) [3]float64 {
			xi, yi := int(x), int(y)
			var v [3]float64
			for c := range 3 {
				n := b.Images[((j*3+c)*S+yi)*S+xi]
				v[c] = (float64(n)*float64(DefaultStd[c]) + float64(DefaultMean[c])) * 255
			}
			return v
		}
		formats := map[string]bool{}
		for b := range l.EvalBatches(4) {
			for j, s := range b.Samples {
				w := want[s.ImageID]
				formats[w.Format] = true
				gray := w.Format == "png-gray" || w.Format == "jpeg-gray"
				tol := 4.0
				if w.Format == "jpeg" || w.Format == "jpeg-gray" {
					tol = 16
				}
				for k, bx := range s.Boxes {
					if s.Crowd[k] {
						continue
					}
					c := cocotest.Colours[s.Labels[k]]
					exp := [3]float64{float64(c.R), float64(c.G), float64(c.B)}
					if gray {
						g := color.GrayModel.Convert(c).(color.Gray).Y
						exp = [3]float64{float64(g), float64(g), float64(g)}
					}
					got := pixel(&b, j, (bx[0]+bx[2])/2, (bx[1]+bx[3])/2)
					for q := range 3 {
						if math.Abs(got[q]-exp[q]) > tol {
							t.Errorf("image %d (%s) object %d: centre %v, want %v ± %v", s.ImageID, w.Format, k, got, exp, tol)
							break
						}
					}
				}
				if s.ImageID == rw.Alpha {
					got := pixel(&b, j, 1, float64(w.Height)*s.Scale-2)
					a := rw.AlphaColour
					for q, e := range []uint8{a.R, a.G, a.B} {
						if math.Abs(got[q]-float64(e)) > 2 {
							t.Errorf("RGBA image background %v, want the colour %v without its alpha", got, a)
							break
						}
					}
				}
			}
		}
		if split == "train" && len(formats) != 6 {
			t.Errorf("train formats %v, want all six", formats)
		}
	}
}
