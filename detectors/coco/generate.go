package coco

import (
	"cmp"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
)

// GenerateOptions configures Generate. Seed's zero value is a seed like any other; the other
// zero values mean the defaults given.
type GenerateOptions struct {
	Images      int     // number of images N, at least 2 (one for each split)
	Seed        uint64  // same Seed and options → byte-identical files
	Size        int     // image side in pixels; 0 means 128; at least 32
	ValFraction float64 // fraction of images in val.json; 0 means 0.2; in (0, 1)
}

// Synthetic scene parameters, for a 128-pixel image; object scales and clutter lengths scale
// with GenerateOptions.Size.
const (
	minObjects, maxObjects = 1, 6
	minScale, maxScale     = 10.0, 70.0 // √(w·h) of an object's drawing box, pixels
	maxObjectIoU           = 0.6        // tight-box IoU of a new object with each earlier one
	placeAttempts          = 30         // draws per object before it is given up
	minContrast            = 100        // RGB distance of an object's colour from the background
	maxLines, maxBlobs     = 3, 4       // clutter per image
	maxBlobDiameter        = 5          // pixels, so blobs stay below the smallest object
)

// generateWorkers is the number of generating goroutines per CPU: more than one, so that a
// worker waiting for fsync does not leave its CPU idle.
var generateWorkers = 2

// Generate writes a deterministic synthetic detection dataset to dir:
//
//	dir/images/000001.png …   N RGB images, Size×Size, image id = the number in the name
//	dir/train.json            COCO instances of the first N − V images
//	dir/val.json              COCO instances of the last V = max(1, round(N·ValFraction))
//
// with categories 1 "rectangle", 2 "ellipse", 3 "triangle" in both files; load a split with
// Load(dir/train.json, dir/images, …). Each image has a smooth background (a bilinear blend of
// four random corner colours), clutter that is not annotated (up to 3 thin lines and up to 4
// blobs under 6 pixels across), and 1–6 filled objects of a random class and colour, at
// least 100 RGB levels (Euclidean) from the background colour at the object's centre. An
// object's drawing box has scale √(w·h) with √scale uniform on [√10, √70] (times Size/128)
// and aspect w/h = (1+u)/(2−u), u uniform, so in [0.5, 2] and distributed like its inverse.
// A new object is redrawn until its tight box has IoU ≤ 0.6 with every earlier one, and
// objects are painted largest box first, so a box painted over a larger one leaves at least
// a quarter of the larger one's box uncovered. Approximately Gaussian noise (σ = 6 grey
// levels) covers the whole image.
//
// An annotation's bbox is the tight box of the shape's own pixels (a pixel belongs to a shape
// when its centre does), whatever was painted over it later, so boxes are whole pixels; its
// area is the shape's pixel count, as COCO's segmentation area would be, not w·h.
//
// Every file is written atomically, images first, so a JSON file exists only with all of its
// images. Each image comes from its own PCG stream seeded by (Seed, image index), so images
// are drawn in parallel; shape sizes are sampled in floating point and rounded to 1/16
// pixel, everything after that is integer arithmetic. The same Seed and options give
// byte-identical files for a given Go release (PNG encoding is the standard library's).
// Files of an earlier, larger dataset in dir are not removed.
func Generate(dir string, opts GenerateOptions) error {
	if opts.Size == 0 {
		opts.Size = 128
	}
	if opts.ValFraction == 0 {
		opts.ValFraction = 0.2
	}
	switch {
	case opts.Images < 2:
		return fmt.Errorf("%w: GenerateOptions.Images = %d, want at least 2", ErrOption, opts.Images)
	case opts.Size < 32:
		return fmt.Errorf("%w: GenerateOptions.Size = %d, want at least 32", ErrOption, opts.Size)
	case !(opts.ValFraction > 0 && opts.ValFraction < 1):
		return fmt.Errorf("%w: GenerateOptions.ValFraction = %v, want it in (0, 1)", ErrOption, opts.ValFraction)
	}
	imageDir := filepath.Join(dir, "images")
	if err := os.MkdirAll(imageDir, 0o755); err != nil {
		return fmt.Errorf("coco: %w", err)
	}

	n := opts.Images
	objects := make([][]synthObject, n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(generateWorkers*runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: new(pngBuffer)}
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				img, objs := synthImage(opts.Seed, i, opts.Size)
				objects[i] = objs
				errs[i] = atomicfile.Write(filepath.Join(imageDir, synthFileName(i)), 0o644, func(w io.Writer) error {
					return enc.Encode(w, img)
				})
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("coco: %w", err)
		}
	}

	nVal := min(max(1, int(math.Round(float64(n)*opts.ValFraction))), n-1)
	var cats []Category
	for c, name := range classNames {
		cats = append(cats, Category{ID: int64(c + 1), Name: name})
	}
	split := func(lo, hi int) *Instances {
		inst := &Instances{Images: []Image{}, Annotations: []Annotation{}, Categories: cats}
		annID := int64(1)
		for i := range lo {
			annID += int64(len(objects[i]))
		}
		for i := lo; i < hi; i++ {
			id := int64(i + 1)
			inst.Images = append(inst.Images, Image{ID: id, FileName: synthFileName(i), Width: opts.Size, Height: opts.Size})
			for _, o := range objects[i] {
				inst.Annotations = append(inst.Annotations, Annotation{
					ID: annID, ImageID: id, CategoryID: int64(o.class + 1),
					BBox:    [4]float64{float64(o.bbox[0]), float64(o.bbox[1]), float64(o.bbox[2]), float64(o.bbox[3])},
					Area:    float64(o.area),
					IsCrowd: 0,
				})
				annID++
			}
		}
		return inst
	}
	if err := WriteInstances(filepath.Join(dir, "train.json"), split(0, n-nVal)); err != nil {
		return err
	}
	return WriteInstances(filepath.Join(dir, "val.json"), split(n-nVal, n))
}

