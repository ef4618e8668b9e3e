package coco

import (
	"fmt"
	"iter"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// LoaderOptions configures NewLoader. Zero values mean the defaults given.
type LoaderOptions struct {
	Size      int    // side S of the letterboxed square; 0 means 128
	BatchSize int    // images per training batch, B ≥ 1 (required)
	Flip      bool   // flip each training image horizontally with probability ½
	Seed      uint64 // seeds the epoch permutations and flips
	// Mean and Std normalise each channel of a pixel v in [0, 1] to (v − Mean)/Std. When both
	// are the zero value they take their defaults, DefaultMean and DefaultStd; a Mean without
	// a Std is an error.
	Mean, Std [3]float32
}

// Normalisation constants, RGB, for pixel values in [0, 1].
//
// The defaults are mid-grey and the spread of the synthetic dataset: over 500 generated images
// (seeds 1 and 2) every channel has mean 0.49–0.51 and standard deviation 0.19–0.195, so its
// batches have channels of mean within ±0.03 and standard deviation ≈ 0.96. Photographs (COCO:
// means ≈ 0.47, deviations ≈ 0.27) come out with mean ≈ 0 and deviation ≈ 1.3. Pass
// ImageNet's statistics for a backbone pretrained with them.
var (
	DefaultMean  = [3]float32{0.5, 0.5, 0.5}
	DefaultStd   = [3]float32{0.2, 0.2, 0.2}
	ImageNetMean = [3]float32{0.485, 0.456, 0.406}
	ImageNetStd  = [3]float32{0.229, 0.224, 0.225}
)

// Loader serves letterboxed, normalised batches of a Dataset. Every image is decoded once, in
// NewLoader, and kept letterboxed as 3·S² bytes. A Loader is safe for concurrent use, so
// batches can be prepared ahead in other goroutines.
type Loader struct {
	size, batch int
	flip        bool
	seed        uint64
	lut         [3][256]float32 // normalised value of each byte, per channel
	items       []item

	mu    sync.Mutex
	plans [2]*epochPlan // the most recently used epochs, newest first
}

// item is one decoded, letterboxed image with its objects in the S×S frame.
type item struct {
	index         int
	id            int64
	width, height int
	scale         float64
	pix           []uint8 // [3, S, S]
	boxes         [][4]float64
	labels        []int
	crowd         []bool
}

// epochPlan is the order and the flips of one epoch.
type epochPlan struct {
	epoch int64
	order []int32
	flip  []bool
}

// Batch is a batch of letterboxed images, the same for training and evaluation.
type Batch struct {
	Size int // S
	// Images is [len(Samples), 3, S, S], row-major, RGB planes normalised per channel as
	// (v/255 − Mean)/Std.
	Images  []float32
	Samples []Sample
}

// Sample describes one image of a Batch. Boxes are x1, y1, x2, y2 in the S×S frame, flipped
// with the image when Flipped; Labels and Crowd are parallel to Boxes.
type Sample struct {
	Index         int     // position in Dataset.Images
	ImageID       int64   // COCO image id
	Width, Height int     // original size in pixels
	Scale         float64 // letterbox factor min(S/W, S/H): frame = Scale × original
	Flipped       bool    // mirrored in the frame, x ↦ S − x
	Boxes         [][4]float64
	Labels        []int
	Crowd         []bool
}

// NewLoader decodes every image of ds (in parallel), letterboxes it to S×S and returns a
// loader. The padding is the normalisation mean rounded to a byte, so padded pixels are ≈ 0
// after normalisation. It returns an error naming the file for an image that does not decode
// or whose size differs from the dataset's, ErrEmpty for a dataset without images, and
// ErrOption for bad options. The loader copies what it needs; ds may change afterwards.
func NewLoader(ds *Dataset, opts LoaderOptions) (*Loader, error) {
	if opts.Size == 0 {
		opts.Size = 128
	}
	if opts.Std == ([3]float32{}) {
		if opts.Mean != ([3]float32{}) {
			return nil, fmt.Errorf("%w: LoaderOptions.Mean = %v without Std", ErrOption, opts.Mean)
		}
		opts.Mean, opts.Std = DefaultMean, DefaultStd
	}
	switch {
	case opts.Size < 1:
		return nil, fmt.Errorf("%w: LoaderOptions.Size = %d, want at least 1", ErrOption, opts.Size)
	case opts.BatchSize < 1:
		return nil, fmt.Errorf("%w: LoaderOptions.BatchSize = %d, want at least 1", ErrOption, opts.BatchSize)
	}
	for c := range 3 {
		m, s := float64(opts.Mean[c]), float64(opts.Std[c])
		if math.IsNaN(m) || math.IsInf(m, 0) || !(s > 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("%w: LoaderOptions Mean[%d] = %v, Std[%d] = %v, want finite, Std > 0",
				ErrOption, c, m, c, s)
		}
	}
	if len(ds.Images) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrEmpty, ds.AnnotationPath)
	}

	l := &Loader{size: opts.Size, batch: opts.BatchSize, flip: opts.Flip, seed: opts.Seed}
	var pad [3]uint8
	for c := range 3 {
		pad[c] = uint8(min(max(math.Round(float64(opts.Mean[c])*255), 0), 255))
		for v := range 256 {
			l.lut[c][v] = (float32(v)/255 - opts.Mean[c]) / opts.Std[c]
		}
	}

	n := len(ds.Images)
	l.items = make([]item, n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				errs[i] = l.decode(ds, i, pad)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}

