// Package draw draws detections and ground-truth boxes on images for a person to look at:
// a box outline and a label ("name 0.93") per box in one colour per category, a legend of
// the categories present, an optional title, and grids of such pictures side by side. It is
// pure Go (image, golang.org/x/image) and writes nothing itself: callers encode the
// *image.RGBA it returns (image/png).
//
// Boxes are x1, y1, x2, y2 in pixels of the image given (package coco's convention). Small
// images are scaled up before drawing (Options.MinSide) so that labels stay legible and
// thin boxes visible; the boxes are scaled with them.
package draw

import (
	"image"
	"image/color"
	stddraw "image/draw"
	"math"
	"slices"
	"strconv"
	"sync"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Box is one box to draw.
type Box struct {
	Box      [4]float64 // x1, y1, x2, y2 in pixels of the source image
	Class    int        // index into Options.Names; picks the colour (Colour) and the name
	Score    float64    // printed after the name when HasScore
	HasScore bool       // false for ground truth
	Crowd    bool       // a crowd region: drawn dashed, labelled "crowd"
}

// Options configure Detections. The zero value draws at MinSide 384 with no names (labels
// then read "class k").
type Options struct {
	Names   []string // category names by class; the legend lists the classes drawn
	MinSide int      // scale the image up so its shorter side is at least this; 0: 384; < 0: never
	Title   string   // a bar above the picture; "" for none
}

// palette is Tableau 10, a palette designed to keep neighbouring categories apart.
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
	{188, 189, 34, 255}, {23, 190, 207, 255},
}

// Colour returns the colour of a class: Tableau 10's colours in order, repeating after ten.
func Colour(class int) color.RGBA {
	return palette[((class%len(palette))+len(palette))%len(palette)]
}

const (
	fontSize  = 13 // points at 72 dpi, so pixels
	pad       = 3  // pixels around label text
	lineWidth = 2  // box outline, in pixels of the output
)

var face = sync.OnceValue(func() font.Face {
	f, err := opentype.Parse(gobold.TTF)
	if err != nil {
		panic("draw: the embedded Go Bold font does not parse: " + err.Error())
	}
	fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: fontSize, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		panic("draw: " + err.Error())
	}
	return fc
})

func name(names []string, class int) string {
	if class >= 0 && class < len(names) && names[class] != "" {
		return names[class]
	}
	return "class " + strconv.Itoa(class)
}

// Detections returns img scaled up to Options.MinSide with every box drawn: an outline in its
// class's colour, a label with the class name (and the score, two decimals) on a filled tag
// above the box's top-left corner (inside the box when there is no room above), a title bar
// when Options.Title is set, and a legend below the picture listing each class drawn with its
// colour. Boxes with a non-finite coordinate are skipped; the others are clipped to the image.
// A translucent image is drawn opaque, its alpha dropped as the loader drops it. Boxes are
// drawn in the order given, lower scores first being the caller's choice; labels
// come after all outlines so that no outline crosses a label.
func Detections(img image.Image, boxes []Box, opt Options) *image.RGBA {
	src := img.Bounds()
	scale := 1.0
	minSide := opt.MinSide
	if minSide == 0 {
		minSide = 384
	}
	if s := min(src.Dx(), src.Dy()); minSide > 0 && s > 0 && s < minSide {
		scale = float64(minSide) / float64(s)
	}
	w, h := int(math.Round(float64(src.Dx())*scale)), int(math.Round(float64(src.Dy())*scale))
	fc := face()
	lineH := fc.Metrics().Height.Ceil() + 2*pad
	top := 0
	if opt.Title != "" {
		top = lineH
	}
	var classes []int
	for _, b := range boxes {
		if !slices.Contains(classes, b.Class) {
			classes = append(classes, b.Class)
		}
	}
	slices.Sort(classes)
	legend := legendLayout(classes, opt.Names, w)
	out := image.NewRGBA(image.Rect(0, 0, w, top+h+legend.height))
	stddraw.Draw(out, out.Bounds(), image.White, image.Point{}, stddraw.Src)
	xdraw.CatmullRom.Scale(out, image.Rect(0, top, w, top+h), opaque(img), src, xdraw.Src, nil)
	if opt.Title != "" {
		text(out, image.Pt(pad, pad), opt.Title, color.Black)
	}
	frame := image.Rect(0, top, w, top+h)
	type tag struct {
		at  image.Point
		s   string
		col color.RGBA
	}
	var tags []tag
	for _, b := range boxes {
		ok := true
		for _, c := range b.Box {
			ok = ok && !math.IsNaN(c) && !math.IsInf(c, 0)
		}
		if !ok {
			continue
		}
		r := image.Rect(
			int(math.Round(b.Box[0]*scale)), top+int(math.Round(b.Box[1]*scale)),
			int(math.Round(b.Box[2]*scale)), top+int(math.Round(b.Box[3]*scale)),
		).Intersect(frame)
		if r.Empty() {
			continue
		}
		col := Colour(b.Class)
		outline(out, r, col, b.Crowd)
		label := name(opt.Names, b.Class)
		if b.Crowd {
			label += " (crowd)"
		}
		if b.HasScore {
			label += " " + strconv.FormatFloat(b.Score, 'f', 2, 64)
		}
		at := image.Pt(r.Min.X, r.Min.Y-lineH)
		if at.Y < top {
			at.Y = r.Min.Y
		}
		tags = append(tags, tag{at, label, col})
	}
	for _, t := range tags {
		tagged(out, t.at, t.s, t.col, frame)
	}
	legend.draw(out, top+h)
	return out
}

