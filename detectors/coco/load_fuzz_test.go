package coco

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// cocoErrors are the exported errors; every error Load or NewLoader returns wraps one.
var cocoErrors = []error{ErrSyntax, ErrField, ErrDuplicateID, ErrUnknownImage, ErrUnknownCategory,
	ErrBadBox, ErrMissingImage, ErrImageFormat, ErrImageSize, ErrOption, ErrEmpty}

// fuzzImageDir writes the image folder both fuzz targets load against, once per process:
// Generate's two 32×32 PNGs (000001.png, 000002.png) and the fixture's a.png (20×10) and
// b.jpg (16×16). It returns the folder and Generate's two instances files.
func fuzzImageDir(f *testing.F) (imageDir string, jsons [][]byte) {
	dir := f.TempDir()
	if err := Generate(dir, GenerateOptions{Images: 2, Seed: 5, Size: 32, ValFraction: 0.5}); err != nil {
		f.Fatal(err)
	}
	imageDir = filepath.Join(dir, "images")
	writeImage(f, filepath.Join(imageDir, "a.png"), 20, 10, grey)
	writeImage(f, filepath.Join(imageDir, "b.jpg"), 16, 16, grey)
	for _, name := range []string{"train.json", "val.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		jsons = append(jsons, b)
	}
	return imageDir, jsons
}

// FuzzLoad loads arbitrary bytes as an instances file against a fixed image folder.
// Invariants: no panic; an error begins "coco: ", wraps one of the exported errors and names
// the annotation file (or, for an image's content, the image file); a dataset that loads has
// its images, objects and categories in ascending id without duplicates, every kept box
// finite, of positive area and inside its image, every label that of a known category, an
// area finite and ≥ 0, every annotation of the file either kept or counted in Skipped, and
// Clipped ≤ kept; Strict loads the same dataset when nothing was skipped and fails with
// ErrBadBox when something was.
func FuzzLoad(f *testing.F) {
	imageDir, jsons := fuzzImageDir(f)
	for _, j := range jsons {
		f.Add(j)
	}
	ann := func(s string) []string { return with(goodAnnotations, s) }
	for _, s := range []string{
		cocoJSON(goodImages, goodAnnotations, goodCategories),
		cocoJSON(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [NaN, 0, Infinity, -Infinity], "area": NaN}`), goodCategories),
		cocoJSON(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [-5, -5, 10, 30], "area": -1}`), goodCategories),
		cocoJSON(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [25, 0, 1, 1]}`), goodCategories),
		cocoJSON(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [0, 0, 0, 1]}`), goodCategories),
		cocoJSON(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [1e308, 0, 1e308, 1]}`), goodCategories),
		cocoJSON(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [0, 0, 1e999, 1], "iscrowd": 1}`), goodCategories),
		cocoJSON(goodImages, ann(`{"id": 12, "image_id": 1, "category_id": 3, "bbox": [0, "2", 1, 1]}`), goodCategories),
		cocoJSON(goodImages, ann(`{"id": 10, "image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1]}`), goodCategories),
		cocoJSON(goodImages, ann(`{"id": 12, "image_id": 9, "category_id": 3, "bbox": [0, 0, 1, 1]}`), goodCategories),
		cocoJSON(with(goodImages, `{"id": 3, "file_name": "missing.png", "width": 20, "height": 10}`), goodAnnotations, goodCategories),
		cocoJSON(with(goodImages, `{"id": 3, "file_name": "a.png", "width": 21, "height": 10}`), goodAnnotations, goodCategories),
		cocoJSON(with(goodImages, `{"id": 3, "file_name": "../images/b.jpg", "width": 16, "height": 16}`), goodAnnotations, goodCategories),
		cocoJSON(nil, nil, nil),
		"{\"images\": [\n  {\"id\": 1 \"file_name\": \"a.png\"}]}",
		`{"images": NaN, "annotations": "NaN\"Infinity"}`,
		`{"images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 10}], "images": []}`,
		"",
		"null",
	} {
		f.Add([]byte(s))
	}
	annPath := filepath.Join(f.TempDir(), "instances.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(annPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ds, err := Load(annPath, imageDir, LoadOptions{})
		if err != nil {
			checkLoadError(t, err, annPath)
			return // Strict fails too: it only adds failures (not checked, to fuzz faster)
		}
		checkDataset(t, ds, data)
		strict, strictErr := Load(annPath, imageDir, LoadOptions{Strict: true})
		switch {
		case ds.Skipped.Total() == 0 && (strictErr != nil || !reflect.DeepEqual(ds, strict)):
			t.Fatalf("nothing skipped, but Strict gives %v", strictErr)
		case ds.Skipped.Total() > 0 && !errors.Is(strictErr, ErrBadBox):
			t.Fatalf("%+v skipped, but Strict gives %v, want ErrBadBox", ds.Skipped, strictErr)
		}
		if strictErr != nil {
			checkLoadError(t, strictErr, annPath)
		}
	})
}

