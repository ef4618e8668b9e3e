package detectors

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/detectors/boxes"
	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/detectors/cocoeval"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
	"github.com/smoothl1/smoothl1/trainer"
)

// Config configures a Detector. Zero fields take the defaults named.
type Config struct {
	Data      string // dataset folder with train.json, val.json and images/ (coco.Generate's layout)
	ImageSize int    // letterbox side S; 0 means 128
	BatchSize int    // training images per step; 0 means 16
	Seed      uint64 // batches and flips (the weights are seeded by the trainer)
	Flip      bool   // horizontal-flip augmentation
	// Anchors; the zero value means three levels (strides 8, 16, 32) of sizes 16, 32, 64 with
	// RetinaNet's aspect ratios and scales, 9 anchors per cell, fitting 128-pixel images.
	Anchors boxes.AnchorGenerator
	Matcher boxes.Matcher // zero value: RetinaNet's (0.5, 0.4, low-quality matches)
	Arch    Arch          // the network's shape; zero value: DefaultArch
	Coder   boxes.Coder   // zero value: weights (1, 1, 1, 1), scale clamp log(1000/16)
	// Focal loss (Lin et al.): α = 0.25, γ = 2, prior probability 0.01, as published.
	FocalAlpha, FocalGamma, Prior float64
	// Inference: score threshold 0.05, 1000 candidates before NMS, per-class NMS at IoU 0.5,
	// 100 detections per image.
	ScoreThresh float64
	PreNMS      int
	NMSThresh   float64
	MaxDets     int
}

// DefaultAnchors is the anchor configuration of the zero Config.
func DefaultAnchors() boxes.AnchorGenerator {
	return boxes.AnchorGenerator{
		Strides:      []int{8, 16, 32},
		Sizes:        []float64{16, 32, 64},
		AspectRatios: []float64{0.5, 1, 2},
		Scales:       []float64{1, math.Exp2(1.0 / 3), math.Exp2(2.0 / 3)},
	}
}

