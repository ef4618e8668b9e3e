package dynamic

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/smoothl1/smoothl1/stats"
)

// Requirement says what a scheduler reads from a Summary, so that a trainer
// computing summaries on a device computes only that.
type Requirement struct {
	// Moments: the per-column moments of |d| (SelfAdjusting).
	Moments bool
	// K: the number of smallest e = (|d0| + |d1|)/2 values needed
	// (DynamicRCNN); 0 when none. It counts per image: a caller that
	// knows the batch holds n images collects K·n (see Summary.Images).
	K int
	// Source: what d is, the residual pred − target (the zero value reads
	// as Residual) or the target alone (Target: DynamicRCNN's published
	// statistic). Summarize and the tensor summaries honour it.
	Source Source
}

// Union returns a requirement that satisfies both r and o, for several
// schedulers fed from one summary.
// Both must have the same Source (one summary is of one source); Union
// panics otherwise.
func (r Requirement) Union(o Requirement) Requirement {
	if r.source() != o.source() {
		panic(msgSourceMismatch)
	}
	return Requirement{Moments: r.Moments || o.Moments, K: max(r.K, o.K), Source: r.source()}
}

// source is r.Source with the zero value read as Residual.
func (r Requirement) source() Source {
	if r.Source == Target {
		return Target
	}
	return Residual
}

// Summary is what one batch contributes to a scheduler: D-sized numbers that
// merge exactly across workers. It is a plain struct so that a trainer can
// fill it from statistics computed on a device (moments from sums, see
// stats.Moments.SetFromSums; the smallest values from a top-k).
//
//	Moments   per-column moments of |d| over the finite rows; Moments.Count is
//	          the number of finite rows, Moments.Skipped the rows excluded
//	          because they held NaN, ±Inf or a magnitude above stats.MaxAbs
//	K         bound on Smallest; 0 when the smallest values were not collected
//	Smallest  the min(K, Moments.Count) smallest values of
//	          e = (|d0| + |d1|)/2 over the finite rows, ascending
//	Images    the number of images the rows come from, when the caller
//	          knows it (0: unknown, read as 1); DynamicRCNN's k counts per
//	          image. Summarize leaves it as it is; Merge adds.
//
// Copying a Summary shares its slices.
type Summary struct {
	Moments  stats.Moments
	K        int
	Smallest []float64
	Images   int
}

// Dim returns D (0 for the zero value).
func (s *Summary) Dim() int { return s.Moments.Dim() }

// Summarize fills dst with the summary of d = pred − target, both [N, D]
// row-major (d = target when req.Source is Target): the counts of finite and skipped rows always, the moments of |d|
// when req.Moments (Mean and M2 are zero otherwise), and the req.K smallest
// values of e when req.K > 0. It reuses dst's storage; once dst has grown to
// the batch's needs it does not allocate. The moments pass is one pass over
// the data; the smallest values take a second pass with O(1) amortised work
// per row (selection, never a sort of the batch). Without moments one pass
// does both, and skips, a block of rows at a time, the rows whose e cannot be
// among the K smallest.
//
// It panics if len(pred) ≠ len(target), d ≤ 0, the length is not a multiple
// of d, or req.K > 0 with d < 2 or req.K < 0.
func Summarize[T stats.Float](pred, target []T, d int, req Requirement, dst *Summary) {
	if len(pred) != len(target) {
		panic(msgLengthMismatch)
	}
	if req.source() == Target {
		summarize(target, nil, d, req, dst)
		return
	}
	summarize(pred, target, d, req, dst)
}

// SummarizeResiduals is Summarize for residuals d already formed, [N, dim]
// (or targets, for a Target requirement: d is then the targets).
func SummarizeResiduals[T stats.Float](d []T, dim int, req Requirement, dst *Summary) {
	summarize(d, nil, dim, req, dst)
}

