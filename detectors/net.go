package detectors

import (
	"math"
	"strconv"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	tt "github.com/smoothl1/smoothl1/torchthread"
)

// conv is a 2-D convolution with "same" padding for odd kernels, optionally followed by
// group normalisation (with its affine scale and shift).
type conv struct {
	w, b   *ts.Tensor
	stride int64
	pad    int64
	groups int64      // GroupNorm groups; 0: none
	gw, gb *ts.Tensor // GroupNorm's scale and shift
}

// gnGroups is the GroupNorm group count of a layer of c channels: 8 channels a group (Wu & He
// 2018 found 8 to 16 channels per group as good as 32 groups), at least 1.
func gnGroups(c int64) int64 { return max(1, c/8) }

// withNorm adds GroupNorm to c, its variables under p.
func (c *conv) withNorm(p *nn.Path, out int64) *conv {
	c.groups = gnGroups(out)
	c.gw = p.MustNewVar("gn_weight", []int64{out}, nn.NewUniformInit(1, 1))
	c.gb = p.MustNewVar("gn_bias", []int64{out}, nn.NewUniformInit(0, 0))
	return c
}

// newConv adds a convolution's variables under p. The weights are He-uniform, ±√(6/fanIn)
// (the backbone; gotch's own Kaiming init is plain randn in v0.9.1), or N(0, std²) when std > 0
// (the heads, as RetinaNet initialises them); the bias starts at bias.
func newConv(p *nn.Path, in, out, k, stride int64, std, bias float64) *conv {
	b := math.Sqrt(6 / float64(in*k*k))
	var init nn.Init = nn.NewUniformInit(-b, b)
	if std > 0 {
		init = nn.NewRandnInit(0, std)
	}
	return &conv{
		w: p.MustNewVar("weight", []int64{out, in, k, k}, init),
		// uniform(bias, bias): gotch's NewConstInit makes float64 tensors for values other
		// than 0 and 1.
		b:      p.MustNewVar("bias", []int64{out}, nn.NewUniformInit(bias, bias)),
		stride: stride,
		pad:    k / 2,
	}
}

// forward returns conv(x), optionally followed by ReLU. The caller drops the result.
func (c *conv) forward(x *ts.Tensor, relu bool) *ts.Tensor {
	y := tt.Must(ts.Conv2d(x, c.w, c.b, []int64{c.stride, c.stride}, []int64{c.pad, c.pad}, []int64{1, 1}, 1))
	if c.groups > 0 {
		n := tt.Must(ts.GroupNorm(y, c.groups, c.gw, c.gb, 1e-5, false))
		y.MustDrop()
		y = n
	}
	if relu {
		y = tt.Must(y.Relu(true))
	}
	return y
}

// net is the detector's network: a five-stage convolutional backbone (strides 2 to 32), a
// feature pyramid over the last three stages (P3–P5, strides 8, 16, 32) and RetinaNet's two
// heads shared across levels: a classification tower ending in A·C logits per position and a box
// tower ending in A·4 deltas.
type net struct {
	stages             [][]*conv // backbone: stage i has stride 2^(i+1)
	lateral, smooth    []*conv   // FPN, one per pyramid level
	clsTower, boxTower []*conv
	clsOut, boxOut     *conv
	anchors, classes   int64
}

// Backbone widths per stage; the pyramid uses the last three. The first two stages only
// downsample (one strided conv each): at 64² and 32² positions a second conv would cost more
// than the whole pyramid.
var stageWidths = []int64{16, 32, 64, 96, 128}

const plainStages = 2 // stages without a second conv

// Arch is the network's shape; the zero value is the default.
type Arch struct {
	FPNWidth   int64 // channels of the pyramid and the heads; 0 means 32
	TowerDepth int   // 3×3 convs per head tower before its output conv; 0 means 1, < 0 none
	// Plain leaves out the group normalisation (8 channels a group) that follows every
	// backbone conv and every head-tower conv by default, as in torchvision's RetinaNet v2
	// heads. With it the detector trains at a 4× larger learning rate and reaches in a third
	// of the steps an AP the plain network does not reach in the whole old schedule
	// (docs/detector.md). Plain is the network of checkpoints written before 2026-12; load
	// those with Arch{Plain: true, FPNWidth: 48, TowerDepth: 2} (Load does).
	Plain bool
}

// archBefore2026_12 is the network of checkpoints written before 2026-12.
var archBefore2026_12 = Arch{Plain: true, FPNWidth: 48, TowerDepth: 2}

func (a Arch) resolve() Arch {
	if a.FPNWidth == 0 {
		a.FPNWidth = 32
	}
	switch {
	case a.TowerDepth == 0:
		a.TowerDepth = 1
	case a.TowerDepth < 0:
		a.TowerDepth = 0
	}
	return a
}

