package stats

import "math"

// Float is the element type of the data slices: float32, float64 or a type
// defined on them. Statistics are always accumulated in float64.
type Float interface{ ~float32 | ~float64 }

// Moments holds exact streaming per-column moments of |d| over the finite
// rows (|d| ≤ MaxAbs) of an [N, D] stream: the row count, the column means and the column
// sums of squared deviations
//
//	Count   = n (finite rows absorbed; rows are excluded whole, so this is
//	          also the count of every column)
//	Mean[j] = (1/n)·Σ_i |d_ij|
//	M2[j]   = Σ_i (|d_ij| − Mean[j])²
//
// Skipped counts the rows excluded because a column held NaN, ±Inf or a
// magnitude above MaxAbs.
//
// The fields are exported so that moments computed elsewhere (on a GPU, by
// another worker) can be filled in; see also SetFromSums. The zero value is
// an empty Moments of dimension 0 that takes its dimension from the first
// batch added or merged into it. Copying a Moments shares its slices.
type Moments struct {
	Count   int64
	Skipped int64
	Mean    []float64
	M2      []float64
}

// NewMoments returns empty moments of dimension d. It panics if d ≤ 0.
func NewMoments(d int) *Moments {
	var m Moments
	m.Reset(d)
	return &m
}

// Reset empties m and sets its dimension to d, reusing its storage.
// It panics if d ≤ 0.
func (m *Moments) Reset(d int) {
	if d <= 0 {
		panic(msgBadDim)
	}
	m.Count, m.Skipped = 0, 0
	m.Mean = zeroed(m.Mean, d)
	m.M2 = zeroed(m.M2, d)
}

