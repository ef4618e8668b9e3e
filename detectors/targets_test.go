package detectors

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"

	"github.com/smoothl1/smoothl1/detectors/boxes"
	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// buildTargetsDense is buildTargets as it was before the matching went through the anchor
// grid: the dense IoU matrix of every ground truth and crowd box against every anchor, and
// Matcher.Match on it. It is the oracle of TestBuildTargetsAgainstDense.
func (d *Detector) buildTargetsDense(t *targets, b *coco.Batch) {
	na, c := len(d.anchors), d.classes
	n := len(b.Samples) * na
	t.cls = resize(t.cls, n*c)
	t.valid = resize(t.valid, n)
	t.pos, t.matched, t.deltas = t.pos[:0], t.matched[:0], t.deltas[:0]
	var posAnchors []boxes.Box
	var iou []float64
	var match []int
	for i, s := range b.Samples {
		var gt, crowd []boxes.Box
		var labels []int
		for j, bx := range s.Boxes {
			if s.Crowd[j] {
				crowd = append(crowd, boxes.Box(bx))
				continue
			}
			gt = append(gt, boxes.Box(bx))
			labels = append(labels, s.Labels[j])
		}
		iou = boxes.IoU(iou, gt, d.anchors)
		match = d.cfg.Matcher.Match(iou, len(gt), na, match)
		var crowdIoU []float64
		if len(crowd) > 0 {
			crowdIoU = boxes.IoU(nil, crowd, d.anchors)
		}
		for a, m := range match {
			k := i*na + a
			t.valid[k] = 1
			switch {
			case m >= 0:
				t.cls[k*c+labels[m]] = 1
				t.pos = append(t.pos, int64(k))
				t.matched = append(t.matched, gt[m])
				posAnchors = append(posAnchors, d.anchors[a])
			case m == boxes.Ignore:
				t.valid[k] = 0
			}
			for q := range crowd {
				if m < 0 && crowdIoU[q*na+a] >= d.cfg.Matcher.PositiveIoU {
					t.valid[k] = 0
				}
			}
		}
	}
	t.deltas = d.cfg.Coder.Encode(t.deltas, posAnchors, t.matched)
}

// sameTargets reports the first difference between two targets, or "".
func sameTargets(got, want *targets) string {
	switch {
	case !slices.Equal(got.cls, want.cls):
		return "cls"
	case !slices.Equal(got.valid, want.valid):
		return "valid"
	case !slices.Equal(got.pos, want.pos):
		return "pos"
	case !slices.Equal(got.matched, want.matched):
		return "matched"
	case len(got.deltas) != len(want.deltas):
		return "deltas' length"
	}
	for i, v := range got.deltas {
		if math.Float64bits(v) != math.Float64bits(want.deltas[i]) && !(math.IsNaN(v) && math.IsNaN(want.deltas[i])) {
			return "deltas"
		}
	}
	return ""
}

// randomSample returns an image's objects of every kind the matcher must handle in the S×S
// frame: none, one, or up to 60 boxes; ordinary, touching or crossing the borders, tiny,
// zero-size, larger than the image, on whole pixels (edges shared with anchors), duplicated,
// inverted; some of them crowd regions.
func randomSample(rng *rand.Rand, size float64, classes int) coco.Sample {
	var s coco.Sample
	n := []int{0, 1, 3, 6, 60}[rng.IntN(5)]
	for range n {
		x, y := rng.Float64()*size, rng.Float64()*size
		w, h := rng.Float64()*size/2, rng.Float64()*size/2
		b := [4]float64{x, y, x + w, y + h}
		switch rng.IntN(10) {
		case 0: // clipped at the borders
			b = [4]float64{0, max(y-size/4, 0), min(x+w, size), size}
		case 1: // the whole image or more
			b = [4]float64{-size / 2, 0, size * 2, size}
		case 2: // tiny
			b[2], b[3] = b[0]+1e-3, b[1]+rng.Float64()
		case 3: // zero width
			b[2] = b[0]
		case 4: // whole pixels, multiples of 8
			for q := range b {
				b[q] = 8 * math.Round(b[q]/8)
			}
		case 5: // a duplicate
			if len(s.Boxes) > 0 {
				b = s.Boxes[rng.IntN(len(s.Boxes))]
			}
		case 6: // inverted
			b[0], b[2] = b[2]+1, b[0]
		}
		s.Boxes = append(s.Boxes, b)
		s.Labels = append(s.Labels, rng.IntN(classes))
		s.Crowd = append(s.Crowd, rng.IntN(6) == 0)
	}
	return s
}