// pngBuffer keeps one worker's PNG encoder buffers (about 1 MB of compressor state) from one
// image to the next.
type pngBuffer struct{ b *png.EncoderBuffer }

func (p *pngBuffer) Get() *png.EncoderBuffer  { return p.b }
func (p *pngBuffer) Put(b *png.EncoderBuffer) { p.b = b }

func synthFileName(index int) string { return fmt.Sprintf("%06d.png", index+1) }

// synthObject is one drawn object: class, tight pixel box [x, y, w, h] and pixel count.
type synthObject struct {
	class int
	bbox  [4]int
	area  int
}

// synthImage draws image index of the dataset seeded by seed.
func synthImage(seed uint64, index, size int) (*image.RGBA, []synthObject) {
	r := newRNG(seed, uint64(index))
	c := newRGBImage(size)
	k := float64(size) / 128 // scale of the scene parameters

	// Background: a bilinear blend of four corner colours, exact in integers.
	var corner [4][3]int // top-left, top-right, bottom-left, bottom-right
	for q := range corner {
		for ch := range 3 {
			corner[q][ch] = r.intRange(40, 215)
		}
	}
	s1 := size - 1
	background := func(i, j int) (col [3]uint8) {
		for ch := range 3 {
			v := corner[0][ch]*(s1-i)*(s1-j) + corner[1][ch]*i*(s1-j) + corner[2][ch]*(s1-i)*j + corner[3][ch]*i*j
			col[ch] = uint8((v + s1*s1/2) / (s1 * s1))
		}
		return col
	}
	for j := range size {
		for i := range size {
			c.set(i, j, background(i, j))
		}
	}

	// Clutter under the objects: thin lines and small blobs, never annotated.
	randomColour := func() [3]uint8 {
		return [3]uint8{uint8(r.intn(256)), uint8(r.intn(256)), uint8(r.intn(256))}
	}
	for range r.intRange(0, maxLines) {
		reach := max(2, int(40*k))
		x0, y0 := r.intn(size), r.intn(size)
		x1, y1 := x0+r.intRange(-reach, reach), y0+r.intRange(-reach, reach)
		c.line(x0, y0, x1, y1, randomColour())
	}
	for range r.intRange(0, maxBlobs) {
		d := int64(r.intRange(2*subPixel, maxBlobDiameter*subPixel))
		x0, y0 := int64(r.intn(size*subPixel-int(d))), int64(r.intn(size*subPixel-int(d)))
		blob := shape{class: classEllipse, x0: x0, y0: y0, x1: x0 + d, y1: y0 + d}
		col := randomColour()
		blob.footprint(size, func(i, j int) { c.set(i, j, col) })
	}

	// Objects: draw shapes until each fits the overlap rule.
	type placed struct {
		shape
		synthObject
	}
	var objs []placed
	for range r.intRange(minObjects, maxObjects) {
		for range placeAttempts {
			s := randomShape(r, size, k)
			bbox, area := s.footprint(size, nil)
			if area == 0 || slices.ContainsFunc(objs, func(o placed) bool { return iouAbove(bbox, o.bbox, maxObjectIoU) }) {
				continue
			}
			objs = append(objs, placed{s, synthObject{class: s.class, bbox: bbox, area: area}})
			break
		}
	}
	// Largest box first, so that smaller objects are painted over larger ones, not hidden by them.
	slices.SortStableFunc(objs, func(a, b placed) int { return cmp.Compare(b.bbox[2]*b.bbox[3], a.bbox[2]*a.bbox[3]) })
	out := make([]synthObject, len(objs))
	for n, o := range objs {
		b := o.bbox
		bg := background(b[0]+b[2]/2, b[1]+b[3]/2)
		col := contrastingColour(r, bg)
		o.footprint(size, func(i, j int) { c.set(i, j, col) })
		out[n] = o.synthObject
	}

	// Noise over everything.
	pix := c.img.Pix
	for p := 0; p < len(pix); p += 4 {
		for ch := range 3 {
			pix[p+ch] = uint8(min(max(int(pix[p+ch])+r.noise(), 0), 255))
		}
	}
	return c.img, out
}

