package dynamic

import (
	"fmt"
	"math"
	"strconv"

	"github.com/smoothl1/smoothl1/stats"
)

// Scheduler adapts β from one batch summary per step. Implementations are
// not safe for concurrent use.
type Scheduler interface {
	// Name returns a spec-like description of the scheduler and its resolved
	// configuration, e.g. "sasl:momentum=0.1,betamax=0.11,...".
	Name() string
	// Dim returns the number of columns D of the summaries it accepts.
	Dim() int
	// Requirement returns what Observe reads from a Summary.
	Requirement() Requirement
	// Observe absorbs one batch. A summary of another D, an inconsistent
	// summary or one without the values the scheduler needs is an error
	// and leaves the scheduler unchanged. A batch with too few finite rows
	// is not an error: it leaves the statistics unchanged and is counted.
	Observe(s *Summary) error
	// Beta writes β per column for the loss of the step just observed into
	// dst, grown to D if needed, and returns it.
	Beta(dst []float64) []float64
	// Counts returns the scheduler's counters.
	Counts() Counts
	// State encodes the full state (see the package documentation).
	State() ([]byte, error)
	// Restore replaces the state by one encoded by State of a scheduler of
	// the same kind, D and configuration. On error the scheduler is unchanged.
	Restore(blob []byte) error
}

// Counts are the counters every scheduler keeps and checkpoints.
type Counts struct {
	// Batches is the number of summaries observed.
	Batches int64 `json:"batches"`
	// Empty is the number of observed batches that left the statistics as
	// they were because they had too few finite rows (SelfAdjusting: fewer
	// than two; DynamicRCNN and Fixed: none).
	Empty int64 `json:"empty"`
	// SkippedRows is the number of rows excluded as non-finite, summed over
	// the observed batches.
	SkippedRows int64 `json:"skipped_rows"`
	// The counters saturate at math.MaxInt64 rather than wrap (a wrapped, negative count
	// would make the state unrestorable).
}

func (c *Counts) add(s *Summary, empty bool) {
	c.Batches = satAdd(c.Batches, 1)
	c.SkippedRows = satAdd(c.SkippedRows, s.Moments.Skipped)
	if empty {
		c.Empty = satAdd(c.Empty, 1)
	}
}

// satAdd returns a + b for non-negative a and b, or math.MaxInt64 when that overflows.
func satAdd(a, b int64) int64 {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

func (c Counts) valid() bool {
	return c.Batches >= 0 && c.Empty >= 0 && c.SkippedRows >= 0 && c.Empty <= c.Batches
}

// Step summarizes one batch (pred and target, [N, d] row-major), lets s
// observe it and returns β per column in dst (grown if needed). sum is the
// summary buffer to reuse; nil allocates one. With both buffers reused a
// step does not allocate.
//
// Its errors are those of Observe; it panics on the caller bugs Summarize
// panics on.
func Step[T stats.Float](s Scheduler, pred, target []T, d int, sum *Summary, dst []float64) ([]float64, error) {
	if sum == nil {
		sum = new(Summary)
	}
	Summarize(pred, target, d, s.Requirement(), sum)
	if err := s.Observe(sum); err != nil {
		return dst, err
	}
	return s.Beta(dst), nil
}

// checkSummary is the common part of Observe: the dimension and the
// consistency of the fields of s that a scheduler with requirement reads reads.
func checkSummary(s *Summary, d int, reads Requirement) error {
	if s.Dim() != d {
		return fmt.Errorf("%w: summary has D = %d, scheduler has D = %d", ErrDimMismatch, s.Dim(), d)
	}
	return s.validate(reads)
}

func fill(dst []float64, d int, v float64) []float64 {
	if cap(dst) < d {
		dst = make([]float64, d)
	}
	dst = dst[:d]
	for j := range dst {
		dst[j] = v
	}
	return dst
}

// fmtFloat formats v in the shortest form that parses back to v.
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func checkDim(d int) {
	if d <= 0 {
		panic(msgBadDim)
	}
}

var (
	_ Scheduler = (*SelfAdjusting)(nil)
	_ Scheduler = (*DynamicRCNN)(nil)
	_ Scheduler = (*Fixed)(nil)
)