func (c Config) resolve() (Config, error) {
	if c.ImageSize == 0 {
		c.ImageSize = 128
	}
	if c.BatchSize == 0 {
		c.BatchSize = 16
	}
	if c.Anchors.Strides == nil {
		c.Anchors = DefaultAnchors()
	}
	if c.Matcher == (boxes.Matcher{}) {
		c.Matcher = boxes.RetinaNetMatcher()
	}
	if c.FocalAlpha == 0 {
		c.FocalAlpha = 0.25
	}
	if c.FocalGamma == 0 {
		c.FocalGamma = 2
	}
	if c.Prior == 0 {
		c.Prior = 0.01
	}
	if c.ScoreThresh == 0 {
		c.ScoreThresh = 0.05
	}
	if c.PreNMS == 0 {
		c.PreNMS = 1000
	}
	if c.NMSThresh == 0 {
		c.NMSThresh = 0.5
	}
	if c.MaxDets == 0 {
		c.MaxDets = 100
	}
	switch {
	case c.ImageSize%32 != 0 || c.ImageSize < 64:
		return c, fmt.Errorf("detectors: image size %d: want a multiple of 32, at least 64", c.ImageSize)
	case c.BatchSize < 1:
		return c, fmt.Errorf("detectors: batch size %d: want ≥ 1", c.BatchSize)
	case !(c.FocalAlpha > 0 && c.FocalAlpha < 1) || !(c.FocalGamma >= 0) || !(c.Prior > 0 && c.Prior < 1):
		return c, fmt.Errorf("detectors: focal loss α = %v, γ = %v, prior = %v: want α, prior in (0, 1), γ ≥ 0", c.FocalAlpha, c.FocalGamma, c.Prior)
	case !(c.ScoreThresh >= 0 && c.ScoreThresh < 1) || !(c.NMSThresh > 0 && c.NMSThresh <= 1) || c.PreNMS < 1 || c.MaxDets < 1:
		return c, fmt.Errorf("detectors: inference thresholds %v/%v/%d/%d out of range", c.ScoreThresh, c.NMSThresh, c.PreNMS, c.MaxDets)
	}
	if len(c.Anchors.Strides) != len(stageWidths)-2 {
		return c, fmt.Errorf("detectors: %d anchor levels: the network has %d pyramid levels (strides 8, 16, 32)", len(c.Anchors.Strides), len(stageWidths)-2)
	}
	for l, s := range c.Anchors.Strides {
		if s != 8<<l {
			return c, fmt.Errorf("detectors: anchor stride %d at level %d: the network's is %d", s, l, 8<<l)
		}
	}
	for _, v := range []interface{ Validate() error }{c.Anchors, c.Matcher, c.Coder} {
		if err := v.Validate(); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Detector is a RetinaNet-style single-shot detector, scaled down to train on a CPU: a small
// convolutional backbone, a three-level feature pyramid (P3–P5), a classification subnet
// trained with sigmoid focal loss and a box subnet trained with any of this project's losses
// on the anchors matched to an object, normalised by the number of those positive anchors.
// It implements trainer.Task and trainer.Evaluator; its methods run on the torch thread.
type Detector struct {
	cfg         Config
	train, val  *coco.Dataset
	trainL      *coco.Loader
	valL        *coco.Loader
	anchors     []boxes.Box // grid.Anchors()
	grid        *boxes.AnchorGrid
	classes     int
	net         *net
	batch       coco.Batch                         // reused between steps
	tgt         targets                            // reused between steps
	rank, world int                                // SetShard; world 0: the whole batch
	sum         func([]float64) ([]float64, error) // SetShard: the sum over the ranks
}

// New loads the dataset in cfg.Data and prepares the loaders and anchors. The network is
// created by Build (as trainer.Run does) or Load.
func New(cfg Config) (*Detector, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	d := &Detector{cfg: cfg}
	images := filepath.Join(cfg.Data, "images")
	if d.train, err = coco.Load(filepath.Join(cfg.Data, "train.json"), images, coco.LoadOptions{}); err != nil {
		return nil, err
	}
	if d.val, err = coco.Load(filepath.Join(cfg.Data, "val.json"), images, coco.LoadOptions{}); err != nil {
		return nil, err
	}
	d.classes = d.train.NumClasses()
	if d.val.NumClasses() != d.classes {
		return nil, fmt.Errorf("detectors: train.json has %d categories, val.json %d", d.classes, d.val.NumClasses())
	}
	if d.trainL, err = coco.NewLoader(d.train, coco.LoaderOptions{Size: cfg.ImageSize, BatchSize: cfg.BatchSize, Flip: cfg.Flip, Seed: cfg.Seed}); err != nil {
		return nil, err
	}
	if d.valL, err = coco.NewLoader(d.val, coco.LoaderOptions{Size: cfg.ImageSize, BatchSize: cfg.BatchSize}); err != nil {
		return nil, err
	}
	var sizes []boxes.FeatureSize
	for _, s := range cfg.Anchors.Strides {
		sizes = append(sizes, boxes.FeatureSize{H: cfg.ImageSize / s, W: cfg.ImageSize / s})
	}
	d.grid = cfg.Anchors.Grid(sizes)
	d.anchors = d.grid.Anchors()
	return d, nil
}

// Classes returns the number of object classes.
func (d *Detector) Classes() int { return d.classes }

// Build implements trainer.Task.
func (d *Detector) Build(root *nn.Path) error {
	d.net = newNet(root, int64(d.classes), int64(d.cfg.Anchors.NumAnchors()), d.cfg.Prior, d.cfg.Arch)
	return nil
}

// checkNet returns an error when the network is missing or was freed with its VarStore
// (gotch would pass the freed handles to C and crash).
func (d *Detector) checkNet() error {
	switch {
	case d.net == nil:
		return errors.New("detectors: no network: call Build (trainer.Run and trainer.LoadModel do)")
	case d.net.clsOut.w.Ctensor() == nil:
		return errors.New("detectors: the network was freed with its VarStore (trainer.Run frees it when it returns): build or load it again")
	}
	return nil
}

// targets are the training targets of a batch, built on the host.
type targets struct {
	cls     []float32 // [B·A, C] one-hot of the matched class for positives
	valid   []float32 // [B·A] 1 for positive and negative anchors, 0 for ignored ones
	pos     []int64   // indices into B·A of the positive anchors
	deltas  []float64 // [len(pos), 4] encoded boxes of the positives
	matched []boxes.Box

	// Working memory, kept between batches.
	match              []int
	gt, crowd          []boxes.Box
	labels             []int
	posAnchors         []boxes.Box
	scratch            boxes.MatchScratch
	crowdIdx           []int
	crowdIoU, denseIoU []float64
}

// build fills t from a batch: each anchor is matched against the image's non-crowd boxes;
// anchors that overlap a crowd box at the positive IoU are ignored. The matching computes
// only the IoUs of anchors near a box (boxes.Matcher.MatchGrid, boxes.AnchorGrid.Overlaps),
// with the labels of the dense IoU matrix (buildTargetsDense in the tests is that oracle).
func (d *Detector) buildTargets(t *targets, b *coco.Batch) {
	na, c := len(d.anchors), d.classes
	n := len(b.Samples) * na
	t.cls = resize(t.cls, n*c)
	t.valid = resize(t.valid, n)
	t.pos, t.matched, t.deltas, t.posAnchors = t.pos[:0], t.matched[:0], t.deltas[:0], t.posAnchors[:0]
	thresh := d.cfg.Matcher.PositiveIoU
	for i, s := range b.Samples {
		t.gt, t.crowd, t.labels = t.gt[:0], t.crowd[:0], t.labels[:0]
		for j, bx := range s.Boxes {
			if s.Crowd[j] {
				t.crowd = append(t.crowd, boxes.Box(bx))
				continue
			}
			t.gt = append(t.gt, boxes.Box(bx))
			t.labels = append(t.labels, s.Labels[j])
		}
		t.match = d.cfg.Matcher.MatchGrid(t.match, t.gt, d.grid, &t.scratch)
		base := i * na
		valid := t.valid[base : base+na]
		for a, m := range t.match {
			valid[a] = 1
			switch {
			case m >= 0:
				k := base + a
				t.cls[k*c+t.labels[m]] = 1
				t.pos = append(t.pos, int64(k))
				t.matched = append(t.matched, t.gt[m])
				t.posAnchors = append(t.posAnchors, d.anchors[a])
			case m == boxes.Ignore:
				valid[a] = 0
			}
		}
		for _, cb := range t.crowd {
			if thresh > 0 {
				// An anchor Overlaps leaves out has IoU 0 < thresh with the crowd box.
				t.crowdIdx, t.crowdIoU = d.grid.Overlaps(t.crowdIdx[:0], t.crowdIoU[:0], cb)
				for q, a := range t.crowdIdx {
					if t.match[a] < 0 && t.crowdIoU[q] >= thresh {
						valid[a] = 0
					}
				}
				continue
			}
			// PositiveIoU 0: an IoU of 0 reaches it, so every anchor is compared.
			t.denseIoU = boxes.IoU(t.denseIoU, []boxes.Box{cb}, d.anchors)
			for a, v := range t.denseIoU {
				if t.match[a] < 0 && v >= thresh {
					valid[a] = 0
				}
			}
		}
	}
	t.deltas = d.cfg.Coder.Encode(t.deltas, t.posAnchors, t.matched)
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// StepInput is the input of one training step as StepLoss builds it: the batch's images and
// the anchors' training targets (row-major, float32).
type StepInput struct {
	Batch, Size, Anchors, Classes int
	Images                        []float32 // [Batch, 3, Size, Size]
	Cls                           []float32 // [Batch·Anchors, Classes]: one-hot of the matched class of a positive
	Valid                         []float32 // [Batch·Anchors]: 1 for positive and negative anchors, 0 for ignored ones
	Pos                           []int64   // indices into Batch·Anchors of the positive anchors
	Deltas                        []float32 // [len(Pos), 4]: their encoded boxes

	// What the step is built from, for an implementation that draws and matches the batch
	// itself (the PyTorch twin of `smoothl1 bench`): the batch's samples before the loader
	// maps them (Images is Sources through Normalization, flipped where Flipped), the
	// anchors of one image (row-major over levels, positions and shapes, as the anchor
	// index of Cls), and the matcher and box coder that turn them into Cls, Valid, Pos and
	// Deltas (a Coder's zero Weights mean 1, 1, 1, 1). Anchors that overlap a crowd box at
	// Matcher.PositiveIoU or more and match no other box are ignored (Valid 0).
	Sources       []coco.Source
	Normalization [3][256]float32
	AnchorBoxes   []boxes.Box
	Matcher       boxes.Matcher
	Coder         boxes.Coder
}

// StepInput returns the input of training step s (the batch StepLoss fills and the targets
// it matches), as copies.
func (d *Detector) StepInput(s int64) StepInput {
	var b coco.Batch
	d.trainL.Fill(&b, s)
	var t targets
	d.buildTargets(&t, &b)
	in := StepInput{Batch: len(b.Samples), Size: d.cfg.ImageSize, Anchors: len(d.anchors), Classes: d.classes,
		Images: slices.Clone(b.Images), Cls: slices.Clone(t.cls), Valid: slices.Clone(t.valid), Pos: slices.Clone(t.pos),
		Deltas: make([]float32, len(t.deltas)), Sources: d.trainL.Sources(s), Normalization: d.trainL.Normalization(),
		AnchorBoxes: slices.Clone(d.anchors), Matcher: d.cfg.Matcher, Coder: d.cfg.Coder}
	for i, v := range t.deltas {
		in.Deltas[i] = float32(v)
	}
	return in
}

// SetShard implements trainer.ShardedTask: StepLoss then trains on images r·B/W to
// (r+1)·B/W of step s's batch of B = Config.BatchSize images, and divides by W/max(1, P)
// with P the positive anchors of the whole batch (sum), the normaliser detectron2 and
// mmdetection all-reduce, so that the mean over the W ranks of their losses is the whole
// batch's. W must divide B.
func (d *Detector) SetShard(r, w int, sum func([]float64) ([]float64, error)) error {
	switch {
	case w < 1 || r < 0 || r >= w:
		return fmt.Errorf("detectors: shard %d of %d", r, w)
	case d.cfg.BatchSize%w != 0:
		return fmt.Errorf("detectors: a batch of %d images does not split into %d equal shards: the batch must be a multiple of the number of ranks", d.cfg.BatchSize, w)
	case w > 1 && sum == nil:
		return errors.New("detectors: a shard without a sum over the ranks: the positive anchors of the whole batch normalise the loss")
	}
	d.rank, d.world, d.sum = r, w, sum
	return nil
}

// StepLoss implements trainer.Task: the focal loss of every non-ignored anchor plus boxLoss
// (built with the Sum reduction) on the positive anchors, both divided by max(1, positives);
// of this rank's shard of the batch, divided by max(1, positives of the batch)/W, after
// SetShard.
//
// The loader writes the batch's images straight into the input tensor's memory, and the
// matching writes the class and validity targets into theirs (torchthread.Empty): nothing of
// the batch is copied on the host.
func (d *Detector) StepLoss(s int64, boxLoss tensorloss.Loss) (*ts.Tensor, map[string]float64, error) {
	if err := d.checkNet(); err != nil {
		return nil, nil, err
	}
	var tmp tt.Scratch
	defer tmp.Drop()
	w := d.world
	b := int64(d.trainL.BatchSize())
	if w > 1 {
		b /= int64(w) // SetShard: w divides the batch
	}
	size := int64(d.cfg.ImageSize)
	na, c := int64(len(d.anchors)), int64(d.classes)

	x, images := tt.Must2(tt.Empty[float32](b, 3, size, size))
	tmp.Add(x)
	clsT, cls := tt.Must2(tt.Empty[float32](b*na, c))
	tmp.Add(clsT)
	valid, validHost := tt.Must2(tt.Empty[float32](b*na, 1))
	tmp.Add(valid)
	t := &d.tgt
	d.batch.Images, t.cls, t.valid = images, cls, validHost
	if w > 1 {
		d.trainL.FillRange(&d.batch, s, d.rank*int(b), (d.rank+1)*int(b))
	} else {
		d.trainL.Fill(&d.batch, s)
	}
	d.buildTargets(t, &d.batch)
	filled := len(d.batch.Images) > 0 && &d.batch.Images[0] == &images[0] && &t.cls[0] == &cls[0] && &t.valid[0] == &validHost[0]
	// The tensors' memory is not kept past the step.
	d.batch.Images, t.cls, t.valid = nil, nil, nil
	if !filled {
		return nil, nil, errors.New("detectors: the batch was not written into the step's tensors")
	}
	npos := int64(len(t.pos))
	norm := math.Max(1, float64(npos))
	if w > 1 {
		total, err := d.sum([]float64{float64(npos)})
		if err != nil {
			return nil, nil, fmt.Errorf("detectors: the batch's positive anchors: %w", err)
		}
		norm = math.Max(1, total[0]) / float64(w)
	}

	cl, box := d.net.forward(x)
	tmp.Add(cl)
	tmp.Add(box)
	logits := tmp.Add(tt.Must(cl.Reshape([]int64{b * na, c}, false)))
	focal := tmp.Add(d.focal(logits, clsT, valid, norm))

	// A loss whose statistic counts per image (Dynamic R-CNN's k = K × images) learns the
	// batch's image count.
	if l, ok := boxLoss.(interface{ SetImages(int) error }); ok {
		tt.Check(l.SetImages(int(b)))
	}
	flat := tmp.Add(tt.Must(box.Reshape([]int64{b * na, 4}, false)))
	idx, pos := tt.Must2(tt.Empty[int64](npos))
	tmp.Add(idx)
	copy(pos, t.pos)
	pred := tmp.Add(tt.Must(flat.IndexSelect(0, idx, false)))
	target, deltas := tt.Must2(tt.Empty[float32](npos, 4))
	tmp.Add(target)
	for i, v := range t.deltas {
		deltas[i] = float32(v)
	}
	bl, err := boxLoss.Forward(pred, target, nil)
	if err != nil {
		return nil, nil, err
	}
	tmp.Add(bl)
	bl = tmp.Add(tt.Must(bl.MulScalar(tmp.Scalar(1/norm), false)))
	total := tt.Must(focal.Add(bl, false))
	parts := map[string]float64{"cls": tt.Must(tt.Item(focal)), "box": tt.Must(tt.Item(bl)), "positives": float64(npos) / float64(b)}
	return total, parts, nil
}

// focal returns the sigmoid focal loss summed over valid anchors and classes, divided by norm:
//
//	FL = Σ valid · α_t · |t − p|^γ · BCE(logit, t),  α_t = α·t + (1 − α)·(1 − t)
//
// (|t − p| = 1 − p_t for binary targets t).
func (d *Detector) focal(logits, t, valid *ts.Tensor, norm float64) *ts.Tensor {
	none := ts.NewTensor() // undefined: no weights
	ce := tt.Must(logits.BinaryCrossEntropyWithLogits(t, none, none, 0, false))
	none.MustDrop()
	p := tt.Must(logits.Sigmoid(false))
	diff := tt.Must(t.Sub(p, false))
	p.MustDrop()
	mod := tt.Must(diff.Abs(true))
	g := ts.FloatScalar(d.cfg.FocalGamma)
	mod = tt.Must(mod.PowTensorScalar(g, true))
	g.MustDrop()
	a := d.cfg.FocalAlpha
	s1, s2 := ts.FloatScalar(2*a-1), ts.FloatScalar(1-a)
	at := tt.Must(t.MulScalar(s1, false))
	at = tt.Must(at.AddScalar(s2, true))
	s1.MustDrop()
	s2.MustDrop()
	w := tt.Must(at.Mul(valid, true))
	loss := tt.Must(ce.Mul(mod, true))
	mod.MustDrop()
	loss = tt.Must(loss.Mul(w, true))
	w.MustDrop()
	sum := tt.Must(loss.Sum(gotch.Float, true))
	inv := ts.FloatScalar(1 / norm)
	out := tt.Must(sum.MulScalar(inv, true))
	inv.MustDrop()
	return out
}

// Detect returns the detections of a batch, in original image coordinates (COCO xywh), with
// the dataset's category ids. It runs the network without gradients.
func (d *Detector) Detect(b *coco.Batch, ds *coco.Dataset) ([]cocoeval.Det, error) {
	if err := d.checkNet(); err != nil {
		return nil, err
	}
	n := len(b.Samples)
	na, c := len(d.anchors), d.classes
	scores := make([]float32, n*na*c)
	deltas := make([]float32, n*na*4)
	err := tt.NoGrad(func() error {
		size := int64(d.cfg.ImageSize)
		x := tt.Must(tt.FromSlice(b.Images, int64(n), 3, size, size))
		cls, box := d.net.forward(x)
		x.MustDrop()
		p := tt.Must(cls.Sigmoid(true))
		tt.Check(tt.CopyTo(scores, p))
		tt.Check(tt.CopyTo(deltas, box))
		p.MustDrop()
		box.MustDrop()
		return nil
	})
	if err != nil {
		return nil, err
	}
	var dets []cocoeval.Det
	type cand struct {
		anchor, class int
		score         float64
	}
	var cands []cand
	for i := 0; i < n; i++ {
		cands = cands[:0]
		sc := scores[i*na*c : (i+1)*na*c]
		for k, v := range sc {
			if float64(v) > d.cfg.ScoreThresh {
				cands = append(cands, cand{k / c, k % c, float64(v)})
			}
		}
		sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
		if len(cands) > d.cfg.PreNMS {
			cands = cands[:d.cfg.PreNMS]
		}
		anc := make([]boxes.Box, len(cands))
		dl := make([]float64, 4*len(cands))
		sco := make([]float64, len(cands))
		cl := make([]int, len(cands))
		for j, cd := range cands {
			anc[j] = d.anchors[cd.anchor]
			for q := 0; q < 4; q++ {
				dl[4*j+q] = float64(deltas[(i*na+cd.anchor)*4+q])
			}
			sco[j], cl[j] = cd.score, cd.class
		}
		decoded := d.cfg.Coder.Decode(nil, anc, dl)
		s := float64(d.cfg.ImageSize)
		for j := range decoded {
			for q := range decoded[j] {
				decoded[j][q] = math.Min(math.Max(decoded[j][q], 0), s)
			}
		}
		keep := boxes.BatchedNMS(decoded, sco, cl, d.cfg.NMSThresh)
		if len(keep) > d.cfg.MaxDets {
			keep = keep[:d.cfg.MaxDets]
		}
		for _, j := range keep {
			orig := b.ToOriginal(i, decoded[j])
			if orig[2] <= orig[0] || orig[3] <= orig[1] {
				continue
			}
			dets = append(dets, cocoeval.Det{
				ImageID:    b.Samples[i].ImageID,
				CategoryID: ds.CategoryID(cl[j]),
				Box:        coco.XYXYToXYWH(orig),
				Score:      sco[j],
			})
		}
	}
	return dets, nil
}

// Evaluate implements trainer.Evaluator: COCO box AP on the validation split.
func (d *Detector) Evaluate() (map[string]float64, error) {
	r, err := d.EvaluateResult()
	if err != nil {
		return nil, err
	}
	return map[string]float64{"ap": r.AP, "ap50": r.AP50, "ap75": r.AP75, "ap_small": r.APSmall,
		"ap_medium": r.APMedium, "ap_large": r.APLarge, "ar100": r.AR100}, nil
}

// EvaluateResult returns the full COCO result on the validation split.
func (d *Detector) EvaluateResult() (cocoeval.Result, error) {
	dets, err := d.ValDetections()
	if err != nil {
		return cocoeval.Result{}, err
	}
	gt, ids := GroundTruth(d.val)
	if len(gt) == 0 {
		return cocoeval.Result{}, errors.New("detectors: the validation split has no objects")
	}
	return cocoeval.Evaluate(gt, dets, ids, cocoeval.Params{})
}

// ValImages returns the number of validation images.
func (d *Detector) ValImages() int { return len(d.val.Images) }

// Load builds the detector of cfg and loads a checkpoint of it (trainer.LoadModelFor, one
// read of the checkpoint), returning the VarStore (the caller frees it with
// trainer.DestroyVarStore) and the run's configuration JSON. An empty cfg.Data means the
// dataset the checkpoint's run recorded. A checkpoint of the plain network — written before
// group normalisation became the default, so without its variables — is loaded into that
// network (plain, pyramid width 48, two tower convs) whatever cfg.Arch says, so that older
// runs still evaluate.
func Load(path string, cfg Config) (*Detector, *nn.VarStore, json.RawMessage, error) {
	task, vs, config, err := trainer.LoadModelFor(path, func(config json.RawMessage, vars []string) (trainer.Task, error) {
		if cfg.Data == "" {
			data, err := configDataset(path, config)
			if err != nil {
				return nil, err
			}
			cfg.Data = data
		}
		if !slices.ContainsFunc(vars, func(n string) bool { return strings.HasSuffix(n, ".gn_weight") }) {
			cfg.Arch = archBefore2026_12
		}
		return New(cfg)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return task.(*Detector), vs, config, nil
}

// CheckpointDataset returns the dataset folder recorded in a detector checkpoint (the "data"
// of the run's configuration, as recipe writes it), so that tools can find the categories a
// checkpoint predicts without being told.
func CheckpointDataset(path string) (string, error) {
	cfg, err := trainer.CheckpointConfig(path)
	if err != nil {
		return "", err
	}
	return configDataset(path, cfg)
}

// configDataset reads the dataset folder from a checkpoint's configuration JSON.
func configDataset(path string, cfg json.RawMessage) (string, error) {
	var id struct {
		Task string `json:"task"`
		Data string `json:"data"`
	}
	if err := json.Unmarshal(cfg, &id); err != nil {
		return "", fmt.Errorf("detectors: %s: configuration: %w", path, err)
	}
	if id.Data == "" {
		return "", fmt.Errorf("detectors: %s is a %q checkpoint without a dataset: not a detector's", path, id.Task)
	}
	return id.Data, nil
}

// DecodeImage decodes a PNG or JPEG file (for drawing detections on it).
func DecodeImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("detectors: %s: %w", path, err)
	}
	return img, nil
}