// TestBuildTargetsAgainstDense: the targets built through the anchor grid are those of the
// dense IoU matrix (buildTargetsDense), field for field and bit for bit: on the training
// batches of the synthetic dataset (with flips), and on random batches of every kind of box
// under several matcher configurations, including a positive threshold of 0 (where every
// anchor reaches a crowd box's threshold). One targets value is reused throughout, as
// StepLoss reuses it.
func TestBuildTargetsAgainstDense(t *testing.T) {
	d := tinyDetector(t, 10)
	var got, want targets
	for step := range int64(6) {
		b := d.trainL.Batch(step)
		d.buildTargets(&got, &b)
		d.buildTargetsDense(&want, &b)
		if diff := sameTargets(&got, &want); diff != "" {
			t.Fatalf("training batch %d: %s differ", step, diff)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	matchers := []boxes.Matcher{
		boxes.RetinaNetMatcher(),
		{PositiveIoU: 0.5, NegativeIoU: 0.4},
		{PositiveIoU: 0.6, NegativeIoU: 0.6, AllowLowQuality: true},
		{AllowLowQuality: true},
		{},
	}
	size := float64(d.cfg.ImageSize)
	for trial := range 300 {
		d.cfg.Matcher = matchers[trial%len(matchers)]
		b := coco.Batch{Size: d.cfg.ImageSize}
		for range 1 + rng.IntN(4) {
			b.Samples = append(b.Samples, randomSample(rng, size, d.classes))
		}
		d.buildTargets(&got, &b)
		d.buildTargetsDense(&want, &b)
		if diff := sameTargets(&got, &want); diff != "" {
			t.Fatalf("trial %d, matcher %+v: %s differ", trial, d.cfg.Matcher, diff)
		}
	}
}

// TestStepLossFromStepInput: StepLoss, which has the loader and the matching write the batch
// straight into its tensors' memory, gives bit for bit the loss of the same step built the
// way the twin gets it: StepInput's host copies (the images of Loader.Batch and the targets),
// copied into tensors with FromSlice. Steps 0–3 cover both flips and epochs of the 10
// images in batches of 4.
func TestStepLossFromStepInput(t *testing.T) {
	d := tinyDetector(t, 10)
	sl1, err := static.NewSmoothL1(0.11)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := tensorloss.NewStaticLoss(sl1, static.Sum)
	if err != nil {
		t.Fatal(err)
	}
	err = tt.Do(func() error {
		tt.Check(tt.ManualSeed(1))
		vs := nn.NewVarStore(gotch.CPU)
		defer vs.Destroy()
		tt.Check(d.Build(vs.Root()))
		return tt.NoGrad(func() error {
			for s := range int64(4) {
				total, parts, err := d.StepLoss(s, loss)
				if err != nil {
					return err
				}
				got := tt.Must(tt.Item(total))
				total.MustDrop()
				want, wantParts := stepLossOf(d, d.StepInput(s), loss)
				if got != want || parts["cls"] != wantParts[0] || parts["box"] != wantParts[1] {
					t.Errorf("step %d: StepLoss %v (cls %v, box %v), from StepInput %v (cls %v, box %v)",
						s, got, parts["cls"], parts["box"], want, wantParts[0], wantParts[1])
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stepLossOf is the detector's loss on a StepInput, every input copied from the host.
func stepLossOf(d *Detector, in StepInput, loss tensorloss.Loss) (total float64, parts [2]float64) {
	var tmp tt.Scratch
	defer tmp.Drop()
	b, na, c, s := int64(in.Batch), int64(in.Anchors), int64(in.Classes), int64(in.Size)
	x := tmp.Add(tt.Must(tt.FromSlice(in.Images, b, 3, s, s)))
	cls, box := d.net.forward(x)
	tmp.Add(cls)
	tmp.Add(box)
	norm := math.Max(1, float64(len(in.Pos)))
	logits := tmp.Add(tt.Must(cls.Reshape([]int64{b * na, c}, false)))
	clsT := tmp.Add(tt.Must(tt.FromSlice(in.Cls, b*na, c)))
	valid := tmp.Add(tt.Must(tt.FromSlice(in.Valid, b*na, 1)))
	focal := tmp.Add(d.focal(logits, clsT, valid, norm))
	flat := tmp.Add(tt.Must(box.Reshape([]int64{b * na, 4}, false)))
	idx := tmp.Add(tt.Must(tt.FromSlice(in.Pos, int64(len(in.Pos)))))
	pred := tmp.Add(tt.Must(flat.IndexSelect(0, idx, false)))
	target := tmp.Add(tt.Must(tt.FromSlice(in.Deltas, int64(len(in.Pos)), 4)))
	bl := tmp.Add(tt.Must(loss.Forward(pred, target, nil)))
	bl = tmp.Add(tt.Must(bl.MulScalar(tmp.Scalar(1/norm), false)))
	sum := tmp.Add(tt.Must(focal.Add(bl, false)))
	return tt.Must(tt.Item(sum)), [2]float64{tt.Must(tt.Item(focal)), tt.Must(tt.Item(bl))}
}

// TestStepInputSources: the images and targets of StepInput are what its Sources,
// Normalization, AnchorBoxes, Matcher and Coder give as their docs say (the flip applied to
// pixels and boxes, then the dense matching oracle): what the PyTorch twin of the bench
// rebuilds every step.
func TestStepInputSources(t *testing.T) {
	d := tinyDetector(t, 10)
	for s := range int64(4) {
		in := d.StepInput(s)
		if !slices.Equal(in.AnchorBoxes, d.anchors) || in.Matcher != d.cfg.Matcher || in.Coder != d.cfg.Coder {
			t.Fatalf("step %d: anchors, matcher or coder differ from the detector's", s)
		}
		S, plane := in.Size, in.Size*in.Size
		b := coco.Batch{Size: S, Images: make([]float32, len(in.Sources)*3*plane)}
		for j, src := range in.Sources {
			smp := coco.Sample{Index: src.Index, Flipped: src.Flipped, Labels: src.Labels, Crowd: src.Crowd}
			for _, o := range src.Boxes {
				if src.Flipped {
					o = [4]float64{float64(S) - o[2], o[1], float64(S) - o[0], o[3]}
				}
				smp.Boxes = append(smp.Boxes, o)
			}
			b.Samples = append(b.Samples, smp)
			for c := range 3 {
				for y := range S {
					for x := range S {
						sx := x
						if src.Flipped {
							sx = S - 1 - x
						}
						b.Images[j*3*plane+(c*S+y)*S+x] = in.Normalization[c][src.Pixels[(c*S+y)*S+sx]]
					}
				}
			}
		}
		if !slices.Equal(b.Images, in.Images) {
			t.Fatalf("step %d: the images rebuilt from the sources differ", s)
		}
		var want targets
		d.buildTargetsDense(&want, &b)
		deltas := make([]float32, len(want.deltas))
		for i, v := range want.deltas {
			deltas[i] = float32(v)
		}
		if !slices.Equal(want.cls, in.Cls) || !slices.Equal(want.valid, in.Valid) || !slices.Equal(want.pos, in.Pos) || !slices.Equal(deltas, in.Deltas) {
			t.Fatalf("step %d: the targets rebuilt from the sources differ", s)
		}
	}
}
