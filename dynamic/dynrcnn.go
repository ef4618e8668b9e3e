package dynamic

import (
	"fmt"

	"github.com/smoothl1/smoothl1/stats"
)

// Defaults of DynamicRCNNConfig, from Dynamic R-CNN's published configs.
const (
	DefaultK        = 10
	DefaultInterval = 100
	DefaultInitBeta = 1.0
)

// medianFloor: a window median at or below it keeps the old β. The median
// can be exactly 0 (many perfect regressions) and β = 0 would turn the loss
// into L1 by accident; mmdetection users hit `assert beta > 0` there.
const medianFloor = 1e-15

// DynamicRCNNConfig configures DynamicRCNN. The zero value is the published
// configuration: every zero field takes its default.
type DynamicRCNNConfig struct {
	// K ≥ 1: the statistic of a step is the k-th smallest e with
	// k = min(K·images, rows), as mmdetection's beta_topk × images; 0 means
	// 10. images is Summary.Images (1 when unknown: tensorloss.DynamicLoss
	// learns it from SetImages, which the detector calls).
	K int
	// Interval C ≥ 1: β is updated every C recorded steps; 0 means 100.
	Interval int
	// InitBeta β₀ > 0: the initial β and its upper bound; 0 means 1.0.
	InitBeta float64
	// Source of e: Target (the published statistic, the regression targets
	// of the positive samples; SourceDefault resolves to it) or Residual
	// (pred − target, what this project used before it said so).
	Source Source
}

