package dynamic

import (
	"fmt"
	"math"

	"github.com/smoothl1/smoothl1/stats"
)

// Spread selects the spread term subtracted from the running mean in
// SelfAdjusting's β.
type Spread int

const (
	// SpreadVar: β = μ − σ², the published rule (it mixes units; kept as
	// the default for fidelity).
	SpreadVar Spread = iota
	// SpreadStd: β = μ − σ, in the units of |d|.
	SpreadStd
)

// String returns "var" or "std".
func (s Spread) String() string {
	switch s {
	case SpreadVar:
		return "var"
	case SpreadStd:
		return "std"
	}
	return fmt.Sprintf("Spread(%d)", int(s))
}

// Defaults of SelfAdjustingConfig, from RetinaMask's published configs.
const (
	DefaultMomentum = 0.1
	DefaultBetaMax  = 0.11
	DefaultBetaMin  = 1e-3
)

// SelfAdjustingConfig configures SelfAdjusting. The zero value is the
// published configuration: every zero field takes its default.
type SelfAdjustingConfig struct {
	// Momentum m ∈ (0, 1] of the running statistics; 0 means 0.1 (the
	// paper's "momentum 0.9" in the other convention).
	Momentum float64
	// BetaMax β̂ > 0, the upper clip and the default initial mean; 0 means
	// 0.11.
	BetaMax float64
	// BetaMin β_min ∈ [0, β̂], the lower clip; 0 means 1e-3 (a literal zero
	// lower clip is not expressible; use a tiny positive value).
	BetaMin float64
	// InitMean μ₀, the initial running mean of every column; 0 means β̂, as
	// published.
	InitMean float64
	// InitVar σ²₀ ≥ 0, the initial running variance; the default is 0.
	InitVar float64
	// Shared: one β for all columns from the pooled statistics of all
	// columns, instead of one β per column.
	Shared bool
	// Spread: σ² (default, published) or σ subtracted from μ.
	Spread Spread
}

// resolve applies the defaults and validates.
func (c SelfAdjustingConfig) resolve() (SelfAdjustingConfig, error) {
	const name = "SelfAdjustingConfig"
	if c.Momentum == 0 {
		c.Momentum = DefaultMomentum
	}
	if c.BetaMax == 0 {
		c.BetaMax = DefaultBetaMax
	}
	if c.BetaMin == 0 {
		c.BetaMin = DefaultBetaMin
	}
	if c.InitMean == 0 {
		c.InitMean = c.BetaMax
	}
	switch {
	case !(c.Momentum > 0 && c.Momentum <= 1):
		return c, fmt.Errorf("%w: %s.Momentum = %v", ErrBadMomentum, name, c.Momentum)
	case !(c.BetaMax > 0 && stats.Finite(c.BetaMax)):
		return c, fmt.Errorf("%w: %s.BetaMax = %v, want > 0", ErrBadBeta, name, c.BetaMax)
	case !(c.BetaMin >= 0 && stats.Finite(c.BetaMin)):
		return c, fmt.Errorf("%w: %s.BetaMin = %v, want ≥ 0", ErrBadBeta, name, c.BetaMin)
	case c.BetaMin > c.BetaMax:
		return c, fmt.Errorf("%w: %s.BetaMin = %v > BetaMax = %v", ErrBadBeta, name, c.BetaMin, c.BetaMax)
	case !stats.Finite(c.InitMean):
		return c, fmt.Errorf("%w: %s.InitMean = %v", ErrBadInit, name, c.InitMean)
	case !(c.InitVar >= 0 && stats.Finite(c.InitVar)):
		return c, fmt.Errorf("%w: %s.InitVar = %v, want ≥ 0", ErrBadInit, name, c.InitVar)
	case c.Spread != SpreadVar && c.Spread != SpreadStd:
		return c, fmt.Errorf("%w: %s.Spread = %v", ErrBadOption, name, c.Spread)
	}
	return c, nil
}

// SelfAdjusting is RetinaMask's self-adjusting Smooth L1 β (Fu, Shvets &
// Berg 2019, "RetinaMask: Learning to predict masks improves state-of-the-art
// single-shot detection for free"). Per column j, each batch with at least
// two finite rows updates
//
//	μ_j  ← (1 − m)·μ_j  + m·mean(|d_j|)
//	σ²_j ← (1 − m)·σ²_j + m·var(|d_j|)      (unbiased, over the batch's finite rows)
//
// and the step's loss uses
//
//	β_j = clip(μ_j − σ²_j, β_min, β̂)        (μ_j − σ_j with SpreadStd)
//
// The batch is absorbed before β is read, as in the published code. With
// Shared, μ and σ² are single values updated from the pooled statistics of
// all columns and every column gets the same β.
//
// Unlike the published code, a batch with one finite row is counted and
// skipped instead of producing a NaN variance, non-finite rows are excluded
// instead of poisoning the statistics, the statistics merge across workers
// through Summary.Merge, and the state checkpoints through State.
type SelfAdjusting struct {
	cfg    SelfAdjustingConfig
	d      int
	run    *stats.Running
	counts Counts
}

// NewSelfAdjusting returns a SelfAdjusting scheduler for D = d columns. An
// invalid configuration is an error naming the field (ErrBadMomentum,
// ErrBadBeta, ErrBadInit, ErrBadOption). It panics if d ≤ 0.
func NewSelfAdjusting(cfg SelfAdjustingConfig, d int) (*SelfAdjusting, error) {
	checkDim(d)
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	sd := d
	if cfg.Shared {
		sd = 1
	}
	run, err := stats.NewRunning(sd, cfg.Momentum, cfg.InitMean, cfg.InitVar)
	if err != nil { // unreachable after resolve
		return nil, err
	}
	return &SelfAdjusting{cfg: cfg, d: d, run: run}, nil
}