func summarize[T stats.Float](x, target []T, d int, req Requirement, dst *Summary) {
	if d <= 0 {
		panic(msgBadDim)
	}
	if len(x)%d != 0 {
		panic(msgNotMultiple)
	}
	if req.K < 0 || (req.K > 0 && d < 2) {
		panic(msgBadRequirement)
	}
	if !req.Moments && target != nil {
		countAndCollect(x, target, d, req, dst)
		return
	}
	dst.Moments.Reset(d)
	if target == nil {
		stats.AddAbs(&dst.Moments, x, d)
	} else {
		stats.AddAbsDiff(&dst.Moments, x, target, d)
	}
	if !req.Moments {
		clear(dst.Moments.Mean)
		clear(dst.Moments.M2)
	}
	dst.K = req.K
	dst.Smallest = dst.Smallest[:0]
	if req.K == 0 {
		return
	}
	var c stats.KSmallest
	c.Reset(req.K, dst.Smallest)
	if target == nil {
		collectE(&c, x, d)
	} else {
		collectEDiff(&c, x, target, d)
	}
	dst.Smallest = c.Sorted()
}

// countAndCollect is Summarize without moments: one pass counts the finite
// rows and collects e as collectEDiff does (the residual formed in T, widened,
// a row finite when every column is).
func countAndCollect[T stats.Float](p, y []T, d int, req Requirement, dst *Summary) {
	dst.Moments.Reset(d)
	dst.K = req.K
	var c *stats.KSmallest
	if req.K > 0 {
		c = &stats.KSmallest{}
		c.Reset(req.K, dst.Smallest)
	}
	y = y[:len(p)]
	var skipped int64
	// Blocks of rows are checked at once (scanBlock): only a block holding a bad row or a
	// candidate for the smallest values is walked row by row.
	//
	// Rows whose e cannot be among the K smallest are skipped before e is formed: once K
	// values are in, the K-th smallest so far (refreshed every few blocks) bounds the result,
	// and e = (|d0| + |d1|)/2 ≥ max(|d0|, |d1|)/2 also in floating point, so a row with
	// |d0| or |d1| above twice that bound cannot enter. The K smallest are exactly those
	// collectEDiff finds.
	scale := usableScale[T]()
	const block, refresh = 64, 4
	skip := math.Inf(1)
	rows := len(p) / d
	for r0 := 0; r0 < rows; r0 += block {
		if c != nil && (r0/block)%refresh == 0 && c.Seen() >= int64(req.K) {
			s := c.Sorted()
			skip = 2 * s[len(s)-1]
		}
		r1 := min(r0+block, rows)
		pb, yb := p[r0*d:r1*d], y[r0*d:r1*d]
		if finite, candidates := scanBlock(pb, yb, d, skip, c != nil); finite && !candidates {
			continue
		}
		for i := 0; i < len(pb); i += d {
			var fin T // 0 when every |v| ≤ stats.MaxAbs (stats.Usable), NaN otherwise
			for k := i; k < i+d; k++ {
				v := (pb[k] - yb[k]) * scale
				fin += v - v
			}
			if fin != 0 {
				skipped++
				continue
			}
			if c != nil {
				a0, a1 := math.Abs(float64(pb[i]-yb[i])), math.Abs(float64(pb[i+1]-yb[i+1]))
				if a0 > skip || a1 > skip {
					continue
				}
				c.Add((a0 + a1) / 2)
			}
		}
	}
	dst.Moments.Count, dst.Moments.Skipped = int64(rows)-skipped, skipped
	dst.Smallest = dst.Smallest[:0]
	if c != nil {
		dst.Smallest = c.Sorted()
	}
}

// usableScale is the factor k that makes v·k − v·k = 0 exactly when |v| ≤ stats.MaxAbs
// (stats.Usable), in T's own arithmetic: 2⁵⁷⁶ for float64; 1 for float32, whose finite
// values are all below stats.MaxAbs, so that float32 data keep their one-subtraction test.
func usableScale[T stats.Float]() T {
	if unsafe.Sizeof(T(0)) == 4 {
		return 1
	}
	k := 0x1p576 // a variable: the constant does not convert to float32
	return T(k)
}

