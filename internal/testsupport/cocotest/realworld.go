// Package cocotest writes a small COCO dataset with the features of real-world data, for
// tests: category ids with gaps (COCO's 1 … 90 style), images without annotations, crowd
// regions, grayscale, paletted and RGBA PNGs and RGB and grayscale JPEGs, images of different
// sizes and aspects, file names in sub-folders, and an annotation overrunning the image
// border. It uses the standard library only (so package coco's own tests can use it).
package cocotest

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
)

// Categories of the dataset: a subset of COCO's, ids with gaps up to 90.
var Categories = []Category{{1, "person"}, {3, "car"}, {18, "dog"}, {44, "bottle"}, {90, "toothbrush"}}

// Category is a COCO category.
type Category struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Colours of the categories' objects, by position in Categories, far apart in RGB and in
// grey level (so that grayscale images separate them too).
var Colours = []color.NRGBA{{230, 40, 40, 255}, {40, 200, 60, 255}, {40, 60, 230, 255}, {250, 230, 40, 255}, {20, 20, 20, 255}}

// Image describes one written image.
type Image struct {
	ID       int64  `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Format   string `json:"-"` // png-gray, png-paletted, png-rgba, png-rgb, jpeg, jpeg-gray
	Split    string `json:"-"` // train or val
}

// Annotation is one written annotation.
type Annotation struct {
	ID         int64      `json:"id"`
	ImageID    int64      `json:"image_id"`
	CategoryID int64      `json:"category_id"`
	BBox       [4]float64 `json:"bbox"`
	Area       float64    `json:"area"`
	IsCrowd    int        `json:"iscrowd"`
}

// Dataset is what Write wrote.
type Dataset struct {
	Dir         string // train.json, val.json, images/
	Images      []Image
	Annotations []Annotation
	// Alpha is the image id of the RGBA PNG; its background pixels have alpha 96 over the
	// colour AlphaColour, which a loader that drops alpha (as PIL's convert("RGB") does) keeps.
	Alpha       int64
	AlphaColour color.NRGBA
}

// Empty returns the ids of the images of split without annotations.
func (d *Dataset) Empty(split string) []int64 {
	has := map[int64]bool{}
	for _, a := range d.Annotations {
		has[a.ImageID] = true
	}
	var ids []int64
	for _, im := range d.Images {
		if im.Split == split && !has[im.ID] {
			ids = append(ids, im.ID)
		}
	}
	return ids
}

// Write writes the dataset into dir: 18 images (14 train, 4 val) with COCO-like ids, in
// sub-folders of dir/images (train2017/a/…, val2017/…), sizes from 64×48 to 160×112, cycling
// through the six formats; 1 to 3 filled rectangles per annotated image in their category's
// colour on a grey gradient; two train images and one val image without annotations; a crowd
// region on three images (one in val); one box running past the right border.
func Write(dir string) (*Dataset, error) {
	formats := []string{"png-gray", "png-paletted", "png-rgba", "png-rgb", "jpeg", "jpeg-gray"}
	sizes := [][2]int{{96, 64}, {80, 120}, {128, 96}, {64, 48}, {160, 112}, {112, 112}}
	ds := &Dataset{Dir: dir, AlphaColour: color.NRGBA{90, 160, 200, 96}}
	annID := int64(900100)
	for i := range 18 {
		split, folder := "train", fmt.Sprintf("train2017/%c", 'a'+i%3)
		if i >= 14 {
			split, folder = "val", "val2017"
		}
		id := int64(139 + 97*i) // COCO-like: sparse, not starting at 1
		f := formats[i%len(formats)]
		ext := ".png"
		if f == "jpeg" || f == "jpeg-gray" {
			ext = ".jpg"
		}
		w, h := sizes[i%len(sizes)][0], sizes[i%len(sizes)][1]
		im := Image{ID: id, FileName: fmt.Sprintf("%s/%012d%s", folder, id, ext), Width: w, Height: h, Format: f, Split: split}
		canvas := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				g := uint8(100 + 50*x/w + 30*y/h)
				a := uint8(255)
				if f == "png-rgba" {
					canvas.SetNRGBA(x, y, ds.AlphaColour)
					continue
				}
				canvas.SetNRGBA(x, y, color.NRGBA{g, g, g, a})
			}
		}
		if f == "png-rgba" {
			ds.Alpha = id
		}
		empty := i == 4 || i == 9 || i == 16
		if !empty {
			n := 1 + i%3
			for k := range n {
				c := (i + 2*k) % len(Categories)
				bw, bh := w/3+4*k, h/3+3*k
				x0, y0 := (k*w)/4+2, (k*h)/5+2
				if x0+bw > w {
					bw = w - x0
				}
				if y0+bh > h {
					bh = h - y0
				}
				box := [4]float64{float64(x0), float64(y0), float64(bw), float64(bh)}
				if i == 7 && k == 0 {
					// The object reaches the right border and its box overruns it by 10
					// pixels, as rounding in exports does: loaders clip it.
					bw = w - x0
					box[2] = float64(bw + 10)
				}
				fill(canvas, x0, y0, bw, bh, Colours[c])
				ds.Annotations = append(ds.Annotations, Annotation{ID: annID, ImageID: id, CategoryID: Categories[c].ID,
					BBox: box, Area: float64(bw * bh), IsCrowd: 0})
				annID += 7
			}
			if i == 2 || i == 11 || i == 15 {
				// A crowd region over the lower right quarter, with a few small objects in it.
				cx, cy, cw, ch := w/2, h/2, w/2, h/2
				for q := range 3 {
					fill(canvas, cx+2+q*cw/3, cy+ch/3, cw/5, ch/4, Colours[0])
				}
				ds.Annotations = append(ds.Annotations, Annotation{ID: annID, ImageID: id, CategoryID: Categories[0].ID,
					BBox: [4]float64{float64(cx), float64(cy), float64(cw), float64(ch)}, Area: float64(cw*ch) * 0.4, IsCrowd: 1})
				annID += 7
			}
		}
		path := filepath.Join(dir, "images", filepath.FromSlash(im.FileName))
		if err := encode(path, f, canvas); err != nil {
			return nil, err
		}
		ds.Images = append(ds.Images, im)
	}
	for _, split := range []string{"train", "val"} {
		var file struct {
			Images      []Image      `json:"images"`
			Annotations []Annotation `json:"annotations"`
			Categories  []Category   `json:"categories"`
			Info        any          `json:"info"`
			Licenses    []any        `json:"licenses"`
		}
		file.Info = map[string]string{"description": "cocotest real-world-like dataset"}
		file.Licenses = []any{}
		file.Annotations = []Annotation{}
		in := map[int64]bool{}
		for _, im := range ds.Images {
			if im.Split == split {
				file.Images = append(file.Images, im)
				in[im.ID] = true
			}
		}
		for _, a := range ds.Annotations {
			if in[a.ImageID] {
				file.Annotations = append(file.Annotations, a)
			}
		}
		// Categories listed out of order, as some exports do.
		file.Categories = []Category{Categories[3], Categories[0], Categories[4], Categories[2], Categories[1]}
		b, err := json.MarshalIndent(file, "", " ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, split+".json"), b, 0o644); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

func fill(img *image.NRGBA, x0, y0, w, h int, c color.NRGBA) {
	for y := y0; y < y0+h; y++ {
		for x := x0; x < x0+w; x++ {
			img.SetNRGBA(x, y, c)
		}
	}
}

// encode writes img at path in format f, creating the folders.
func encode(path, f string, img *image.NRGBA) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b := img.Bounds()
	var out image.Image = img
	switch f {
	case "png-gray", "jpeg-gray":
		g := image.NewGray(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				g.Set(x, y, img.At(x, y))
			}
		}
		out = g
	case "png-paletted":
		pal := color.Palette{}
		for _, c := range Colours {
			pal = append(pal, c)
		}
		for v := 0; v < 256; v += 2 {
			pal = append(pal, color.NRGBA{uint8(v), uint8(v), uint8(v), 255})
		}
		p := image.NewPaletted(b, pal)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				p.Set(x, y, img.At(x, y))
			}
		}
		out = p
	case "png-rgb":
		r := image.NewRGBA(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r.Set(x, y, img.At(x, y))
			}
		}
		out = r
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if f == "jpeg" || f == "jpeg-gray" {
		err = jpeg.Encode(fh, out, &jpeg.Options{Quality: 95})
	} else {
		err = png.Encode(fh, out)
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}
