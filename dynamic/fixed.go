package dynamic

import (
	"fmt"

	"github.com/smoothl1/smoothl1/stats"
)

// Fixed is a constant β behind the Scheduler interface, so that a fixed-β
// baseline runs through the same code path, counters and checkpoints as the
// adaptive schedulers. β = 0 is allowed: the loss is then exact L1.
type Fixed struct {
	beta   float64
	d      int
	counts Counts
}

// NewFixed returns a Fixed scheduler of β for D = d columns. A negative or
// non-finite β is an error wrapping ErrBadBeta. It panics if d ≤ 0.
func NewFixed(beta float64, d int) (*Fixed, error) {
	checkDim(d)
	if !(beta >= 0 && stats.Finite(beta)) {
		return nil, fmt.Errorf("%w: Fixed beta = %v, want ≥ 0", ErrBadBeta, beta)
	}
	return &Fixed{beta: beta, d: d}, nil
}

// Name returns "fixed:beta=…".
func (s *Fixed) Name() string { return "fixed:beta=" + fmtFloat(s.beta) }

// Dim returns D.
func (s *Fixed) Dim() int { return s.d }

// Requirement returns the zero Requirement: Fixed reads only the counts.
func (s *Fixed) Requirement() Requirement { return Requirement{} }

// Counts returns the counters.
func (s *Fixed) Counts() Counts { return s.counts }

// Observe checks and counts the batch.
func (s *Fixed) Observe(sum *Summary) error {
	if err := checkSummary(sum, s.d, s.Requirement()); err != nil {
		return err
	}
	s.counts.add(sum, sum.Moments.Count == 0)
	return nil
}

// Beta writes β into every column of dst.
func (s *Fixed) Beta(dst []float64) []float64 { return fill(dst, s.d, s.beta) }

const kindFixed = "fixed"

type fixedConfigJSON struct {
	Beta float64 `json:"beta"`
}

type fixedStateJSON struct {
	Counts Counts `json:"counts"`
}

// State encodes β and the counters.
func (s *Fixed) State() ([]byte, error) {
	return encodeState(kindFixed, s.d, fixedConfigJSON{s.beta}, fixedStateJSON{s.counts})
}

// Restore replaces the counters by those in blob.
func (s *Fixed) Restore(blob []byte) error {
	var cfg fixedConfigJSON
	var st fixedStateJSON
	if _, err := decodeState(blob, kindFixed, s.d, &cfg, &st); err != nil {
		return err
	}
	if err := sameConfig(fixedConfigJSON{s.beta}, cfg); err != nil {
		return err
	}
	if !st.Counts.valid() {
		return fmt.Errorf("%w: counts %+v", ErrCorruptState, st.Counts)
	}
	s.counts = st.Counts
	return nil
}
