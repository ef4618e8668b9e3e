package coco

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"
)

// decodeRGBA decodes a PNG or JPEG file into an *image.RGBA whose bounds start at (0, 0).
// An image with transparent pixels keeps their colours and loses its alpha, as PIL's
// Image.convert("RGB") does; grayscale, paletted and YCbCr images become RGB.
func decodeRGBA(path string, id int64) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: image id %d: %w", ErrMissingImage, id, err)
	}
	defer f.Close()
	img, format, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (image id %d): %v", ErrImageFormat, path, id, err)
	}
	if format != "png" && format != "jpeg" {
		return nil, fmt.Errorf("%w: %s (image id %d): it is %s", ErrImageFormat, path, id, format)
	}
	b := img.Bounds()
	if o, ok := img.(interface{ Opaque() bool }); ok && !o.Opaque() {
		// Drop alpha, as PIL's Image.convert("RGB") does (torchvision's and detectron2's
		// loaders use it): a pixel keeps its colour, whatever its transparency.
		rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				c.A = 255
				rgba.SetRGBA(x-b.Min.X, y-b.Min.Y, color.RGBA(c))
			}
		}
		return rgba, nil
	}
	if rgba, ok := img.(*image.RGBA); ok && rgba.Rect.Min == (image.Point{}) {
		return rgba, nil
	}
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Rect, img, b.Min, draw.Src)
	return rgba, nil
}

// letterboxScale is the factor that fits a w×h image into size×size keeping its aspect:
//
//	scale = min(size/w, size/h)
//
// and the size of the scaled image in whole pixels, round(w·scale) × round(h·scale).
func letterboxScale(w, h, size int) (scale float64, nw, nh int) {
	scale = min(float64(size)/float64(w), float64(size)/float64(h))
	nw = min(max(int(math.Round(float64(w)*scale)), 1), size)
	nh = min(max(int(math.Round(float64(h)*scale)), 1), size)
	return scale, nw, nh
}

// letterbox scales src to fit size×size (see letterboxScale), puts it at the top-left and
// pads the bottom or right with pad, and returns the result planar, [3, size, size]. A point
// (x, y) of src, in continuous pixel coordinates, lands at (x·scale, y·scale).
//
// Resampling is separable with a triangle filter whose support widens to 1/scale source
// pixels when shrinking, so downscaling averages instead of aliasing (PIL's antialiased
// bilinear); at scale 1 it copies the pixels exactly.
func letterbox(src *image.RGBA, size int, pad [3]uint8) (chw []uint8, scale float64) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	scale, nw, nh := letterboxScale(w, h, size)
	plane := size * size
	chw = make([]uint8, 3*plane)
	for c := range 3 {
		p := chw[c*plane : (c+1)*plane]
		for k := range p {
			p[k] = pad[c]
		}
	}
	if nw == w && nh == h {
		for y := range h {
			row := src.Pix[y*src.Stride:]
			for x := range w {
				for c := range 3 {
					chw[c*plane+y*size+x] = row[4*x+c]
				}
			}
		}
		return chw, scale
	}

	// Horizontal pass into tmp [h][nw][3], then vertical pass into chw.
	tx := resampleTaps(w, nw, scale)
	ty := resampleTaps(h, nh, scale)
	tmp := make([]float32, h*nw*3)
	for y := range h {
		row := src.Pix[y*src.Stride:]
		for x, t := range tx {
			var acc [3]float32
			for k, wt := range t.weights {
				s := 4 * (t.start + k)
				acc[0] += wt * float32(row[s])
				acc[1] += wt * float32(row[s+1])
				acc[2] += wt * float32(row[s+2])
			}
			copy(tmp[(y*nw+x)*3:], acc[:])
		}
	}
	for y, t := range ty {
		for x := range nw {
			var acc [3]float32
			for k, wt := range t.weights {
				s := ((t.start+k)*nw + x) * 3
				acc[0] += wt * tmp[s]
				acc[1] += wt * tmp[s+1]
				acc[2] += wt * tmp[s+2]
			}
			for c := range 3 {
				chw[c*plane+y*size+x] = uint8(min(max(math.Round(float64(acc[c])), 0), 255))
			}
		}
	}
	return chw, scale
}

// tap is the source pixels and weights of one destination pixel.
type tap struct {
	start   int
	weights []float32
}

// resampleTaps computes, for each of dstLen destination pixels, the weights of the source
// pixels: destination pixel i has its centre at source coordinate (i + ½)/scale, and source
// pixel k, centred at k + ½, weighs tent((k + ½ − centre)/support), normalised, with
// support = max(1, 1/scale) and tent(t) = max(0, 1 − |t|).
func resampleTaps(srcLen, dstLen int, scale float64) []tap {
	support := max(1, 1/scale)
	taps := make([]tap, dstLen)
	for i := range taps {
		centre := (float64(i) + 0.5) / scale
		lo := max(int(math.Floor(centre-support)), 0)
		hi := min(int(math.Ceil(centre+support)), srcLen-1)
		var ws []float32
		var sum float64
		for k := lo; k <= hi; k++ {
			wt := max(0, 1-math.Abs((float64(k)+0.5-centre)/support))
			ws = append(ws, float32(wt))
			sum += wt
		}
		if sum == 0 { // cannot happen for centres inside the image; nearest pixel then
			lo, ws, sum = min(max(int(centre), 0), srcLen-1), []float32{1}, 1
		}
		for k := range ws {
			ws[k] = float32(float64(ws[k]) / sum)
		}
		taps[i] = tap{start: lo, weights: ws}
	}
	return taps
}