// decode fills l.items[i] from ds.Images[i].
func (l *Loader) decode(ds *Dataset, i int, pad [3]uint8) error {
	im := &ds.Images[i]
	img, err := decodeRGBA(im.Path, im.ID)
	if err != nil {
		return err
	}
	if w, h := img.Rect.Dx(), img.Rect.Dy(); w != im.Width || h != im.Height {
		return fmt.Errorf("%w: %s (image id %d): decoded %d×%d, JSON says %d×%d",
			ErrImageSize, im.Path, im.ID, w, h, im.Width, im.Height)
	}
	pix, scale := letterbox(img, l.size, pad)
	it := item{index: i, id: im.ID, width: im.Width, height: im.Height, scale: scale, pix: pix}
	for _, o := range im.Objects {
		b := o.Box
		it.boxes = append(it.boxes, [4]float64{b[0] * scale, b[1] * scale, b[2] * scale, b[3] * scale})
		it.labels = append(it.labels, o.Label)
		it.crowd = append(it.crowd, o.Crowd)
	}
	l.items[i] = it
	return nil
}

// Len is the number of images, n.
func (l *Loader) Len() int { return len(l.items) }

// Size is the side S of the letterboxed images.
func (l *Loader) Size() int { return l.size }

// BatchSize is the training batch size B.
func (l *Loader) BatchSize() int { return l.batch }

// Batch returns training batch step, a pure function of (Seed, step) for a given dataset and
// options. Sample j of the batch is the g-th sample of the run, g = step·B + j, taken from
// epoch e = ⌊g/n⌋ at position g mod n of that epoch's permutation of the images, which is
// seeded by (Seed, e); with Flip, the image is flipped by a coin drawn from the same stream.
// So every epoch shows each image once, and a run resumed at step k gets the batches an
// uninterrupted run gets; a batch may straddle two epochs. Batch panics if step < 0 or if
// step·B overflows int64.
func (l *Loader) Batch(step int64) Batch {
	var b Batch
	l.Fill(&b, step)
	return b
}

// Fill is Batch writing into dst, reusing its slices: once dst has held a batch, Fill
// allocates nothing except, once per epoch, that epoch's permutation. The images are written
// into dst.Images itself when its capacity holds them, so the caller may hand Fill the
// storage to write them to, such as the memory of a tensor (package detectors does).
func (l *Loader) Fill(dst *Batch, step int64) { l.FillRange(dst, step, 0, l.batch) }

// FillRange is Fill of samples from to to of the batch alone (0 ≤ from ≤ to ≤ BatchSize),
// into dst's samples 0 to to − from: the shard of one rank of a data-parallel run, with the
// images and flips those samples have in the whole batch. It panics as Fill does, and on a
// range out of bounds.
func (l *Loader) FillRange(dst *Batch, step int64, from, to int) {
	if step < 0 {
		panic(msgNegativeStep)
	}
	if from < 0 || from > to || to > l.batch {
		panic(msgRangeOutOfBatch)
	}
	n, b := int64(len(l.items)), int64(l.batch)
	if step > (math.MaxInt64-b)/b {
		panic(msgStepOverflow)
	}
	l.resize(dst, to-from)
	for j := range to - from {
		g := step*b + int64(from+j)
		plan := l.plan(g / n)
		p := g % n
		l.fillSample(dst, j, int(plan.order[p]), l.flip && plan.flip[p])
	}
}

// Source is one sample of a training batch as the loader holds it, before Fill maps it into
// the batch: the letterboxed image's bytes and its boxes in the S×S frame, both unflipped,
// and whether the step mirrors it. Fill's sample is the Source with every byte v of channel c
// written as Normalization()[c][v] and, when Flipped, mirrored: pixel x of a row goes to
// S − 1 − x and a box (x1, y1, x2, y2) becomes (S − x2, y1, S − x1, y2). Sources exist so that
// another implementation (the PyTorch twin of `smoothl1 bench`, a check of a port) can draw
// the batch itself.
type Source struct {
	Index   int          // position in Dataset.Images
	Pixels  []uint8      // [3, S, S], planar
	Boxes   [][4]float64 // x1, y1, x2, y2 in the S×S frame, before the flip
	Labels  []int
	Crowd   []bool
	Flipped bool
}