// opaque returns img with its alpha dropped (every pixel keeps its colour at full opacity),
// which is what package coco's loader gives the detector (as PIL's convert("RGB")), so the
// picture shows what the detector saw; an opaque img is returned as it is.
func opaque(img image.Image) image.Image {
	if o, ok := img.(interface{ Opaque() bool }); !ok || o.Opaque() {
		return img
	}
	b := img.Bounds()
	out := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			c.A = 255
			out.SetNRGBA(x, y, c)
		}
	}
	return out
}

// outline draws r's border lineWidth pixels wide inside r, dashed for a crowd region.
func outline(dst *image.RGBA, r image.Rectangle, col color.RGBA, dashed bool) {
	on := func(i int) bool { return !dashed || (i/6)%2 == 0 }
	for k := 0; k < lineWidth; k++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if on(x) {
				dst.SetRGBA(x, r.Min.Y+k, col)
				dst.SetRGBA(x, r.Max.Y-1-k, col)
			}
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			if on(y) {
				dst.SetRGBA(r.Min.X+k, y, col)
				dst.SetRGBA(r.Max.X-1-k, y, col)
			}
		}
	}
}

// textColour is black on light colours and white on dark ones (relative luminance, sRGB
// weights 0.2126, 0.7152, 0.0722, threshold 0.5).
func textColour(c color.RGBA) color.Color {
	if 0.2126*float64(c.R)+0.7152*float64(c.G)+0.0722*float64(c.B) > 0.5*255 {
		return color.Black
	}
	return color.White
}

// tagged draws s on a filled tag of colour col whose top-left corner is at (kept inside
// bounds when it fits).
func tagged(dst *image.RGBA, at image.Point, s string, col color.RGBA, bounds image.Rectangle) {
	fc := face()
	tw := font.MeasureString(fc, s).Ceil() + 2*pad
	th := fc.Metrics().Height.Ceil() + 2*pad
	if at.X+tw > bounds.Max.X {
		at.X = max(bounds.Min.X, bounds.Max.X-tw)
	}
	r := image.Rect(at.X, at.Y, at.X+tw, at.Y+th)
	stddraw.Draw(dst, r, image.NewUniform(col), image.Point{}, stddraw.Src)
	text(dst, image.Pt(at.X+pad, at.Y+pad), s, textColour(col))
}

// text draws s with its line box's top-left corner at p.
func text(dst *image.RGBA, p image.Point, s string, col color.Color) {
	fc := face()
	d := font.Drawer{Dst: dst, Src: image.NewUniform(col), Face: fc,
		Dot: fixed.P(p.X, p.Y+fc.Metrics().Ascent.Ceil())}
	d.DrawString(s)
}

// legendRows places the legend's entries (swatch and name) in rows that fit width.
type legendRows struct {
	entries []legendEntry
	height  int
}

type legendEntry struct {
	x, row int
	class  int
	s      string
}

func legendLayout(classes []int, names []string, width int) legendRows {
	if len(classes) == 0 {
		return legendRows{}
	}
	fc := face()
	lineH := fc.Metrics().Height.Ceil() + 2*pad
	var l legendRows
	x, row := pad, 0
	for _, c := range classes {
		s := name(names, c)
		ew := lineH + pad + font.MeasureString(fc, s).Ceil() + 3*pad
		if x > pad && x+ew > width {
			x, row = pad, row+1
		}
		l.entries = append(l.entries, legendEntry{x, row, c, s})
		x += ew
	}
	l.height = (row+1)*lineH + 2*pad
	return l
}

func (l legendRows) draw(dst *image.RGBA, y0 int) {
	fc := face()
	lineH := fc.Metrics().Height.Ceil() + 2*pad
	for _, e := range l.entries {
		y := y0 + pad + e.row*lineH
		sw := image.Rect(e.x, y+2, e.x+lineH-4, y+lineH-2)
		stddraw.Draw(dst, sw, image.NewUniform(Colour(e.class)), image.Point{}, stddraw.Src)
		text(dst, image.Pt(e.x+lineH, y+pad), e.s, color.Black)
	}
}

// Grid places pictures in rows and columns with gap pixels between them on a white
// background, with a header bar naming each column when headers is not empty (headers[j]
// over column j). Rows may differ in length; a nil cell is left blank. Each column is as wide
// as its widest picture and each row as tall as its tallest.
func Grid(cells [][]image.Image, headers []string, gap int) *image.RGBA {
	var colW, rowH []int
	for i, row := range cells {
		rowH = append(rowH, 0)
		for j, c := range row {
			for len(colW) <= j {
				colW = append(colW, 0)
			}
			if c != nil {
				colW[j] = max(colW[j], c.Bounds().Dx())
				rowH[i] = max(rowH[i], c.Bounds().Dy())
			}
		}
	}
	fc := face()
	top := 0
	if len(headers) > 0 {
		top = fc.Metrics().Height.Ceil() + 2*pad
	}
	w, h := gap, top+gap
	for _, v := range colW {
		w += v + gap
	}
	for _, v := range rowH {
		h += v + gap
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	stddraw.Draw(out, out.Bounds(), image.White, image.Point{}, stddraw.Src)
	x := gap
	for j, cw := range colW {
		if j < len(headers) {
			text(out, image.Pt(x, pad), headers[j], color.Black)
		}
		x += cw + gap
	}
	y := top + gap
	for i, row := range cells {
		x := gap
		for j, c := range row {
			if c != nil {
				b := c.Bounds()
				stddraw.Draw(out, image.Rect(x, y, x+b.Dx(), y+b.Dy()), c, b.Min, stddraw.Src)
			}
			x += colW[j] + gap
		}
		y += rowH[i] + gap
	}
	return out
}