func checkLoadError(t *testing.T, err error, annPath string) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "coco: ") {
		t.Fatalf("error %q does not begin with coco: ", msg)
	}
	known := false
	for _, e := range cocoErrors {
		known = known || errors.Is(err, e)
	}
	if !known {
		t.Fatalf("error %q wraps none of the package's errors", msg)
	}
	image := errors.Is(err, ErrImageFormat) || errors.Is(err, ErrImageSize)
	if !strings.Contains(msg, annPath) && !(image && strings.Contains(msg, " (image id ")) {
		t.Fatalf("error %q does not name the file", msg)
	}
}

// checkDataset checks a loaded dataset against the file it came from.
func checkDataset(t *testing.T, ds *Dataset, data []byte) {
	t.Helper()
	var file struct{ Annotations []json.RawMessage }
	if err := json.Unmarshal(nonFiniteTokens(data), &file); err != nil {
		t.Fatalf("Load accepted a file encoding/json refuses: %v", err)
	}
	for l, c := range ds.Categories {
		if l > 0 && c.ID <= ds.Categories[l-1].ID {
			t.Fatalf("categories not in ascending id: %v", ds.Categories)
		}
		if got, ok := ds.Label(c.ID); !ok || got != l || ds.CategoryID(l) != c.ID {
			t.Fatalf("category %d: label %d, %v", c.ID, got, ok)
		}
	}
	kept := 0
	for i, im := range ds.Images {
		if i > 0 && im.ID <= ds.Images[i-1].ID {
			t.Fatalf("images not in ascending id: %d after %d", im.ID, ds.Images[i-1].ID)
		}
		if im.Width <= 0 || im.Height <= 0 {
			t.Fatalf("image %d is %d×%d", im.ID, im.Width, im.Height)
		}
		w, h := float64(im.Width), float64(im.Height)
		for k, o := range im.Objects {
			kept++
			if k > 0 && o.AnnotationID <= im.Objects[k-1].AnnotationID {
				t.Fatalf("image %d: objects not in ascending id", im.ID)
			}
			b := o.Box
			if !(0 <= b[0] && b[0] < b[2] && b[2] <= w && 0 <= b[1] && b[1] < b[3] && b[3] <= h) {
				t.Fatalf("annotation %d: box %v not inside its %d×%d image with positive area", o.AnnotationID, b, im.Width, im.Height)
			}
			if !(o.Area >= 0) || math.IsInf(o.Area, 0) {
				t.Fatalf("annotation %d: area %v", o.AnnotationID, o.Area)
			}
			if o.Label < 0 || o.Label >= ds.NumClasses() || ds.Categories[o.Label].ID != o.CategoryID {
				t.Fatalf("annotation %d: label %d for category %d", o.AnnotationID, o.Label, o.CategoryID)
			}
		}
	}
	if kept+ds.Skipped.Total() != len(file.Annotations) {
		t.Fatalf("%d kept + %+v skipped, but the file has %d annotations", kept, ds.Skipped, len(file.Annotations))
	}
	if ds.Clipped < 0 || ds.Clipped > kept {
		t.Fatalf("%d clipped of %d kept", ds.Clipped, kept)
	}
}

