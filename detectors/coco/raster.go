package coco

import (
	"image"
	"math"
)

// Rasterisation for the synthetic dataset, in integers so that the drawn pixels are exact on
// every platform: shape geometry is in fixed point, subPixel units per pixel, and pixel (i, j)
// belongs to a shape when its centre (subPixel·i + subPixel/2, subPixel·j + subPixel/2) does.

const subPixel = 16

// Shape classes of the synthetic dataset, in category id order (ids 1, 2, 3).
const (
	classRectangle = iota
	classEllipse
	classTriangle
	numClasses
)

var classNames = [numClasses]string{"rectangle", "ellipse", "triangle"}

// shape is a filled rectangle, axis-aligned ellipse or triangle in subPixel units. The
// rectangle is [x0, x1) × [y0, y1); the ellipse is inscribed in that rectangle; the triangle
// has vertices v.
type shape struct {
	class          int
	x0, y0, x1, y1 int64
	v              [3][2]int64
}

// contains reports whether the point (px, py), in subPixel units, is inside s.
func (s *shape) contains(px, py int64) bool {
	switch s.class {
	case classRectangle:
		return px >= s.x0 && px < s.x1 && py >= s.y0 && py < s.y1
	case classEllipse:
		// (dx/a)² + (dy/b)² ≤ 1 with everything doubled to stay in integers:
		// (2dx)²·(2b)² + (2dy)²·(2a)² ≤ (2a)²·(2b)², 2a = x1−x0, 2b = y1−y0.
		a2, b2 := s.x1-s.x0, s.y1-s.y0
		dx, dy := 2*px-(s.x0+s.x1), 2*py-(s.y0+s.y1)
		return dx*dx*b2*b2+dy*dy*a2*a2 <= a2*a2*b2*b2
	case classTriangle:
		e0 := edge(s.v[0], s.v[1], px, py)
		e1 := edge(s.v[1], s.v[2], px, py)
		e2 := edge(s.v[2], s.v[0], px, py)
		return (e0 >= 0 && e1 >= 0 && e2 >= 0) || (e0 <= 0 && e1 <= 0 && e2 <= 0)
	}
	panic(msgUnknownShapeClass)
}

// edge is the edge function of a→b at p: positive on one side, zero on the line.
func edge(a, b [2]int64, px, py int64) int64 {
	return (b[0]-a[0])*(py-a[1]) - (b[1]-a[1])*(px-a[0])
}

// pixelRange is the range of pixels whose centres may be inside s, clamped to size×size.
func (s *shape) pixelRange(size int) (i0, j0, i1, j1 int) {
	// Centre of pixel i is 16i+8 ≥ x0  ⇔  i ≥ (x0−8)/16.
	lo := func(v int64) int { return max(int(floorDiv(v-subPixel/2, subPixel)), 0) }
	hi := func(v int64) int { return min(int(floorDiv(v-subPixel/2, subPixel))+1, size) }
	return lo(s.x0), lo(s.y0), hi(s.x1), hi(s.y1)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// footprint visits the pixels of s in a size×size image, row by row, and returns the tight
// pixel box [x, y, w, h] (w = h = 0 if s covers no pixel centre) and the pixel count.
func (s *shape) footprint(size int, visit func(i, j int)) (bbox [4]int, n int) {
	i0, j0, i1, j1 := s.pixelRange(size)
	minI, minJ, maxI, maxJ := size, size, -1, -1
	for j := j0; j < j1; j++ {
		py := int64(j)*subPixel + subPixel/2
		for i := i0; i < i1; i++ {
			if !s.contains(int64(i)*subPixel+subPixel/2, py) {
				continue
			}
			if visit != nil {
				visit(i, j)
			}
			n++
			minI, maxI = min(minI, i), max(maxI, i)
			minJ, maxJ = min(minJ, j), max(maxJ, j)
		}
	}
	if n == 0 {
		return bbox, 0
	}
	return [4]int{minI, minJ, maxI - minI + 1, maxJ - minJ + 1}, n
}

// Pixel noise: the sum of four uniform 16-bit numbers (Irwin–Hall, close to a Gaussian and
// bounded at ±3.46σ) scaled to a standard deviation of noiseSigma grey levels, in integers.
const (
	noiseSigma = 6.0
	// irwinHallStd is the standard deviation of the sum of four uniform integers on
	// [0, 65535]: √(4·(65536²−1)/12).
	irwinHallStd = 37837.2270
)

var noiseScale = int64(math.Round(noiseSigma / irwinHallStd * (1 << 32))) // noise = d·noiseScale / 2³²

func (r *rng) noise() int {
	u := r.src.Uint64()
	d := int64(u&0xffff+u>>16&0xffff+u>>32&0xffff+u>>48) - 2*65535
	return int((d*noiseScale + 1<<31) >> 32)
}

// rgbImage is a canvas drawn into, stored as an opaque *image.RGBA.
type rgbImage struct {
	size int
	img  *image.RGBA
}

func newRGBImage(size int) *rgbImage {
	return &rgbImage{size: size, img: image.NewRGBA(image.Rect(0, 0, size, size))}
}

func (c *rgbImage) set(i, j int, col [3]uint8) {
	o := c.img.PixOffset(i, j)
	p := c.img.Pix[o : o+4 : o+4]
	p[0], p[1], p[2], p[3] = col[0], col[1], col[2], 255
}

// line draws a 1-pixel line from (x0, y0) to (x1, y1) (Bresenham), clipped to the canvas.
func (c *rgbImage) line(x0, y0, x1, y1 int, col [3]uint8) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		if x0 >= 0 && x0 < c.size && y0 >= 0 && y0 < c.size {
			c.set(x0, y0, col)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func sign(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}