// scanBlock reports whether every residual of the block pb − yb is finite (the sum of v − v
// is 0; four accumulators keep the adds independent) and, when smallest is set, whether some
// row has |d0| and |d1| both within skip (a candidate for the smallest e). For D ≠ 4 every
// row of a block is a candidate.
func scanBlock[T stats.Float](pb, yb []T, d int, skip float64, smallest bool) (finite, candidates bool) {
	scale := usableScale[T]()
	var f0, f1, f2, f3 T
	if d == 4 && smallest {
		for i := 0; i+4 <= len(pb); i += 4 {
			q, r := pb[i:i+4:i+4], yb[i:i+4:i+4]
			v0, v1, v2, v3 := q[0]-r[0], q[1]-r[1], q[2]-r[2], q[3]-r[3]
			w0, w1, w2, w3 := v0*scale, v1*scale, v2*scale, v3*scale
			f0 += w0 - w0
			f1 += w1 - w1
			f2 += w2 - w2
			f3 += w3 - w3
			if math.Abs(float64(v0)) <= skip && math.Abs(float64(v1)) <= skip {
				candidates = true
			}
		}
		return f0+f1+f2+f3 == 0, candidates
	}
	i := 0
	for ; i+4 <= len(pb); i += 4 {
		v0, v1, v2, v3 := (pb[i]-yb[i])*scale, (pb[i+1]-yb[i+1])*scale, (pb[i+2]-yb[i+2])*scale, (pb[i+3]-yb[i+3])*scale
		f0 += v0 - v0
		f1 += v1 - v1
		f2 += v2 - v2
		f3 += v3 - v3
	}
	for ; i < len(pb); i++ {
		v := (pb[i] - yb[i]) * scale
		f0 += v - v
	}
	return f0+f1+f2+f3 == 0, smallest
}

// collectEDiff offers e = (|d0| + |d1|)/2 of every finite row of
// d = pred − target to c.
func collectEDiff[T stats.Float](c *stats.KSmallest, pred, target []T, d int) {
	target = target[:len(pred)]
	if d == 4 {
		for i := 0; i+4 <= len(pred); i += 4 {
			p, t := pred[i:i+4:i+4], target[i:i+4:i+4]
			y0, y1 := math.Abs(float64(p[0]-t[0])), math.Abs(float64(p[1]-t[1]))
			y2, y3 := float64(p[2]-t[2]), float64(p[3]-t[3])
			if stats.Usable(y0) && stats.Usable(y1) && stats.Usable(y2) && stats.Usable(y3) {
				c.Add((y0 + y1) / 2)
			}
		}
		return
	}
	for i := 0; i+d <= len(pred); i += d {
		p, t := pred[i:i+d:i+d], target[i:i+d:i+d]
		y0, y1 := math.Abs(float64(p[0]-t[0])), math.Abs(float64(p[1]-t[1]))
		s0, s1 := y0*0x1p576, y1*0x1p576 // as stats.Usable
		fin := (s0 - s0) + (s1 - s1)     // 0 when |y| ≤ stats.MaxAbs, NaN otherwise
		for k := 2; k < d; k++ {
			v := float64(p[k]-t[k]) * 0x1p576
			fin += v - v
		}
		if fin == 0 {
			c.Add((y0 + y1) / 2)
		}
	}
}

// collectE is collectEDiff for residuals.
func collectE[T stats.Float](c *stats.KSmallest, x []T, d int) {
	for i := 0; i+d <= len(x); i += d {
		r := x[i : i+d : i+d]
		y0, y1 := math.Abs(float64(r[0])), math.Abs(float64(r[1]))
		s0, s1 := y0*0x1p576, y1*0x1p576 // as stats.Usable
		fin := (s0 - s0) + (s1 - s1)
		for k := 2; k < d; k++ {
			v := float64(r[k]) * 0x1p576
			fin += v - v
		}
		if fin == 0 {
			c.Add((y0 + y1) / 2)
		}
	}
}

// Validate reports whether s is a consistent summary: equal-length moment
// slices, non-negative counts, finite non-negative means and M2 (they are of
// |d|), and when K > 0 exactly min(K, Count) smallest values, ascending,
// finite and non-negative. The error wraps ErrBadSummary.
func (s *Summary) Validate() error { return s.validate(Requirement{Moments: true, K: 1}) }