// FuzzLoadImage fuzzes the bytes of an image file that an instances file names as 20×10, with
// one annotation. Invariants: no panic; Load either accepts the file or fails with
// ErrImageFormat or ErrImageSize naming the image file; after Load, NewLoader (which decodes
// the pixels) either succeeds, giving a batch of 3·S² finite values per image, or fails the
// same way, naming the file.
func FuzzLoadImage(f *testing.F) {
	rgba := image.NewRGBA(image.Rect(0, 0, 20, 10))
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i * 7)
	}
	encode := func(enc func(*bytes.Buffer) error) []byte {
		var b bytes.Buffer
		if err := enc(&b); err != nil {
			f.Fatal(err)
		}
		return b.Bytes()
	}
	pngRGBA := encode(func(b *bytes.Buffer) error { return png.Encode(b, rgba) })
	seeds := [][]byte{
		pngRGBA,
		encode(func(b *bytes.Buffer) error { return jpeg.Encode(b, rgba, &jpeg.Options{Quality: 50}) }),
		encode(func(b *bytes.Buffer) error { return png.Encode(b, image.NewGray16(image.Rect(0, 0, 20, 10))) }),
		encode(func(b *bytes.Buffer) error {
			return png.Encode(b, image.NewPaletted(image.Rect(0, 0, 20, 10), color.Palette{color.Black, color.White}))
		}),
		encode(func(b *bytes.Buffer) error { return jpeg.Encode(b, image.NewGray(image.Rect(0, 0, 20, 10)), nil) }),
		encode(func(b *bytes.Buffer) error { return png.Encode(b, image.NewRGBA(image.Rect(0, 0, 10, 20))) }),
		encode(func(b *bytes.Buffer) error { return gif.Encode(b, rgba, nil) }),
		pngRGBA[:len(pngRGBA)/2],
		pngRGBA[:40],
		[]byte("not an image\n"),
		nil,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	dir := f.TempDir()
	imgPath := filepath.Join(dir, "img.png")
	annPath := filepath.Join(dir, "instances.json")
	js := cocoJSON([]string{`{"id": 7, "file_name": "img.png", "width": 20, "height": 10}`},
		[]string{`{"id": 1, "image_id": 7, "category_id": 1, "bbox": [2, 2, 10, 5]}`}, []string{`{"id": 1, "name": "x"}`})
	if err := os.WriteFile(annPath, []byte(js), 0o644); err != nil {
		f.Fatal(err)
	}
	const size = 16
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(imgPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		namesImage := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, ErrImageFormat) && !errors.Is(err, ErrImageSize) || !strings.HasPrefix(err.Error(), "coco: ") || !strings.Contains(err.Error(), ": "+imgPath+" (image id ") {
				t.Fatalf("%s: error %q: want ErrImageFormat or ErrImageSize naming %s", what, err, imgPath)
			}
		}
		ds, err := Load(annPath, dir, LoadOptions{})
		if err != nil {
			namesImage("Load", err)
			return
		}
		l, err := NewLoader(ds, LoaderOptions{Size: size, BatchSize: 1})
		if err != nil {
			namesImage("NewLoader", err)
			return
		}
		b := l.Batch(0)
		if len(b.Images) != 3*size*size || len(b.Samples) != 1 || len(b.Samples[0].Boxes) != 1 {
			t.Fatalf("batch of %d values, %d samples", len(b.Images), len(b.Samples))
		}
		for _, v := range b.Images {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("pixel value %v", v)
			}
		}
	})
}
