package coco

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// geometryDataset: a wide PNG, a tall JPEG and a square PNG with fractional boxes.
func geometryDataset(t *testing.T) *Dataset {
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "wide.png"), 200, 100, grey)
	writeImage(t, filepath.Join(dir, "tall.jpg"), 60, 90, grey)
	writeImage(t, filepath.Join(dir, "sq.png"), 128, 128, grey)
	in := &Instances{
		Images: []Image{
			{ID: 1, FileName: "wide.png", Width: 200, Height: 100},
			{ID: 2, FileName: "tall.jpg", Width: 60, Height: 90},
			{ID: 3, FileName: "sq.png", Width: 128, Height: 128},
		},
		Annotations: []Annotation{
			{ID: 1, ImageID: 1, CategoryID: 1, BBox: [4]float64{0, 0, 200, 100}},
			{ID: 2, ImageID: 1, CategoryID: 2, BBox: [4]float64{13.7, 40.1, 55.3, 21.9}},
			{ID: 3, ImageID: 2, CategoryID: 2, BBox: [4]float64{1.25, 80.5, 3.3, 9.5}, IsCrowd: 1},
			{ID: 4, ImageID: 3, CategoryID: 1, BBox: [4]float64{100.1, 0.3, 27.9, 7}},
		},
		Categories: []Category{{ID: 1, Name: "a"}, {ID: 2, Name: "b"}},
	}
	path := filepath.Join(dir, "ann.json")
	if err := WriteInstances(path, in); err != nil {
		t.Fatal(err)
	}
	ds, err := Load(path, dir, LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// checkMapsBack checks every box of every sample of b against the dataset through ToOriginal,
// to 1e-9 pixels, and the scale against min(S/W, S/H).
func checkMapsBack(t *testing.T, ds *Dataset, b *Batch) {
	t.Helper()
	for i, s := range b.Samples {
		im := ds.Images[s.Index]
		if s.ImageID != im.ID || s.Width != im.Width || s.Height != im.Height {
			t.Fatalf("sample %d: %+v does not describe image %+v", i, s, im)
		}
		if want := min(float64(b.Size)/float64(im.Width), float64(b.Size)/float64(im.Height)); s.Scale != want {
			t.Errorf("image %d: scale %v, want %v", im.ID, s.Scale, want)
		}
		if len(s.Boxes) != len(im.Objects) || len(s.Labels) != len(s.Boxes) || len(s.Crowd) != len(s.Boxes) {
			t.Fatalf("image %d: %d boxes, %d labels, %d crowd flags; want %d", im.ID, len(s.Boxes), len(s.Labels), len(s.Crowd), len(im.Objects))
		}
		for k, box := range s.Boxes {
			o := im.Objects[k]
			got := b.ToOriginal(i, box)
			for c := range 4 {
				if math.Abs(got[c]-o.Box[c]) > 1e-9 {
					t.Errorf("image %d object %d (flipped %v): %v maps back to %v, want %v", im.ID, k, s.Flipped, box, got, o.Box)
					break
				}
			}
			if s.Labels[k] != o.Label || s.Crowd[k] != o.Crowd {
				t.Errorf("image %d object %d: label %d crowd %v, want %d %v", im.ID, k, s.Labels[k], s.Crowd[k], o.Label, o.Crowd)
			}
		}
	}
}

func TestLetterboxGeometry(t *testing.T) {
	ds := geometryDataset(t)
	l, err := NewLoader(ds, LoaderOptions{Size: 64, BatchSize: 2, Flip: true, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	for b := range l.EvalBatches(2) {
		checkMapsBack(t, ds, &b)
	}
	flipped := 0
	for step := range int64(20) {
		b := l.Batch(step)
		checkMapsBack(t, ds, &b)
		for _, s := range b.Samples {
			if s.Flipped {
				flipped++
			}
		}
	}
	if flipped < 10 || flipped > 30 {
		t.Errorf("%d of 40 samples flipped, want about half", flipped)
	}
	// The wide image: scale 64/200, content rows 0 … 31, padding below, which normalises to ≈ 0.
	var b Batch
	for b = range l.EvalBatches(1) {
		break
	}
	if b.Samples[0].Boxes[0] != [4]float64{0, 0, 64, 32} {
		t.Errorf("full-image box of the wide image letterboxes to %v, want [0 0 64 32]", b.Samples[0].Boxes[0])
	}
	for c := range 3 {
		if v := b.Images[c*64*64+40*64+10]; math.Abs(float64(v)) > 0.01 {
			t.Errorf("padding channel %d normalises to %v, want ≈ 0", c, v)
		}
	}
}

// TestLetterboxPixels: the pixels land where the boxes say. Expected values: by hand.
func TestLetterboxPixels(t *testing.T) {
	pad := [3]uint8{1, 2, 3}
	t.Run("upscale 2×", func(t *testing.T) {
		src := image.NewRGBA(image.Rect(0, 0, 64, 32)) // left half red, right half blue
		for y := range 32 {
			for x := range 64 {
				c := color.RGBA{255, 0, 0, 255}
				if x >= 32 {
					c = color.RGBA{0, 0, 255, 255}
				}
				src.SetRGBA(x, y, c)
			}
		}
		chw, scale := letterbox(src, 128, pad)
		if scale != 2 {
			t.Fatalf("scale %v, want 2", scale)
		}
		at := func(x, y int) [3]uint8 {
			return [3]uint8{chw[y*128+x], chw[128*128+y*128+x], chw[2*128*128+y*128+x]}
		}
		for _, c := range []struct {
			x, y int
			want [3]uint8
		}{{0, 0, [3]uint8{255, 0, 0}}, {62, 63, [3]uint8{255, 0, 0}}, {65, 0, [3]uint8{0, 0, 255}}, {127, 63, [3]uint8{0, 0, 255}}, {5, 64, pad}, {127, 127, pad}} {
			if got := at(c.x, c.y); got != c.want {
				t.Errorf("pixel (%d, %d) = %v, want %v", c.x, c.y, got, c.want)
			}
		}
	})
	t.Run("downscale averages", func(t *testing.T) {
		// A one-pixel checkerboard halves to flat grey (127.5) inside; aliasing would not.
		src := image.NewRGBA(image.Rect(0, 0, 256, 256))
		for y := range 256 {
			for x := range 256 {
				v := uint8(255 * ((x + y) & 1))
				src.SetRGBA(x, y, color.RGBA{v, v, v, 255})
			}
		}
		chw, scale := letterbox(src, 128, pad)
		if scale != 0.5 {
			t.Fatalf("scale %v, want 0.5", scale)
		}
		for y := 1; y < 127; y++ {
			for x := 1; x < 127; x++ {
				if v := chw[y*128+x]; v != 127 && v != 128 {
					t.Fatalf("pixel (%d, %d) = %d, want 127 or 128", x, y, v)
				}
			}
		}
	})
	t.Run("scale 1 copies", func(t *testing.T) {
		src, _ := synthImage(3, 0, 48)
		chw, scale := letterbox(src, 48, pad)
		if scale != 1 {
			t.Fatalf("scale %v", scale)
		}
		for y := range 48 {
			for x := range 48 {
				for c := range 3 {
					if chw[c*48*48+y*48+x] != src.Pix[src.PixOffset(x, y)+c] {
						t.Fatalf("pixel (%d, %d) channel %d changed", x, y, c)
					}
				}
			}
		}
	})
}

// synthLoader generates n images and returns the train split's dataset.
func synthDataset(t testing.TB, n int, seed uint64) *Dataset {
	dir := t.TempDir()
	if err := Generate(dir, GenerateOptions{Images: n, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	ds, err := Load(filepath.Join(dir, "train.json"), filepath.Join(dir, "images"), LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestFlip(t *testing.T) {
	ds := synthDataset(t, 10, 1)
	l, err := NewLoader(ds, LoaderOptions{BatchSize: 1, Flip: true, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	const S = 128
	eval := map[int]Batch{}
	for b := range l.EvalBatches(1) {
		eval[b.Samples[0].Index] = b
	}
	var seen [2]int
	for step := range int64(40) {
		b := l.Batch(step)
		s := b.Samples[0]
		e := eval[s.Index]
		if !s.Flipped {
			seen[0]++
			if !reflect.DeepEqual(b.Images, e.Images) || !reflect.DeepEqual(s.Boxes, e.Samples[0].Boxes) {
				t.Fatalf("step %d: unflipped sample differs from the evaluation one", step)
			}
			continue
		}
		seen[1]++
		for k, box := range s.Boxes {
			o := e.Samples[0].Boxes[k]
			if box != [4]float64{S - o[2], o[1], S - o[0], o[3]} {
				t.Errorf("step %d: flipped box %v, want (S − x2, y1, S − x1, y2) of %v", step, box, o)
			}
		}
		for c := range 3 {
			for y := range S {
				for x := range S {
					if b.Images[(c*S+y)*S+x] != e.Images[(c*S+y)*S+S-1-x] {
						t.Fatalf("step %d: pixel (%d, %d, %d) is not mirrored", step, c, y, x)
					}
				}
			}
		}
	}
	if seen[0] == 0 || seen[1] == 0 {
		t.Errorf("unflipped/flipped = %v over 40 steps", seen)
	}
}

// TestSources rebuilds training batches from Sources and Normalization as their doc says,
// flips included, and compares them with Fill's.
func TestSources(t *testing.T) {
	ds := synthDataset(t, 10, 1)
	l, err := NewLoader(ds, LoaderOptions{BatchSize: 3, Flip: true, Seed: 4, Mean: [3]float32{0.4, 0.5, 0.6}, Std: [3]float32{0.2, 0.25, 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	const S = 128
	lut := l.Normalization()
	flips := 0
	for step := range int64(12) {
		b := l.Batch(step)
		src := l.Sources(step)
		if len(src) != len(b.Samples) {
			t.Fatalf("step %d: %d sources for %d samples", step, len(src), len(b.Samples))
		}
		for j, s := range src {
			got := b.Samples[j]
			if s.Index != got.Index || s.Flipped != got.Flipped || !reflect.DeepEqual(s.Labels, got.Labels) || !reflect.DeepEqual(s.Crowd, got.Crowd) {
				t.Fatalf("step %d sample %d: source %+v, sample %+v", step, j, s, got)
			}
			if s.Flipped {
				flips++
			}
			for k, o := range s.Boxes {
				want := o
				if s.Flipped {
					want = [4]float64{S - o[2], o[1], S - o[0], o[3]}
				}
				if got.Boxes[k] != want {
					t.Fatalf("step %d sample %d box %d: %v, want %v from source %v", step, j, k, got.Boxes[k], want, o)
				}
			}
			for c := range 3 {
				for y := range S {
					for x := range S {
						sx := x
						if s.Flipped {
							sx = S - 1 - x
						}
						want := (float32(s.Pixels[(c*S+y)*S+sx])/255 - []float32{0.4, 0.5, 0.6}[c]) / []float32{0.2, 0.25, 0.3}[c]
						if v := b.Images[((j*3+c)*S+y)*S+x]; v != want || lut[c][s.Pixels[(c*S+y)*S+sx]] != want {
							t.Fatalf("step %d sample %d pixel (%d, %d, %d): %v, want %v", step, j, c, y, x, v, want)
						}
					}
				}
			}
		}
		src[0].Pixels[0]++ // a copy: the next batch is unchanged
		if again := l.Batch(step); !reflect.DeepEqual(again.Images, b.Images) {
			t.Fatalf("step %d: changing a source changed the loader", step)
		}
	}
	if flips == 0 {
		t.Error("no flipped sample in 12 batches of 3")
	}
}

func TestBatchDeterministic(t *testing.T) {
	ds := synthDataset(t, 12, 2) // 10 training images
	opts := LoaderOptions{BatchSize: 4, Flip: true, Seed: 11}
	a, err := NewLoader(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewLoader(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	const steps = 13 // 52 samples: five epochs and a bit, batches straddling epochs
	var want [steps]Batch
	for s := range want {
		want[s] = a.Batch(int64(s))
	}
	for s := steps - 1; s >= 0; s-- { // another loader, backwards: as a resumed run would
		if got := b.Batch(int64(s)); !reflect.DeepEqual(got, want[s]) {
			t.Fatalf("step %d differs between loaders or call orders", s)
		}
	}
	var reused Batch
	for s := range want {
		a.Fill(&reused, int64(s))
		if !reflect.DeepEqual(reused, want[s]) {
			t.Fatalf("Fill into a reused batch differs at step %d", s)
		}
	}
	// Storage handed over in dst.Images (a tensor's memory, in package detectors) is where the
	// images go.
	storage := make([]float32, len(want[0].Images))
	given := Batch{Images: storage}
	a.Fill(&given, 0)
	if &given.Images[0] != &storage[0] || !reflect.DeepEqual(given, want[0]) {
		t.Fatal("Fill did not write the images into the storage it was given")
	}
	// The shards of a data-parallel run: FillRange's parts, one after the other, are the batch.
	for s := range want {
		for _, parts := range [][]int{{0, 2, 4}, {0, 1, 2, 3, 4}, {0, 0, 3, 4}} {
			var joined Batch
			for k := range len(parts) - 1 {
				a.FillRange(&reused, int64(s), parts[k], parts[k+1])
				joined.Size = reused.Size
				joined.Images = append(joined.Images, reused.Images...)
				for _, smp := range reused.Samples {
					smp.Boxes, smp.Labels, smp.Crowd = slices.Clone(smp.Boxes), slices.Clone(smp.Labels), slices.Clone(smp.Crowd)
					joined.Samples = append(joined.Samples, smp)
				}
			}
			if !reflect.DeepEqual(joined, want[s]) {
				t.Fatalf("step %d: FillRange over %v differs from the batch", s, parts)
			}
		}
	}
	opts.Seed = 12
	c, _ := NewLoader(ds, opts)
	if reflect.DeepEqual(c.Batch(0), want[0]) && reflect.DeepEqual(c.Batch(1), want[1]) {
		t.Error("seeds 11 and 12 give the same batches")
	}
}

func TestEpochCoverage(t *testing.T) {
	ds := synthDataset(t, 9, 3) // 7 training images
	n := len(ds.Images)
	l, err := NewLoader(ds, LoaderOptions{BatchSize: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	const epochs = 6
	orders := make([][]int, epochs)
	for step := int64(0); step*3 < epochs*int64(n); step++ {
		for j, s := range l.Batch(step).Samples {
			if g := int(step)*3 + j; g < epochs*n {
				orders[g/n] = append(orders[g/n], s.Index)
			}
		}
	}
	distinct := map[string]bool{}
	for e, order := range orders {
		seen := make([]int, n)
		for _, i := range order {
			seen[i]++
		}
		for i, k := range seen {
			if k != 1 {
				t.Errorf("epoch %d shows image %d %d times (order %v)", e, i, k, order)
			}
		}
		distinct[fmt.Sprint(order)] = true
	}
	if len(distinct) < epochs-1 {
		t.Errorf("only %d distinct orders in %d epochs", len(distinct), epochs)
	}
}

func TestEvalBatches(t *testing.T) {
	ds := synthDataset(t, 10, 4) // 8 training images
	l, err := NewLoader(ds, LoaderOptions{BatchSize: 5, Flip: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var sizes, order []int
	for b := range l.EvalBatches(3) {
		sizes = append(sizes, len(b.Samples))
		if len(b.Images) != len(b.Samples)*3*128*128 {
			t.Errorf("batch of %d samples holds %d floats", len(b.Samples), len(b.Images))
		}
		for _, s := range b.Samples {
			order = append(order, s.Index)
			if s.Flipped {
				t.Error("an evaluation sample is flipped")
			}
		}
	}
	if !reflect.DeepEqual(sizes, []int{3, 3, 2}) || !reflect.DeepEqual(order, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("sizes %v, order %v; want [3 3 2], 0 … 7", sizes, order)
	}
	count := 0
	for range l.EvalBatches(1) {
		count++
		break
	}
	if count != 1 {
		t.Errorf("breaking out of EvalBatches ran %d bodies", count)
	}
}

// TestNormalisation: on the synthetic data the default constants give channels of roughly
// zero mean and unit variance (measured: see DefaultMean's doc).
func TestNormalisation(t *testing.T) {
	ds := synthDataset(t, 100, 5) // 80 training images: a channel mean is good to about ±0.06
	l, err := NewLoader(ds, LoaderOptions{BatchSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	var s, s2 [3]float64
	var count float64
	for b := range l.EvalBatches(8) {
		for i := range b.Samples {
			for c := range 3 {
				plane := b.Images[(i*3+c)*128*128 : (i*3+c+1)*128*128]
				for _, v := range plane {
					s[c] += float64(v)
					s2[c] += float64(v) * float64(v)
				}
			}
			count += 128 * 128
		}
	}
	for c := range 3 {
		mean := s[c] / count
		std := math.Sqrt(s2[c]/count - mean*mean)
		t.Logf("channel %d: mean %.3f, std %.3f", c, mean, std)
		if math.Abs(mean) > 0.2 || math.Abs(std-1) > 0.15 {
			t.Errorf("channel %d: mean %.3f, std %.3f; want roughly 0, 1", c, mean, std)
		}
	}
}

func TestFillAllocs(t *testing.T) {
	ds := synthDataset(t, 40, 6)
	l, err := NewLoader(ds, LoaderOptions{BatchSize: 4, Flip: true})
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	l.Fill(&b, 0)
	step := int64(0)
	allocs := testing.AllocsPerRun(50, func() {
		l.Fill(&b, step%8) // 8 steps of 4 stay in the first epoch of 32 images
		step++
	})
	if allocs != 0 {
		t.Errorf("Fill allocates %v times per call with a reused batch", allocs)
	}
}

func TestLoaderErrors(t *testing.T) {
	ds := geometryDataset(t)
	for _, opts := range []LoaderOptions{
		{BatchSize: 0},
		{BatchSize: 1, Size: -1},
		{BatchSize: 1, Std: [3]float32{1, 0, 1}},
		{BatchSize: 1, Std: [3]float32{1, 1, 1}, Mean: [3]float32{float32(math.NaN()), 0, 0}},
		{BatchSize: 1, Mean: [3]float32{0.5, 0.5, 0.5}}, // a Mean without a Std does not apply
	} {
		if _, err := NewLoader(ds, opts); !errors.Is(err, ErrOption) {
			t.Errorf("NewLoader(%+v) = %v, want ErrOption", opts, err)
		}
	}
	if _, err := NewLoader(&Dataset{AnnotationPath: "x.json"}, LoaderOptions{BatchSize: 1}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty dataset: %v, want ErrEmpty", err)
	}
	// A PNG cut after its header passes Load (which reads headers) and fails NewLoader.
	path := ds.Images[2].Path
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeText(t, path, string(data[:60]))
	if _, err := Load(ds.AnnotationPath, ds.ImageDir, LoadOptions{}); err != nil {
		t.Fatalf("Load of a truncated body: %v, want success (headers only)", err)
	}
	_, err = NewLoader(ds, LoaderOptions{BatchSize: 1})
	if !errors.Is(err, ErrImageFormat) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "image id 3") {
		t.Errorf("truncated PNG: %v, want ErrImageFormat naming %s and image id 3", err, path)
	}
}

func TestPanics(t *testing.T) {
	ds := geometryDataset(t)
	l, err := NewLoader(ds, LoaderOptions{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := l.Batch(0)
	for _, c := range []struct {
		want string
		f    func()
	}{
		{msgNegativeStep, func() { l.Batch(-1) }},
		{msgStepOverflow, func() { l.Batch(math.MaxInt64) }},
		{msgBadBatchSize, func() { l.EvalBatches(0) }},
		{msgRangeOutOfBatch, func() { l.FillRange(&b, 0, 0, 2) }},
		{msgRangeOutOfBatch, func() { l.FillRange(&b, 0, 1, 0) }},
		{msgSampleIndexOutOfRange, func() { b.ToOriginal(1, [4]float64{}) }},
		{msgLabelOutOfRange, func() { ds.CategoryID(2) }},
	} {
		func() {
			defer func() {
				if r := recover(); r != c.want {
					t.Errorf("recovered %v, want %q", r, c.want)
				}
			}()
			c.f()
		}()
	}
}

// TestConcurrentBatches: batches prepared in parallel (as a prefetcher would) equal the
// sequential ones; run with -race.
func TestConcurrentBatches(t *testing.T) {
	ds := synthDataset(t, 12, 8)
	l, err := NewLoader(ds, LoaderOptions{Size: 32, BatchSize: 3, Flip: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	const steps = 24
	want := make([]Batch, steps)
	for s := range want {
		want[s] = l.Batch(int64(s))
	}
	got := make([]Batch, steps)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := w; s < steps; s += 4 {
				got[s] = l.Batch(int64(s))
			}
		}()
	}
	wg.Wait()
	if !reflect.DeepEqual(got, want) {
		t.Error("batches built concurrently differ from sequential ones")
	}
}