// validate is Validate restricted to what a scheduler with requirement reads: the
// structure and counts always, Mean and M2 when reads.Moments, K and Smallest when
// reads.K > 0. A scheduler that reads neither (Fixed, or DynamicRCNN for the moments)
// is not stopped by a field it ignores.
func (s *Summary) validate(reads Requirement) error {
	m := &s.Moments
	switch {
	case m.Dim() == 0:
		return fmt.Errorf("%w: Moments has dimension 0", ErrBadSummary)
	case len(m.M2) != m.Dim():
		return fmt.Errorf("%w: len(Moments.M2) = %d, len(Moments.Mean) = %d", ErrBadSummary, len(m.M2), m.Dim())
	case m.Count < 0 || m.Skipped < 0:
		return fmt.Errorf("%w: Moments.Count = %d, Moments.Skipped = %d", ErrBadSummary, m.Count, m.Skipped)
	case s.Images < 0:
		return fmt.Errorf("%w: Images = %d", ErrBadSummary, s.Images)
	case s.K < 0:
		return fmt.Errorf("%w: K = %d", ErrBadSummary, s.K)
	}
	if m.Count > 0 && reads.Moments {
		for j, v := range m.Mean {
			if !(v >= 0 && v <= math.MaxFloat64) {
				return fmt.Errorf("%w: Moments.Mean[%d] = %v", ErrBadSummary, j, v)
			}
			if w := m.M2[j]; !(w >= 0 && w <= math.MaxFloat64) {
				return fmt.Errorf("%w: Moments.M2[%d] = %v", ErrBadSummary, j, w)
			}
		}
	}
	if reads.K == 0 {
		return nil
	}
	if want := int(min(int64(s.K), m.Count)); len(s.Smallest) != want {
		return fmt.Errorf("%w: len(Smallest) = %d, want min(K = %d, Moments.Count = %d)", ErrBadSummary, len(s.Smallest), s.K, m.Count)
	}
	prev := 0.0
	for i, v := range s.Smallest {
		if !(v >= prev && v <= math.MaxFloat64) {
			return fmt.Errorf("%w: Smallest[%d] = %v: want finite, non-negative, ascending", ErrBadSummary, i, v)
		}
		prev = v
	}
	return nil
}

// Merge combines o into s as if one worker had summarized both batches: the
// moments merge exactly (stats.Moments.Merge), and Smallest keeps the
// min(K, Count) smallest of both with K = min(s.K, o.K), and Images add. (For
// DynamicRCNN's per-image k over the merged batch, each part must collect
// K·images of the whole batch.) A zero-value s becomes a copy of o. It returns an error wrapping ErrDimMismatch when the
// dimensions differ and ErrBadSummary when either summary is inconsistent;
// s is then unchanged.
func (s *Summary) Merge(o *Summary) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if s.Dim() == 0 {
		s.Moments.Reset(o.Dim())
		s.Moments.Merge(&o.Moments)
		s.K = o.K
		s.Smallest = append(s.Smallest[:0], o.Smallest...)
		s.Images = o.Images
		return nil
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if s.Dim() != o.Dim() {
		return fmt.Errorf("%w: merging a summary of D = %d into one of D = %d", ErrDimMismatch, o.Dim(), s.Dim())
	}
	k := min(s.K, o.K)
	s.Moments.Merge(&o.Moments)
	s.K = k
	s.Images += o.Images
	s.Smallest = mergeSorted(s.Smallest, o.Smallest, int(min(int64(k), s.Moments.Count)))
	return nil
}

// mergeSorted returns the n smallest of the ascending a and b, in a's
// storage, merging from the back so no scratch is needed.
func mergeSorted(a, b []float64, n int) []float64 {
	la, lb := len(a), len(b)
	a = append(a, b...) // room for la + lb
	i, j := la-1, lb-1
	for w := la + lb - 1; j >= 0; w-- {
		if i >= 0 && a[i] > b[j] {
			a[w] = a[i]
			i--
		} else {
			a[w] = b[j]
			j--
		}
	}
	return a[:min(n, la+lb)]
}
