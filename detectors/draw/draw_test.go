package draw

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func grey(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	return img
}

func TestDetectionsGeometry(t *testing.T) {
	// Oracle: the layout by hand. A 64×32 image scaled to MinSide 128 is scaled by 4; a box
	// x1, y1, x2, y2 = 8, 4, 24, 20 becomes pixels [32, 96) × [16, 80) under the title bar.
	img := grey(64, 32)
	boxes := []Box{
		{Box: [4]float64{8, 4, 24, 20}, Class: 1, Score: 0.9, HasScore: true},
		{Box: [4]float64{math.NaN(), 0, 1, 1}, Class: 2}, // skipped
		{Box: [4]float64{40, 10, 60, 30}, Class: 12, Crowd: true},
	}
	out := Detections(img, boxes, Options{Names: []string{"a", "bicycle"}, MinSide: 128, Title: "t"})
	top := face().Metrics().Height.Ceil() + 2*pad
	if out.Bounds().Dx() != 256 || out.Bounds().Dy() <= top+128 {
		t.Fatalf("bounds %v, want 256 wide and taller than %d", out.Bounds(), top+128)
	}
	c1 := Colour(1)
	for _, p := range []image.Point{{32, top + 50}, {33, top + 50}, {95, top + 50}, {94, top + 50}, {60, top + 79}} {
		if got := out.RGBAAt(p.X, p.Y); got != c1 {
			t.Errorf("outline pixel %v = %v, want %v", p, got, c1)
		}
	}
	if got := out.RGBAAt(60, top+50); got == c1 {
		t.Errorf("inside the box %v is the outline colour", got)
	}
	// The label tag does not fit above the box (16 pixels < the tag's height), so it sits
	// inside, from the box's top-left corner: tag colour or its (white) text.
	if got := out.RGBAAt(32+3, top+16+3); got != c1 && got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("label tag pixel %v", got)
	}
	// The crowd box is dashed: 6 pixels on, 6 off along its top edge (y = top + 40).
	c12 := Colour(12)
	if c12 != Colour(2) {
		t.Fatalf("Colour(12) = %v, want Colour(2) = %v (ten colours repeat)", c12, Colour(2))
	}
	on, off := 0, 0
	for x := 161; x < 239; x++ {
		if out.RGBAAt(x, top+40) == c12 {
			on++
		} else {
			off++
		}
	}
	if on == 0 || off == 0 {
		t.Errorf("crowd outline: %d on, %d off, want dashes", on, off)
	}
	// The legend below the picture has a swatch of each class drawn (1 and 12), none of 2.
	count := map[color.RGBA]int{}
	for y := top + 128; y < out.Bounds().Dy(); y++ {
		for x := 0; x < 256; x++ {
			count[out.RGBAAt(x, y)]++
		}
	}
	if count[c1] < 20 || count[c12] < 20 {
		t.Errorf("legend swatches: %d and %d pixels", count[c1], count[c12])
	}
}

func TestTextColour(t *testing.T) {
	// Oracle: luminance by hand; yellow-green (188, 189, 34) is 0.2126·188 + 0.7152·189 + 0.0722·34 = 178 > 127.5.
	if textColour(Colour(8)) != color.Black || textColour(Colour(0)) != color.White {
		t.Error("text colour")
	}
}

func TestGrid(t *testing.T) {
	// Oracle: sizes by hand: columns 10 and 30 wide, rows 20 and 3 tall, gap 2, no header.
	a, b, c := grey(10, 20), grey(30, 5), grey(7, 3)
	g := Grid([][]image.Image{{a, b}, {c, nil}}, nil, 2)
	if g.Bounds() != image.Rect(0, 0, 2+10+2+30+2, 2+20+2+3+2) {
		t.Fatalf("bounds %v", g.Bounds())
	}
	if g.RGBAAt(2, 2).R != 128 || g.RGBAAt(14, 2).R != 128 || g.RGBAAt(2, 24).R != 128 || g.RGBAAt(1, 1).R != 255 {
		t.Error("cells misplaced")
	}
	if h := Grid([][]image.Image{{a}}, []string{"truth"}, 2); h.Bounds().Dy() <= 24 {
		t.Errorf("a header adds a bar: %v", h.Bounds())
	}
}

func TestDetectionsDropsAlpha(t *testing.T) {
	// Oracle: the colour as written, at full opacity (what package coco's loader gives the
	// detector), not composited over the white page.
	img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:], []uint8{90, 160, 200, 96})
	}
	out := Detections(img, nil, Options{MinSide: -1})
	if got := out.RGBAAt(4, 4); got != (color.RGBA{90, 160, 200, 255}) {
		t.Errorf("pixel %v, want {90 160 200 255}", got)
	}
}