// Config returns the resolved configuration (defaults applied).
func (s *SelfAdjusting) Config() SelfAdjustingConfig { return s.cfg }

// Name returns the loss spec of Smooth L1 with this scheduler, "sasl:" and the resolved
// configuration (flags std and shared when set); package spec parses it back to the same
// configuration.
func (s *SelfAdjusting) Name() string {
	c := s.cfg
	name := fmt.Sprintf("sasl:betamax=%s,momentum=%s,betamin=%s,mean0=%s,var0=%s",
		fmtFloat(c.BetaMax), fmtFloat(c.Momentum), fmtFloat(c.BetaMin), fmtFloat(c.InitMean), fmtFloat(c.InitVar))
	if c.Spread == SpreadStd {
		name += ",std"
	}
	if c.Shared {
		name += ",shared"
	}
	return name
}

// Dim returns D.
func (s *SelfAdjusting) Dim() int { return s.d }

// Requirement returns the moments, no smallest values.
func (s *SelfAdjusting) Requirement() Requirement { return Requirement{Moments: true} }

// Counts returns the counters.
func (s *SelfAdjusting) Counts() Counts { return s.counts }

// Observe absorbs the batch summarized by sum. A batch with fewer than two
// finite rows leaves μ and σ² as they were and is counted in Counts.Empty.
// It does not allocate unless it returns an error.
func (s *SelfAdjusting) Observe(sum *Summary) error {
	if err := checkSummary(sum, s.d, s.Requirement()); err != nil {
		return err
	}
	if sum.Moments.Count < 2 {
		s.counts.add(sum, true)
		return nil
	}
	var err error
	if s.cfg.Shared {
		err = s.run.UpdatePooled(&sum.Moments)
	} else {
		err = s.run.Update(&sum.Moments)
	}
	if err != nil { // a variance overflowing float64; the state is unchanged
		return fmt.Errorf("%w: %w", ErrBadSummary, err)
	}
	s.counts.add(sum, false)
	return nil
}

// Beta writes β_j = clip(μ_j − σ²_j, β_min, β̂) (or μ_j − σ_j) into dst.
func (s *SelfAdjusting) Beta(dst []float64) []float64 {
	if cap(dst) < s.d {
		dst = make([]float64, s.d)
	}
	dst = dst[:s.d]
	if s.cfg.Shared {
		return fill(dst, s.d, s.beta(0))
	}
	for j := range dst {
		dst[j] = s.beta(j)
	}
	return dst
}

func (s *SelfAdjusting) beta(j int) float64 {
	spread := s.run.Var[j]
	if s.cfg.Spread == SpreadStd {
		spread = math.Sqrt(spread)
	}
	return min(max(s.run.Mean[j]-spread, s.cfg.BetaMin), s.cfg.BetaMax)
}

// RunningMean returns the running means μ (one per column, or one when
// Shared). The slice belongs to s.
func (s *SelfAdjusting) RunningMean() []float64 { return s.run.Mean }

// RunningVar returns the running variances σ². The slice belongs to s.
func (s *SelfAdjusting) RunningVar() []float64 { return s.run.Var }

const kindSelfAdjusting = "sasl"

type selfAdjustingConfigJSON struct {
	Momentum float64 `json:"momentum"`
	BetaMax  float64 `json:"beta_max"`
	BetaMin  float64 `json:"beta_min"`
	InitMean float64 `json:"init_mean"`
	InitVar  float64 `json:"init_var"`
	Shared   bool    `json:"shared"`
	Spread   string  `json:"spread"`
}

type selfAdjustingStateJSON struct {
	Mean   []float64 `json:"mean"`
	Var    []float64 `json:"var"`
	Counts Counts    `json:"counts"`
}

func (s *SelfAdjusting) configJSON() selfAdjustingConfigJSON {
	c := s.cfg
	return selfAdjustingConfigJSON{c.Momentum, c.BetaMax, c.BetaMin, c.InitMean, c.InitVar, c.Shared, c.Spread.String()}
}

// State encodes the configuration, μ, σ² and the counters.
func (s *SelfAdjusting) State() ([]byte, error) {
	return encodeState(kindSelfAdjusting, s.d, s.configJSON(),
		selfAdjustingStateJSON{Mean: s.run.Mean, Var: s.run.Var, Counts: s.counts})
}

// Restore replaces μ, σ² and the counters by those in blob.
func (s *SelfAdjusting) Restore(blob []byte) error {
	var cfg selfAdjustingConfigJSON
	var st selfAdjustingStateJSON
	if _, err := decodeState(blob, kindSelfAdjusting, s.d, &cfg, &st); err != nil {
		return err
	}
	if err := sameConfig(s.configJSON(), cfg); err != nil {
		return err
	}
	n := s.run.Dim()
	if len(st.Mean) != n || len(st.Var) != n {
		return fmt.Errorf("%w: %d means and %d variances, want %d", ErrCorruptState, len(st.Mean), len(st.Var), n)
	}
	for j := range n {
		if !stats.Finite(st.Mean[j]) || !(st.Var[j] >= 0 && stats.Finite(st.Var[j])) {
			return fmt.Errorf("%w: mean[%d] = %v, var[%d] = %v", ErrCorruptState, j, st.Mean[j], j, st.Var[j])
		}
	}
	if !st.Counts.valid() {
		return fmt.Errorf("%w: counts %+v", ErrCorruptState, st.Counts)
	}
	copy(s.run.Mean, st.Mean)
	copy(s.run.Var, st.Var)
	s.counts = st.Counts
	return nil
}
