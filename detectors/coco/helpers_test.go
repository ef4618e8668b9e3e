package coco

import (
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeImage writes a w×h image of colour c to path, encoded by the extension: .png, .jpg or
// .gif (a format Load must refuse); any other extension writes text.
func writeImage(t testing.TB, path string, w, h int, c color.RGBA) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, c)
		}
	}
	writeImageOf(t, path, img)
}

func writeImageOf(t testing.TB, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	switch filepath.Ext(path) {
	case ".png":
		err = png.Encode(f, img)
	case ".jpg":
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	case ".gif":
		err = gif.Encode(f, img, nil)
	default:
		_, err = f.WriteString("not an image\n")
	}
	if err != nil {
		t.Fatal(err)
	}
}

func writeText(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cocoJSON assembles an instances file from its three arrays, one record a line.
func cocoJSON(images, annotations, categories []string) string {
	arr := func(items []string) string {
		if len(items) == 0 {
			return "[]"
		}
		return "[\n  " + strings.Join(items, ",\n  ") + "\n]"
	}
	return "{\n\"images\": " + arr(images) + ",\n\"annotations\": " + arr(annotations) +
		",\n\"categories\": " + arr(categories) + "\n}\n"
}

var grey = color.RGBA{128, 128, 128, 255}