func zeroed(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// Dim returns the number of columns D (0 for the zero value).
func (m *Moments) Dim() int { return len(m.Mean) }

// Var returns the unbiased variance of column j,
//
//	Var(j) = M2[j] / (Count − 1),
//
// or NaN when Count < 2, where it is undefined.
func (m *Moments) Var(j int) float64 {
	if m.Count < 2 {
		return math.NaN()
	}
	return m.M2[j] / float64(m.Count-1)
}

// Std returns √Var(j): NaN when Count < 2.
func (m *Moments) Std(j int) float64 { return math.Sqrt(m.Var(j)) }

// PooledCount returns the number of values in the pooled view, Count·D.
func (m *Moments) PooledCount() int64 { return m.Count * int64(m.Dim()) }

// PooledMean returns the mean of all Count·D values taken as one sample (the
// statistic behind a single β shared by all columns):
//
//	PooledMean = (1/D)·Σ_j Mean[j]
//
// It returns NaN when Count = 0 or D = 0.
func (m *Moments) PooledMean() float64 {
	if m.Count == 0 || m.Dim() == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range m.Mean {
		s += v
	}
	return s / float64(m.Dim())
}

// PooledVar returns the unbiased variance of all Count·D values taken as one
// sample, exactly from the column moments (Chan et al. with equal counts):
//
//	M2_pooled  = Σ_j M2[j] + Count·Σ_j (Mean[j] − PooledMean)²
//	PooledVar  = M2_pooled / (Count·D − 1)
//
// It returns NaN when Count·D < 2.
func (m *Moments) PooledVar() float64 {
	nd := m.PooledCount()
	if nd < 2 {
		return math.NaN()
	}
	mu := m.PooledMean()
	var s2, dev float64
	for j, v := range m.Mean {
		s2 += m.M2[j]
		dev += (v - mu) * (v - mu)
	}
	return (s2 + float64(m.Count)*dev) / float64(nd-1)
}

// PooledStd returns √PooledVar.
func (m *Moments) PooledStd() float64 { return math.Sqrt(m.PooledVar()) }

// SetFromSums fills m from per-column sums over count finite rows, the form a
// device computes cheaply:
//
//	Mean[j] = sum[j] / count
//	M2[j]   = max(0, sumSq[j] − sum[j]²/count)
//
// The clamp absorbs rounding; sums of raw squares lose precision when the
// mean is large against the spread, so prefer sums shifted by a provisional
// mean when exactness matters. The dimension becomes len(sum). It panics if
// len(sum) ≠ len(sumSq), if len(sum) = 0 or if count < 0.
func (m *Moments) SetFromSums(count, skipped int64, sum, sumSq []float64) {
	if len(sum) != len(sumSq) {
		panic(msgLengthMismatch)
	}
	if count < 0 || skipped < 0 {
		panic(msgNegativeCount)
	}
	m.Reset(len(sum))
	m.Count, m.Skipped = count, skipped
	if count == 0 {
		return
	}
	n := float64(count)
	for j, s := range sum {
		m.Mean[j] = s / n
		m.M2[j] = max(0, sumSq[j]-s*s/n)
	}
}

// Merge absorbs o into m exactly (Chan, Golub & LeVeque's parallel formula):
//
//	n  = n_a + n_b,  δ = Mean_b − Mean_a
//	Mean = Mean_a + δ·n_b/n
//	M2   = M2_a + M2_b + δ²·n_a·n_b/n
//
// A stream split into shards whose Moments are merged gives the moments of
// the whole stream up to rounding. Skipped counts add. An m of dimension 0
// takes o's dimension; otherwise Merge panics if the dimensions differ.
func (m *Moments) Merge(o *Moments) {
	if o.Dim() == 0 {
		m.Skipped += o.Skipped
		return
	}
	if m.Dim() == 0 {
		m.Reset(o.Dim())
	}
	if m.Dim() != o.Dim() || len(m.M2) != len(o.M2) {
		panic(msgDimMismatch)
	}
	m.Skipped += o.Skipped
	switch {
	case o.Count == 0:
		return
	case m.Count == 0:
		copy(m.Mean, o.Mean)
		copy(m.M2, o.M2)
		m.Count = o.Count
		return
	}
	na, nb := float64(m.Count), float64(o.Count)
	n := na + nb
	for j := range m.Mean {
		delta := o.Mean[j] - m.Mean[j]
		m.Mean[j] += delta * (nb / n)
		m.M2[j] += o.M2[j] + delta*delta*(na*nb/n)
	}
	m.Count += o.Count
}

// AddAbs absorbs the rows of the residuals x, an [N, d] row-major slice, into
// m as the moments of |x|. Rows holding NaN or ±Inf are excluded and counted
// in m.Skipped, and so are rows holding a magnitude above MaxAbs. It makes one
// pass over x and does not allocate.
//
// An m of dimension 0 takes dimension d. AddAbs panics if d ≤ 0, if len(x)
// is not a multiple of d or if m has another dimension.
func AddAbs[T Float](m *Moments, x []T, d int) {
	prepare(m, len(x), d)
	if d == 4 {
		addAbs4(m, x)
		return
	}
	addGeneric(m, x, nil, d)
}

// AddAbsDiff absorbs the rows of the residual pred − target, both [N, d]
// row-major, into m as the moments of its absolute value, without forming the
// residual in memory. The residual is formed in T, as the loss forms it, then
// widened to float64. Rows whose residual holds NaN, ±Inf or a magnitude above
// MaxAbs are excluded and counted in m.Skipped. It makes one pass over the data and does not
// allocate. For float32 data with d = 4 it runs an assembly kernel on amd64 (AVX-512 or
// AVX; see the package documentation); the result is the same with or without it.
//
// It panics if len(pred) ≠ len(target), d ≤ 0, the length is not a
// multiple of d, or m has another (non-zero) dimension.
func AddAbsDiff[T Float](m *Moments, pred, target []T, d int) {
	if len(pred) != len(target) {
		panic(msgLengthMismatch)
	}
	prepare(m, len(pred), d)
	if d == 4 {
		addAbsDiff4(m, pred, target)
		return
	}
	addGeneric(m, pred, target, d)
}

func prepare(m *Moments, n, d int) {
	if d <= 0 {
		panic(msgBadDim)
	}
	if n%d != 0 {
		panic(msgNotMultiple)
	}
	if m.Dim() == 0 && m.Count == 0 {
		skipped := m.Skipped
		m.Reset(d)
		m.Skipped = skipped
	}
	if m.Dim() != d || len(m.M2) != d {
		panic(msgDimMismatch)
	}
}

// blockRows is the number of rows summed in local accumulators before they
// are folded into the running moments. Blocking keeps rounding error of the
// sums small (≈ blockRows + N/blockRows terms instead of N) and lets a block
// be checked for non-finite values once instead of row by row.
const blockRows = 256

// blockRows4 is blockRows for D = 4, whose blocks are summed in four lanes (lanes4): each
// lane sums 256 rows, as many terms per accumulator as a block of the generic path, and
// the fold between blocks, which the next block waits for (it is shifted by the new
// mean), comes a quarter as often.
const blockRows4 = 4 * blockRows

// Finite reports whether v is neither NaN nor ±Inf: v − v is 0 for finite v
// and NaN otherwise (one subtraction, where math.IsNaN and math.IsInf test
// twice).
func Finite(v float64) bool { return v-v == 0 }

// MaxAbs is the largest magnitude a residual may have to enter the moments:
//
//	MaxAbs = MaxFloat64 / 2⁵⁷⁶ = (2 − 2⁻⁵²)·2⁴⁴⁷ ≈ 3.6e134
//
// A row with a finite |d| above it is excluded and counted in Skipped, as a row
// holding NaN or ±Inf is. Why: M2 sums squares, and a finite |d| above √MaxFloat64
// ≈ 1.3e154 overflows M2 to +Inf (and the shifted sums to NaN), which no scheduler
// can use. Below MaxAbs, n rows give M2 ≤ n·MaxAbs² < 2⁸⁹⁶·n, finite for any
// n < 2¹²⁷, so every absorbed stream has finite moments. Box residuals are at most
// thousands; a value near 1e134 is a corrupt one. (A scaled M2 would need a
// representation wider than the float64 fields of Moments.)
const MaxAbs = math.MaxFloat64 / 0x1p576

// Usable reports whether v may enter the moments: |v| ≤ MaxAbs (so not NaN or
// ±Inf). v·2⁵⁷⁶ is exact unless it overflows, which it does exactly when
// |v| > MaxAbs, so the test is one multiplication and one subtraction.
func Usable(v float64) bool {
	w := v * 0x1p576
	return w-w == 0
}

// blockUsable reports whether a block whose shifted sums c were formed around a
// running mean μ can be folded without checking its rows: every row then has
// |y − μ| ≤ √c ≤ MaxAbs/4 and μ ≤ MaxAbs/4, so |y| < MaxAbs. Otherwise the block
// is redone row by row (the test is sufficient, not necessary).
func blockUsable(mu, c *[4]float64) bool {
	const q = MaxAbs / 4
	ok := true
	for k := range mu {
		ok = ok && mu[k] <= q && c[k] <= q*q
	}
	return ok
}

// The batch pass is the shifted-sums update: within a block the values are
// shifted by the current mean μ (the first finite row seeds it), a = Σ(x − μ)
// and c = Σ(x − μ)² are summed, and the block is folded in with
//
//	n' = n + n_b,  μ' = μ + a/n',  M2' = M2 + c − a²/n'
//
// which is Chan's merge written for a block shifted by the running mean; the
// shift keeps c − a²/n' free of cancellation.

func addAbsDiff4[T Float](m *Moments, pred, target []T) {
	rows := len(pred) / 4
	n := m.Count
	mu := [4]float64(m.Mean)
	v := [4]float64(m.M2)
	var skipped int64
	i := 0
	if n == 0 {
		for ; i < rows; i++ {
			if a, ok := rowAbsDiff4(pred[4*i:4*i+4], target[4*i:4*i+4]); ok {
				mu, n = a, 1
				i++
				break
			}
			skipped++
		}
	}
	for i < rows {
		e := min(i+blockRows4, rows)
		pb, tb := pred[4*i:4*e], target[4*i:4*e]
		nb := int64(e - i)
		a, c := blockAbsDiff4(pb, tb, &mu)
		if !Finite(a[0]+a[1]+a[2]+a[3]+c[0]+c[1]+c[2]+c[3]) || !blockUsable(&mu, &c) {
			// Rare: redo the block row by row in the same lanes, excluding the rows
			// that are not usable.
			var l lanes4
			for j := 0; j < len(pb); j += 4 {
				y, ok := rowAbsDiff4(pb[j:j+4], tb[j:j+4])
				if !ok {
					nb--
					skipped++
					continue
				}
				l.add(j/4, &y, &mu)
			}
			a, c = l.sums()
		}
		fold4(&mu, &v, &n, nb, &a, &c)
		i = e
	}
	m.Count, m.Skipped = n, m.Skipped+skipped
	copy(m.Mean, mu[:])
	copy(m.M2, v[:])
}

func addAbs4[T Float](m *Moments, x []T) {
	rows := len(x) / 4
	n := m.Count
	mu := [4]float64(m.Mean)
	v := [4]float64(m.M2)
	var skipped int64
	i := 0
	if n == 0 {
		for ; i < rows; i++ {
			if a, ok := rowAbs4(x[4*i : 4*i+4]); ok {
				mu, n = a, 1
				i++
				break
			}
			skipped++
		}
	}
	for i < rows {
		e := min(i+blockRows4, rows)
		xb := x[4*i : 4*e]
		nb := int64(e - i)
		a, c := blockAbs4(xb, &mu)
		if !Finite(a[0]+a[1]+a[2]+a[3]+c[0]+c[1]+c[2]+c[3]) || !blockUsable(&mu, &c) {
			var l lanes4
			for j := 0; j < len(xb); j += 4 {
				y, ok := rowAbs4(xb[j : j+4])
				if !ok {
					nb--
					skipped++
					continue
				}
				l.add(j/4, &y, &mu)
			}
			a, c = l.sums()
		}
		fold4(&mu, &v, &n, nb, &a, &c)
		i = e
	}
	m.Count, m.Skipped = n, m.Skipped+skipped
	copy(m.Mean, mu[:])
	copy(m.M2, v[:])
}

// fold4 folds a block of nb rows with shifted sums a, c into (n, μ, M2).
func fold4(mu, v *[4]float64, n *int64, nb int64, a, c *[4]float64) {
	if nb == 0 {
		return
	}
	*n += nb
	inv := 1 / float64(*n)
	for k := range mu {
		mu[k] += a[k] * inv
		v[k] += c[k] - a[k]*a[k]*inv
	}
}

// lanes4 holds the shifted sums of a block of D = 4 rows in four lanes: row r of the
// block is summed into lane r % 4, each lane in row order, and the block's sums are
//
//	a[j] = (a[0][j] + a[1][j]) + (a[2][j] + a[3][j])       (likewise c)
//
// Four independent lanes let the SIMD kernels keep one row per register (two per ZMM
// register) and four rows in flight; the Go kernel sums in the same order, so all give
// the same bits. The assembly
// reads and writes it at fixed offsets (a at 0, c at 128).
type lanes4 struct {
	a, c [4][4]float64
}

// add adds row r of the block, y = |d| of its four columns, shifted by mu, to lane r % 4.
func (l *lanes4) add(r int, y, mu *[4]float64) {
	k := r & 3
	for j := range y {
		d := y[j] - mu[j]
		l.a[k][j] += d
		l.c[k][j] += float64(d * d)
	}
}

// sums returns the block's sums a and c from the lanes.
func (l *lanes4) sums() (a, c [4]float64) {
	for j := range a {
		a[j] = (l.a[0][j] + l.a[1][j]) + (l.a[2][j] + l.a[3][j])
		c[j] = (l.c[0][j] + l.c[1][j]) + (l.c[2][j] + l.c[3][j])
	}
	return a, c
}

// blockAbsDiff4 returns a = Σ(|p−t| − μ) and c = Σ(|p−t| − μ)² per column, summed by
// lanes (lanes4): the assembly over whole groups of four rows where there is one, the
// Go kernel for the rows left.
func blockAbsDiff4[T Float](pred, target []T, mu *[4]float64) (a, c [4]float64) {
	var l lanes4
	from := 0
	if p, ok := any(pred).([]float32); ok {
		from = absDiffLanes4(&l, p, any(target).([]float32), mu)
	}
	absDiffLanes4Go(&l, pred, target, mu, from)
	return l.sums()
}

// absDiffLanes4Go adds the rows from `from` (a multiple of 4) on of the block pred −
// target to the lanes of l: lane k takes rows k, k+4, ..., continuing its sums. Each lane
// is finished before the next is started, and μ is read from memory, which keeps its
// eight accumulators in registers. The conversions to float64 of y·y keep the compiler
// from fusing the multiply and add (it may, and the assembly does not).
func absDiffLanes4Go[T Float](l *lanes4, pred, target []T, mu *[4]float64, from int) {
	n := len(pred)
	target = target[:n]
	for k := range 4 {
		a0, a1, a2, a3 := l.a[k][0], l.a[k][1], l.a[k][2], l.a[k][3]
		c0, c1, c2, c3 := l.c[k][0], l.c[k][1], l.c[k][2], l.c[k][3]
		for j := 4 * (from + k); j+4 <= n; j += 16 {
			p, t := pred[j:j+4:j+4], target[j:j+4:j+4]
			y0 := math.Abs(float64(p[0]-t[0])) - mu[0]
			a0 += y0
			c0 += float64(y0 * y0)
			y1 := math.Abs(float64(p[1]-t[1])) - mu[1]
			a1 += y1
			c1 += float64(y1 * y1)
			y2 := math.Abs(float64(p[2]-t[2])) - mu[2]
			a2 += y2
			c2 += float64(y2 * y2)
			y3 := math.Abs(float64(p[3]-t[3])) - mu[3]
			a3 += y3
			c3 += float64(y3 * y3)
		}
		l.a[k] = [4]float64{a0, a1, a2, a3}
		l.c[k] = [4]float64{c0, c1, c2, c3}
	}
}

// blockAbs4 is blockAbsDiff4 for residuals, in Go only (AddAbs is not a training
// step's path), in the same order: AddAbs(p − t) and AddAbsDiff(p, t) agree.
func blockAbs4[T Float](x []T, mu *[4]float64) (a, c [4]float64) {
	var l lanes4
	for k := range 4 {
		var a0, a1, a2, a3, c0, c1, c2, c3 float64
		for j := 4 * k; j+4 <= len(x); j += 16 {
			r := x[j : j+4 : j+4]
			y0 := math.Abs(float64(r[0])) - mu[0]
			a0 += y0
			c0 += float64(y0 * y0)
			y1 := math.Abs(float64(r[1])) - mu[1]
			a1 += y1
			c1 += float64(y1 * y1)
			y2 := math.Abs(float64(r[2])) - mu[2]
			a2 += y2
			c2 += float64(y2 * y2)
			y3 := math.Abs(float64(r[3])) - mu[3]
			a3 += y3
			c3 += float64(y3 * y3)
		}
		l.a[k] = [4]float64{a0, a1, a2, a3}
		l.c[k] = [4]float64{c0, c1, c2, c3}
	}
	return l.sums()
}

// rowAbsDiff4 returns |p − t| for one row of four and whether it is usable (Usable).
func rowAbsDiff4[T Float](p, t []T) (y [4]float64, ok bool) {
	p, t = p[:4:4], t[:4:4]
	for k := range y {
		y[k] = math.Abs(float64(p[k] - t[k]))
	}
	return y, Usable(y[0]) && Usable(y[1]) && Usable(y[2]) && Usable(y[3])
}

// rowAbs4 returns |x| for one row of four and whether it is usable (Usable).
func rowAbs4[T Float](x []T) (y [4]float64, ok bool) {
	x = x[:4:4]
	for k := range y {
		y[k] = math.Abs(float64(x[k]))
	}
	return y, Usable(y[0]) && Usable(y[1]) && Usable(y[2]) && Usable(y[3])
}

// maxCols is the number of columns the generic path accumulates per pass;
// wider data takes ⌈D/maxCols⌉ passes.
const maxCols = 32

// addGeneric is the path for D ≠ 4. target == nil means x holds residuals.
func addGeneric[T Float](m *Moments, x, target []T, d int) {
	rows := len(x) / d
	n0 := m.Count
	var skipped int64
	for c0 := 0; c0 < d; c0 += maxCols {
		w := min(maxCols, d-c0)
		var mu, v, a, c [maxCols]float64
		copy(mu[:w], m.Mean[c0:])
		copy(v[:w], m.M2[c0:])
		n := n0
		skipped = 0
		i := 0
		if n == 0 {
			for ; i < rows; i++ {
				if rowFinite(x, target, i, d) {
					for j := range w {
						mu[j] = absAt(x, target, i*d+c0+j)
					}
					n = 1
					i++
					break
				}
				skipped++
			}
		}
		for i < rows {
			e := min(i+blockRows, rows)
			a, c = [maxCols]float64{}, [maxCols]float64{}
			nb := int64(0)
			for r := i; r < e; r++ {
				if !rowFinite(x, target, r, d) {
					skipped++
					continue
				}
				nb++
				base := r*d + c0
				for j := range w {
					y := absAt(x, target, base+j) - mu[j]
					a[j] += y
					c[j] += y * y
				}
			}
			if nb > 0 {
				n += nb
				inv := 1 / float64(n)
				for j := range w {
					mu[j] += a[j] * inv
					v[j] += c[j] - a[j]*a[j]*inv
				}
			}
			i = e
		}
		copy(m.Mean[c0:c0+w], mu[:w])
		copy(m.M2[c0:c0+w], v[:w])
		m.Count = n
	}
	m.Skipped += skipped
}

func absAt[T Float](x, target []T, k int) float64 {
	if target == nil {
		return math.Abs(float64(x[k]))
	}
	return math.Abs(float64(x[k] - target[k]))
}

func rowFinite[T Float](x, target []T, i, d int) bool {
	var s float64
	for k := i * d; k < (i+1)*d; k++ {
		y := absAt(x, target, k) * 0x1p576 // as Usable
		s += y - y
	}
	return s == 0
}