func (c DynamicRCNNConfig) resolve() (DynamicRCNNConfig, error) {
	const name = "DynamicRCNNConfig"
	if c.K == 0 {
		c.K = DefaultK
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.InitBeta == 0 {
		c.InitBeta = DefaultInitBeta
	}
	if c.Source == SourceDefault {
		c.Source = Target
	}
	switch {
	case !c.Source.valid():
		return c, fmt.Errorf("%w: %s.Source = %v", ErrBadOption, name, c.Source)
	case c.K < 1:
		return c, fmt.Errorf("%w: %s.K = %d", ErrBadK, name, c.K)
	case c.Interval < 1:
		return c, fmt.Errorf("%w: %s.Interval = %d", ErrBadInterval, name, c.Interval)
	case !(c.InitBeta > 0 && stats.Finite(c.InitBeta)):
		return c, fmt.Errorf("%w: %s.InitBeta = %v, want > 0", ErrBadBeta, name, c.InitBeta)
	}
	return c, nil
}

// DynamicRCNN is Dynamic R-CNN's β rule (Zhang, Chang, Ma, Wang & Chen 2020,
// "Dynamic R-CNN: Towards High Quality Object Detection via Dynamic
// Training"). Each step with at least one finite row records
//
//	e_i = (|d_i0| + |d_i1|) / 2                       over the finite rows i
//	r   = k-th smallest e,  k = min(K·images, rows)   (by selection, never a sort)
//
// where d is the regression target of the row (Source Target, published:
// the encoded deltas of a positive sample to its ground truth) or the
// residual pred − target (Source Residual),
//
// into a window; after every C records
//
//	β ← min(β₀, median(window))   unless median ≤ 1e-15, which keeps β
//
// and the window clears. The new β applies from the step after the C-th
// record: Beta right after the C-th Observe still returns the old β, which
// is what that step's loss used in the published code. One β serves all
// columns; D must be at least 2. A step with no finite row records nothing.
//
// Unlike the published code the window and β checkpoint through State, and
// the k smallest values merge across workers through Summary.Merge, so the
// statistic is the one of the whole data-parallel batch.
type DynamicRCNN struct {
	cfg     DynamicRCNNConfig
	d       int
	beta    float64
	next    float64 // β from the last completed window, applied at the next Observe
	hasNext bool
	window  stats.MedianWindow
	counts  Counts
}

// NewDynamicRCNN returns a DynamicRCNN scheduler for D = d columns. An
// invalid configuration is an error naming the field (ErrBadK,
// ErrBadInterval, ErrBadBeta), as is d < 2 (ErrBadDim). It panics if d ≤ 0.
func NewDynamicRCNN(cfg DynamicRCNNConfig, d int) (*DynamicRCNN, error) {
	checkDim(d)
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if d < 2 {
		return nil, fmt.Errorf("%w: D = %d, DynamicRCNN needs columns 0 and 1", ErrBadDim, d)
	}
	s := &DynamicRCNN{cfg: cfg, d: d, beta: cfg.InitBeta}
	s.window = *stats.NewMedianWindow(cfg.Interval)
	return s, nil
}

// Config returns the resolved configuration (defaults applied).
func (s *DynamicRCNN) Config() DynamicRCNNConfig { return s.cfg }

// Name returns the loss spec of Smooth L1 with this scheduler, "dsl:" and the resolved
// configuration; package spec parses it back to the same configuration.
func (s *DynamicRCNN) Name() string {
	return fmt.Sprintf("dsl:k=%d,interval=%d,beta0=%s,source=%v", s.cfg.K, s.cfg.Interval, fmtFloat(s.cfg.InitBeta), s.cfg.Source)
}

// Dim returns D.
func (s *DynamicRCNN) Dim() int { return s.d }

// Requirement returns the K smallest values of e.
func (s *DynamicRCNN) Requirement() Requirement {
	return Requirement{K: s.cfg.K, Source: s.cfg.Source}
}

// Counts returns the counters.
func (s *DynamicRCNN) Counts() Counts { return s.counts }

// Records returns the number of values in the current window (< C).
func (s *DynamicRCNN) Records() int { return s.window.Len() }

// Observe records the batch's statistic. The summary must hold at least
// min(K, Count) smallest values (Requirement); a summary collected with a
// larger K is fine.
func (s *DynamicRCNN) Observe(sum *Summary) error {
	if err := checkSummary(sum, s.d, s.Requirement()); err != nil {
		return err
	}
	k := int(min(int64(s.cfg.K)*int64(max(1, sum.Images)), sum.Moments.Count))
	if len(sum.Smallest) < k {
		return fmt.Errorf("%w: summary holds %d smallest values (K = %d, %d images), DynamicRCNN needs %d", ErrBadSummary, len(sum.Smallest), sum.K, sum.Images, k)
	}
	if s.hasNext {
		s.beta, s.hasNext = s.next, false
	}
	if k == 0 {
		s.counts.add(sum, true)
		return nil
	}
	s.window.Add(sum.Smallest[k-1])
	if s.window.Len() >= s.cfg.Interval {
		if med := s.window.Median(); med > medianFloor {
			s.next, s.hasNext = min(s.cfg.InitBeta, med), true
		}
		s.window.Reset()
	}
	s.counts.add(sum, false)
	return nil
}

// Beta writes the current β into every column of dst.
func (s *DynamicRCNN) Beta(dst []float64) []float64 { return fill(dst, s.d, s.beta) }

const kindDynamicRCNN = "dynrcnn"

type dynamicRCNNConfigJSON struct {
	K        int     `json:"k"`
	Interval int     `json:"interval"`
	InitBeta float64 `json:"init_beta"`
	// Source: "residual" or "target". Version 1 states have none: their
	// runs took e of the residual.
	Source string `json:"source"`
}

type dynamicRCNNStateJSON struct {
	Beta    float64   `json:"beta"`
	Next    float64   `json:"next"`
	HasNext bool      `json:"has_next"`
	Window  []float64 `json:"window"`
	Counts  Counts    `json:"counts"`
}

func (s *DynamicRCNN) configJSON() dynamicRCNNConfigJSON {
	return dynamicRCNNConfigJSON{s.cfg.K, s.cfg.Interval, s.cfg.InitBeta, s.cfg.Source.String()}
}

// State encodes the configuration, β, the pending β, the window and the
// counters.
func (s *DynamicRCNN) State() ([]byte, error) {
	w := s.window.Values()
	if w == nil {
		w = []float64{}
	}
	return encodeState(kindDynamicRCNN, s.d, s.configJSON(),
		dynamicRCNNStateJSON{Beta: s.beta, Next: s.next, HasNext: s.hasNext, Window: w, Counts: s.counts})
}

// Restore replaces β, the pending β, the window and the counters by those
// in blob.
func (s *DynamicRCNN) Restore(blob []byte) error {
	var cfg dynamicRCNNConfigJSON
	var st dynamicRCNNStateJSON
	version, err := decodeState(blob, kindDynamicRCNN, s.d, &cfg, &st)
	if err != nil {
		return err
	}
	if version == 1 && cfg.Source == "" {
		cfg.Source = Residual.String()
	}
	if err := sameConfig(s.configJSON(), cfg); err != nil {
		return err
	}
	inRange := func(b float64) bool { return b > 0 && b <= s.cfg.InitBeta }
	switch {
	case !inRange(st.Beta):
		return fmt.Errorf("%w: beta = %v, want in (0, %v]", ErrCorruptState, st.Beta, s.cfg.InitBeta)
	case st.HasNext && !inRange(st.Next):
		return fmt.Errorf("%w: next = %v, want in (0, %v]", ErrCorruptState, st.Next, s.cfg.InitBeta)
	case len(st.Window) >= s.cfg.Interval:
		return fmt.Errorf("%w: %d values in the window, want < %d", ErrCorruptState, len(st.Window), s.cfg.Interval)
	case !st.Counts.valid():
		return fmt.Errorf("%w: counts %+v", ErrCorruptState, st.Counts)
	}
	for i, v := range st.Window {
		if !(v >= 0 && stats.Finite(v)) {
			return fmt.Errorf("%w: window[%d] = %v", ErrCorruptState, i, v)
		}
	}
	s.beta, s.next, s.hasNext = st.Beta, st.Next, st.HasNext
	s.window.Reset()
	for _, v := range st.Window {
		s.window.Add(v)
	}
	s.counts = st.Counts
	return nil
}