// randomShape draws a shape of a random class whose drawing box fits in a size×size image;
// k scales the object sizes (size/128).
func randomShape(r *rng, size int, k float64) shape {
	class := r.intn(numClasses)
	lo, hi := math.Sqrt(minScale*k), math.Sqrt(maxScale*k)
	sq := lo + r.float()*(hi-lo)
	scale := sq * sq
	u := r.float()
	aspect := (1 + u) / (2 - u) // w/h on [0.5, 2], and aspect(1−u) = 1/aspect(u)
	limit := int64(size * subPixel)
	w := min(int64(math.Round(scale*math.Sqrt(aspect)*subPixel)), limit)
	h := min(int64(math.Round(scale/math.Sqrt(aspect)*subPixel)), limit)
	x0, y0 := int64(r.intn(int(limit-w+1))), int64(r.intn(int(limit-h+1)))
	s := shape{class: class, x0: x0, y0: y0, x1: x0 + w, y1: y0 + h}
	if class == classTriangle {
		// Apex on one side of the drawing box, base along the opposite side.
		switch r.intn(4) {
		case 0: // apex on top
			s.v = [3][2]int64{{x0 + int64(r.intn(int(w+1))), y0}, {s.x1, s.y1}, {x0, s.y1}}
		case 1: // apex at the bottom
			s.v = [3][2]int64{{x0 + int64(r.intn(int(w+1))), s.y1}, {x0, y0}, {s.x1, y0}}
		case 2: // apex on the left
			s.v = [3][2]int64{{x0, y0 + int64(r.intn(int(h+1)))}, {s.x1, y0}, {s.x1, s.y1}}
		default: // apex on the right
			s.v = [3][2]int64{{s.x1, y0 + int64(r.intn(int(h+1)))}, {x0, s.y1}, {x0, y0}}
		}
	}
	return s
}

// contrastingColour draws colours until one is at least minContrast from bg in RGB, and falls
// back to the farther of 0 and 255 in each channel.
func contrastingColour(r *rng, bg [3]uint8) [3]uint8 {
	for range 20 {
		col := [3]uint8{uint8(r.intn(256)), uint8(r.intn(256)), uint8(r.intn(256))}
		d2 := 0
		for ch := range 3 {
			d := int(col[ch]) - int(bg[ch])
			d2 += d * d
		}
		if d2 >= minContrast*minContrast {
			return col
		}
	}
	var col [3]uint8
	for ch := range 3 {
		if bg[ch] < 128 {
			col[ch] = 255
		}
	}
	return col
}

// iouAbove reports whether the IoU of two pixel boxes [x, y, w, h] exceeds t, exactly in
// integers up to the rounding of t·10⁶.
func iouAbove(a, b [4]int, t float64) bool {
	iw := min(a[0]+a[2], b[0]+b[2]) - max(a[0], b[0])
	ih := min(a[1]+a[3], b[1]+b[3]) - max(a[1], b[1])
	if iw <= 0 || ih <= 0 {
		return false
	}
	inter := int64(iw * ih)
	union := int64(a[2]*a[3]+b[2]*b[3]) - inter
	return inter*1_000_000 > int64(math.Round(t*1_000_000))*union
}