// Sources returns the samples of training batch step as Sources, in batch order: copies,
// which the caller may keep and change. It panics as Fill does.
func (l *Loader) Sources(step int64) []Source {
	var b Batch
	l.Fill(&b, step)
	out := make([]Source, len(b.Samples))
	for j, s := range b.Samples {
		it := &l.items[s.Index]
		out[j] = Source{Index: s.Index, Pixels: slices.Clone(it.pix), Boxes: slices.Clone(it.boxes),
			Labels: slices.Clone(it.labels), Crowd: slices.Clone(it.crowd), Flipped: s.Flipped}
	}
	return out
}

// Normalization returns the value Fill writes for byte v of channel c, [c][v]: (v/255 −
// Mean[c]) / Std[c] in float32 (LoaderOptions).
func (l *Loader) Normalization() [3][256]float32 { return l.lut }

// EvalBatches yields every image once, in Dataset order, in batches of batchSize (the last
// one smaller), without flipping. Each yielded Batch is new, so it may be kept. It panics if
// batchSize < 1.
func (l *Loader) EvalBatches(batchSize int) iter.Seq[Batch] {
	if batchSize < 1 {
		panic(msgBadBatchSize)
	}
	return func(yield func(Batch) bool) {
		for start := 0; start < len(l.items); start += batchSize {
			count := min(batchSize, len(l.items)-start)
			var b Batch
			l.resize(&b, count)
			for j := range count {
				l.fillSample(&b, j, start+j, false)
			}
			if !yield(b) {
				return
			}
		}
	}
}

// ToOriginal maps a box x1, y1, x2, y2 in the S×S frame of sample i (a prediction) to the
// original image's pixels: it undoes the flip (x ↦ S − x, swapping x1 and x2), divides by
// Scale and clips to [0, Width] × [0, Height]. For a box inside the image it is the exact
// inverse of the loader's mapping, up to rounding. It panics if i is out of range.
func (b *Batch) ToOriginal(i int, box [4]float64) [4]float64 {
	if i < 0 || i >= len(b.Samples) {
		panic(msgSampleIndexOutOfRange)
	}
	s := &b.Samples[i]
	if s.Flipped {
		S := float64(b.Size)
		box[0], box[2] = S-box[2], S-box[0]
	}
	w, h := float64(s.Width), float64(s.Height)
	return [4]float64{
		min(max(box[0]/s.Scale, 0), w), min(max(box[1]/s.Scale, 0), h),
		min(max(box[2]/s.Scale, 0), w), min(max(box[3]/s.Scale, 0), h),
	}
}

// resize sizes dst for count images, keeping its storage.
func (l *Loader) resize(dst *Batch, count int) {
	dst.Size = l.size
	need := count * 3 * l.size * l.size
	if cap(dst.Images) < need {
		dst.Images = make([]float32, need)
	}
	dst.Images = dst.Images[:need]
	if cap(dst.Samples) < count {
		dst.Samples = append(dst.Samples[:cap(dst.Samples)], make([]Sample, count-cap(dst.Samples))...)
	}
	dst.Samples = dst.Samples[:count]
}

// fillSample writes image idx, flipped or not, as sample j of dst.
func (l *Loader) fillSample(dst *Batch, j, idx int, flip bool) {
	it := &l.items[idx]
	s := &dst.Samples[j]
	s.Index, s.ImageID, s.Width, s.Height = it.index, it.id, it.width, it.height
	s.Scale, s.Flipped = it.scale, flip
	s.Boxes = append(s.Boxes[:0], it.boxes...)
	s.Labels = append(s.Labels[:0], it.labels...)
	s.Crowd = append(s.Crowd[:0], it.crowd...)
	S := l.size
	if flip {
		fs := float64(S)
		for k, bx := range s.Boxes {
			s.Boxes[k][0], s.Boxes[k][2] = fs-bx[2], fs-bx[0]
		}
	}
	plane := S * S
	img := dst.Images[j*3*plane : (j+1)*3*plane]
	for c := range 3 {
		lut := &l.lut[c]
		src, out := it.pix[c*plane:(c+1)*plane], img[c*plane:(c+1)*plane]
		if !flip {
			for k, v := range src {
				out[k] = lut[v]
			}
			continue
		}
		for y := 0; y < plane; y += S {
			row, orow := src[y:y+S], out[y:y+S]
			for x, v := range row {
				orow[S-1-x] = lut[v]
			}
		}
	}
}

// plan returns epoch e's permutation and flips, drawn from a PCG stream seeded by (Seed, e):
// a Fisher–Yates shuffle, then one coin per position.
func (l *Loader) plan(e int64) *epochPlan {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, p := range l.plans {
		if p != nil && p.epoch == e {
			if k == 1 {
				l.plans[0], l.plans[1] = p, l.plans[0]
			}
			return p
		}
	}
	n := len(l.items)
	p := &epochPlan{epoch: e, order: make([]int32, n), flip: make([]bool, n)}
	r := newRNG(l.seed, uint64(e))
	for i := range p.order {
		p.order[i] = int32(i)
	}
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p.order[i], p.order[j] = p.order[j], p.order[i]
	}
	for i := range p.flip {
		p.flip[i] = r.src.Uint64()>>63 == 1
	}
	l.plans[0], l.plans[1] = p, l.plans[0]
	return p
}