func newNet(root *nn.Path, classes, anchors int64, prior float64, arch Arch) *net {
	arch = arch.resolve()
	fpnWidth := arch.FPNWidth
	n := &net{anchors: anchors, classes: classes}
	in := int64(3)
	bb := root.Sub("backbone")
	for i, w := range stageWidths {
		s := bb.Sub("s" + itoa(i))
		down := newConv(s.Sub("down"), in, w, 3, 2, 0, 0)
		if !arch.Plain {
			down.withNorm(s.Sub("down"), w)
		}
		stage := []*conv{down}
		if i >= plainStages {
			c := newConv(s.Sub("conv"), w, w, 3, 1, 0, 0)
			if !arch.Plain {
				c.withNorm(s.Sub("conv"), w)
			}
			stage = append(stage, c)
		}
		n.stages = append(n.stages, stage)
		in = w
	}
	fpn := root.Sub("fpn")
	for l, w := range stageWidths[2:] {
		n.lateral = append(n.lateral, newConv(fpn.Sub("lateral"+itoa(l)), w, fpnWidth, 1, 1, 0, 0))
		n.smooth = append(n.smooth, newConv(fpn.Sub("out"+itoa(l)), fpnWidth, fpnWidth, 3, 1, 0, 0))
	}
	head := root.Sub("head")
	for i := 0; i < arch.TowerDepth; i++ {
		cls := newConv(head.Sub("cls"+itoa(i)), fpnWidth, fpnWidth, 3, 1, 0.01, 0)
		box := newConv(head.Sub("box"+itoa(i)), fpnWidth, fpnWidth, 3, 1, 0.01, 0)
		if !arch.Plain {
			cls.withNorm(head.Sub("cls"+itoa(i)), fpnWidth)
			box.withNorm(head.Sub("box"+itoa(i)), fpnWidth)
		}
		n.clsTower = append(n.clsTower, cls)
		n.boxTower = append(n.boxTower, box)
	}
	// The classification bias starts every anchor at probability prior, so the focal loss of the
	// many easy negatives does not swamp the first steps (RetinaNet §4.1).
	n.clsOut = newConv(head.Sub("cls_logits"), fpnWidth, anchors*classes, 3, 1, 0.01, -math.Log((1-prior)/prior))
	n.boxOut = newConv(head.Sub("box_deltas"), fpnWidth, anchors*4, 3, 1, 0.01, 0)
	return n
}

func itoa(i int) string { return strconv.Itoa(i) }

// forward maps images [B, 3, S, S] to classification logits [B, N, C] and box deltas [B, N, 4]
// over the N anchors of all levels, in the anchor generator's order (level, y, x, anchor). The
// caller drops both.
func (n *net) forward(x *ts.Tensor) (cls, box *ts.Tensor) {
	var feats []*ts.Tensor
	h := x
	for i, st := range n.stages {
		b := st[0].forward(h, true)
		for _, c := range st[1:] {
			y := c.forward(b, true)
			b.MustDrop()
			b = y
		}
		if h != x && i < 3 {
			h.MustDrop() // stages 0 and 1 feed no pyramid level
		}
		h = b
		if i >= 2 {
			feats = append(feats, h) // C3, C4, C5 stay alive for the pyramid
		}
	}
	// Top-down pathway: P5 = lat(C5); P4 = lat(C4) + up(P5); P3 = lat(C3) + up(P4).
	levels := len(feats)
	tops := make([]*ts.Tensor, levels)
	for l := levels - 1; l >= 0; l-- {
		lat := n.lateral[l].forward(feats[l], false)
		if l < levels-1 {
			size := tt.Must(lat.Size())
			up := tt.Must(tops[l+1].UpsampleNearest2d(size[2:], nil, nil, false))
			lat = tt.Must(lat.Add(up, true))
			up.MustDrop()
		}
		tops[l] = lat
	}
	for _, f := range feats {
		f.MustDrop()
	}
	var clsParts, boxParts []*ts.Tensor
	for l, top := range tops {
		p := n.smooth[l].forward(top, false)
		top.MustDrop()
		clsParts = append(clsParts, n.head(p, n.clsTower, n.clsOut, n.classes))
		boxParts = append(boxParts, n.head(p, n.boxTower, n.boxOut, 4))
		p.MustDrop()
	}
	cls = tt.Must(ts.Cat(clsParts, 1))
	box = tt.Must(ts.Cat(boxParts, 1))
	for _, t := range append(clsParts, boxParts...) {
		t.MustDrop()
	}
	return cls, box
}

// head runs a tower and its output conv on one level and returns [B, H·W·A, k].
func (n *net) head(p *ts.Tensor, tower []*conv, out *conv, k int64) *ts.Tensor {
	h := p
	for _, c := range tower {
		y := c.forward(h, true)
		if h != p {
			h.MustDrop()
		}
		h = y
	}
	o := out.forward(h, false)
	h.MustDrop()
	size := tt.Must(o.Size())
	perm := tt.Must(o.Permute([]int64{0, 2, 3, 1}, true)) // [B, H, W, A·k]
	r := tt.Must(perm.Reshape([]int64{size[0], size[2] * size[3] * n.anchors, k}, true))
	return r
}
