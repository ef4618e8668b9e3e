package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat"
)

var (
	nan  = math.NaN()
	pinf = math.Inf(1)
	ninf = math.Inf(-1)
)

// relErr is |got − want| / max(|want|, tiny), with equal NaNs at error 0.
func relErr(got, want float64) float64 {
	if math.IsNaN(got) && math.IsNaN(want) {
		return 0
	}
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-300)
}

// reference computes per-column count, mean and M2 of |x| over finite rows
// with the two-pass float64 algorithm: the independent yardstick.
func reference(x []float64, d int) (n int64, skipped int64, mean, m2 []float64) {
	mean, m2 = make([]float64, d), make([]float64, d)
	var rows [][]float64
	for i := 0; i < len(x); i += d {
		ok := true
		for _, v := range x[i : i+d] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				ok = false
			}
		}
		if !ok {
			skipped++
			continue
		}
		rows = append(rows, x[i:i+d])
	}
	n = int64(len(rows))
	if n == 0 {
		return n, skipped, mean, m2
	}
	for _, r := range rows {
		for j, v := range r {
			mean[j] += math.Abs(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for _, r := range rows {
		for j, v := range r {
			dv := math.Abs(v) - mean[j]
			m2[j] += dv * dv
		}
	}
	return n, skipped, mean, m2
}

// randomRows returns n×d normal values scaled by scale around offset, with
// about a fraction bad of the rows holding a NaN or ±Inf.
func randomRows(rng *rand.Rand, n, d int, offset, scale, bad float64) []float64 {
	x := make([]float64, n*d)
	for i := range x {
		x[i] = offset + scale*rng.NormFloat64()
	}
	for i := 0; i < n; i++ {
		if rng.Float64() < bad {
			x[i*d+rng.IntN(d)] = []float64{nan, pinf, ninf}[rng.IntN(3)]
		}
	}
	return x
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func TestMomentsTable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		d        int
		x        []float64
		count    int64
		skipped  int64
		mean, m2 []float64
		source   string
	}{
		{"empty", 4, nil, 0, 0, []float64{0, 0, 0, 0}, []float64{0, 0, 0, 0}, "definition"},
		{"one row", 4, []float64{1, -2, 3, -4}, 1, 0, []float64{1, 2, 3, 4}, []float64{0, 0, 0, 0}, "definition"},
		{"two rows", 4, []float64{0, 0, 0, 0, 2, -4, 6, -8}, 2, 0,
			[]float64{1, 2, 3, 4}, []float64{2, 8, 18, 32}, "closed form: M2 = (a−b)²/2"},
		{"NaN and Inf rows skipped", 4, []float64{
			1, 1, 1, 1,
			nan, 0, 0, 0,
			3, 3, 3, 3,
			0, 0, 0, pinf,
			0, ninf, 0, 0,
		}, 2, 3, []float64{2, 2, 2, 2}, []float64{2, 2, 2, 2}, "closed form on rows 1 and 3"},
		{"all rows non-finite", 4, []float64{nan, 0, 0, 0, 0, pinf, 0, 0}, 0, 2,
			[]float64{0, 0, 0, 0}, []float64{0, 0, 0, 0}, "definition"},
		{"first row non-finite", 4, []float64{nan, 9, 9, 9, 1, 2, 3, 4, 3, 2, 1, 0}, 2, 1,
			[]float64{2, 2, 2, 2}, []float64{2, 0, 2, 8}, "closed form"},
		{"generic D=3", 3, []float64{1, 2, 3, -3, -2, -1, nan, 1, 1}, 2, 1,
			[]float64{2, 2, 2}, []float64{2, 0, 2}, "closed form"},
		{"generic D=1", 1, []float64{1, 2, 3, 4, pinf}, 4, 1,
			[]float64{2.5}, []float64{5}, "closed form: Σ(x−2.5)² = 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, form := range []string{"AddAbs", "AddAbsDiff", "float32"} {
				var m Moments
				switch form {
				case "AddAbs":
					AddAbs(&m, tc.x, tc.d)
				case "AddAbsDiff":
					// pred = x + 1, target = 1: the same residuals.
					pred, target := make([]float64, len(tc.x)), make([]float64, len(tc.x))
					for i, v := range tc.x {
						pred[i], target[i] = v+1, 1
						if math.IsInf(v, 0) || math.IsNaN(v) {
							pred[i] = v
						}
					}
					AddAbsDiff(&m, pred, target, tc.d)
				case "float32":
					AddAbs(&m, to32(tc.x), tc.d)
				}
				if m.Count != tc.count || m.Skipped != tc.skipped {
					t.Errorf("%s: count, skipped = %d, %d, want %d, %d (%s)", form, m.Count, m.Skipped, tc.count, tc.skipped, tc.source)
				}
				for j := range tc.mean {
					if relErr(m.Mean[j], tc.mean[j]) > 1e-15 || relErr(m.M2[j], tc.m2[j]) > 1e-15 {
						t.Errorf("%s: column %d: mean, M2 = %v, %v, want %v, %v (%s)", form, j, m.Mean[j], m.M2[j], tc.mean[j], tc.m2[j], tc.source)
					}
				}
			}
		})
	}
}

func TestVarStdUndefined(t *testing.T) {
	m := NewMoments(2)
	AddAbs(m, []float64{1, 2}, 2)
	if !math.IsNaN(m.Var(0)) || !math.IsNaN(m.Std(1)) {
		t.Errorf("Var, Std with Count = 1: %v, %v, want NaN (documented)", m.Var(0), m.Std(1))
	}
	if !math.IsNaN(NewMoments(3).PooledMean()) {
		t.Error("PooledMean of empty moments is not NaN")
	}
}

// TestMomentsAgainstGonum checks Mean and the unbiased Var of every column,
// and the pooled view, against gonum/stat on random data.
func TestMomentsAgainstGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, d := range []int{1, 2, 3, 4, 5, 7, 40} {
		for _, n := range []int{2, 3, 255, 256, 257, 1000, 4099} {
			x := randomRows(rng, n, d, 0.3, 1, 0)
			for _, typ := range []string{"float64", "float32"} {
				var m Moments
				if typ == "float32" {
					x32 := to32(x)
					for i, v := range x32 {
						x[i] = float64(v)
					}
					AddAbs(&m, x32, d)
				} else {
					AddAbs(&m, x, d)
				}
				col := make([]float64, n)
				all := make([]float64, 0, n*d)
				for j := range d {
					for i := range n {
						col[i] = math.Abs(x[i*d+j])
					}
					all = append(all, col...)
					if e := relErr(m.Mean[j], stat.Mean(col, nil)); e > 1e-12 {
						t.Errorf("d=%d n=%d %s col %d: mean rel err %g", d, n, typ, j, e)
					}
					if e := relErr(m.Var(j), stat.Variance(col, nil)); e > 1e-12 {
						t.Errorf("d=%d n=%d %s col %d: var rel err %g", d, n, typ, j, e)
					}
				}
				if e := relErr(m.PooledMean(), stat.Mean(all, nil)); e > 1e-12 {
					t.Errorf("d=%d n=%d %s: pooled mean rel err %g", d, n, typ, e)
				}
				if e := relErr(m.PooledVar(), stat.Variance(all, nil)); e > 1e-12 {
					t.Errorf("d=%d n=%d %s: pooled var rel err %g", d, n, typ, e)
				}
				if m.PooledCount() != int64(n*d) {
					t.Errorf("PooledCount = %d, want %d", m.PooledCount(), n*d)
				}
			}
		}
	}
}

// TestMomentsMergeShards splits a stream with non-finite rows into k random
// shards, merges their moments, and compares with one pass over the stream
// and with the two-pass reference: relative error ≤ 1e-12.
func TestMomentsMergeShards(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name          string
		d, n          int
		offset, scale float64
		bad           float64
	}{
		{"D=4 half-normal", 4, 20000, 0, 1, 0.01},
		{"D=4 offset 1e3", 4, 20000, 1e3, 1, 0.01},
		{"D=4 tiny spread", 4, 5000, 0, 1e-8, 0.05},
		{"D=3 generic", 3, 10000, 0.1, 2, 0.02},
		{"D=4 few rows", 4, 7, 0, 1, 0.2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := randomRows(rng, tc.n, tc.d, tc.offset, tc.scale, tc.bad)
			rn, rskip, rmean, rm2 := reference(x, tc.d)
			var single Moments
			AddAbs(&single, x, tc.d)
			for _, k := range []int{1, 2, 3, 7, 16} {
				cuts := []int{0, tc.n}
				for range k - 1 {
					cuts = append(cuts, rng.IntN(tc.n+1))
				}
				sortInts(cuts)
				var merged, streamed Moments
				for s := 0; s+1 < len(cuts); s++ {
					shard := x[cuts[s]*tc.d : cuts[s+1]*tc.d]
					var w Moments
					AddAbs(&w, shard, tc.d)
					merged.Merge(&w)
					AddAbs(&streamed, shard, tc.d)
				}
				for _, got := range []struct {
					name string
					m    *Moments
				}{{"single", &single}, {"merged", &merged}, {"streamed", &streamed}} {
					m := got.m
					if m.Count != rn || m.Skipped != rskip {
						t.Fatalf("k=%d %s: count, skipped = %d, %d, want %d, %d", k, got.name, m.Count, m.Skipped, rn, rskip)
					}
					for j := range tc.d {
						if e := relErr(m.Mean[j], rmean[j]); e > 1e-12 {
							t.Errorf("k=%d %s col %d: mean rel err %g", k, got.name, j, e)
						}
						if e := relErr(m.M2[j], rm2[j]); e > 1e-12 {
							t.Errorf("k=%d %s col %d: M2 rel err %g", k, got.name, j, e)
						}
					}
				}
				for j := range tc.d {
					if e := relErr(merged.M2[j], single.M2[j]); e > 1e-12 {
						t.Errorf("k=%d col %d: merged vs single M2 rel err %g", k, j, e)
					}
				}
			}
		})
	}
}

func sortInts(s []int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestMergeEdgeCases(t *testing.T) {
	var a Moments
	b := NewMoments(2)
	AddAbs(b, []float64{1, 2, 3, 4, nan, 0}, 2)
	a.Merge(b)
	if a.Count != 2 || a.Skipped != 1 || a.Mean[0] != 2 || a.M2[1] != 2 {
		t.Errorf("merge into zero value: %+v", a)
	}
	a.Merge(NewMoments(2)) // empty: no change
	a.Merge(&Moments{Skipped: 3})
	if a.Count != 2 || a.Skipped != 4 {
		t.Errorf("merge of empties: count %d skipped %d, want 2, 4", a.Count, a.Skipped)
	}
}

func TestSetFromSums(t *testing.T) {
	// Rows (1, 10), (3, 10): sums (4, 20), sums of squares (10, 200).
	var m Moments
	m.SetFromSums(2, 1, []float64{4, 20}, []float64{10, 200})
	if m.Count != 2 || m.Skipped != 1 || m.Mean[0] != 2 || m.Mean[1] != 10 || m.M2[0] != 2 || m.M2[1] != 0 {
		t.Errorf("SetFromSums: %+v, want count 2, mean (2, 10), M2 (2, 0)", m)
	}
	m.SetFromSums(3, 0, []float64{0.3}, []float64{0.03 - 1e-18}) // rounding below zero: clamped
	if m.M2[0] != 0 {
		t.Errorf("M2 = %v, want clamp to 0", m.M2[0])
	}
}

func TestMomentsPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"length mismatch", func() { AddAbsDiff(new(Moments), make([]float32, 8), make([]float32, 4), 4) }, msgLengthMismatch},
		{"zero dimension", func() { AddAbs(new(Moments), make([]float32, 8), 0) }, msgBadDim},
		{"negative dimension", func() { NewMoments(-1) }, msgBadDim},
		{"not a multiple", func() { AddAbs(new(Moments), make([]float64, 7), 4) }, msgNotMultiple},
		{"dimension mismatch", func() { AddAbs(NewMoments(3), make([]float64, 8), 4) }, msgDimMismatch},
		{"merge dimension mismatch", func() { NewMoments(3).Merge(NewMoments(4)) }, msgDimMismatch},
		{"sums length mismatch", func() { new(Moments).SetFromSums(1, 0, []float64{1}, nil) }, msgLengthMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != tc.msg {
					t.Errorf("panic = %v, want %q", r, tc.msg)
				}
			}()
			tc.f()
		})
	}
}

func TestMomentsNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p32, t32 := to32(randomRows(rng, 1000, 4, 0, 1, 0.01)), to32(randomRows(rng, 1000, 4, 0, 1, 0))
	p3 := randomRows(rng, 999, 3, 0, 1, 0.01)
	m4, m3 := NewMoments(4), NewMoments(3)
	run, err := NewRunning(4, 0.1, 0.11, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"AddAbsDiff D=4 float32", func() { m4.Reset(4); AddAbsDiff(m4, p32, t32, 4) }},
		{"AddAbs D=3 float64", func() { m3.Reset(3); AddAbs(m3, p3, 3) }},
		{"Running.Update", func() {
			if err := run.Update(m4); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		if a := testing.AllocsPerRun(10, tc.f); a != 0 {
			t.Errorf("%s: %v allocs per run, want 0", tc.name, a)
		}
	}
}

func ExampleAddAbsDiff() {
	// Three boxes' predicted and target deltas, [N=3, D=4]; the third row's
	// prediction diverged and is excluded.
	pred := []float32{0.5, 0.1, 0, 0, 0.1, 0.3, 0.2, 0, float32(math.NaN()), 0, 0, 0}
	target := []float32{0.25, 0.1, 0.5, 0, 0.35, 0.1, 0.2, 1, 0, 0, 0, 0}
	var m Moments
	AddAbsDiff(&m, pred, target, 4)
	fmt.Printf("rows %d, skipped %d\n", m.Count, m.Skipped)
	fmt.Printf("mean |d| of dx: %.3f, var: %.4f\n", m.Mean[0], m.Var(0))
	fmt.Printf("pooled mean %.4f\n", m.PooledMean())
	// Output:
	// rows 2, skipped 1
	// mean |d| of dx: 0.250, var: 0.0000
	// pooled mean 0.2750
}

func ExampleMoments_Merge() {
	// Two workers see halves of a batch; the merged moments are those of the
	// whole batch.
	x := []float64{1, 2, 3, 4, 5, 6}
	var a, b, all Moments
	AddAbs(&a, x[:2], 1)
	AddAbs(&b, x[2:], 1)
	AddAbs(&all, x, 1)
	a.Merge(&b)
	fmt.Println(a.Count, a.Mean[0], a.Var(0))
	fmt.Println(all.Count, all.Mean[0], all.Var(0))
	// Output:
	// 6 3.5 3.5
	// 6 3.5 3.5
}

func BenchmarkAddAbsDiff(b *testing.B) {
	for _, n := range benchSizes {
		pred, target := benchData(n)
		b.Run(n.name, func(b *testing.B) {
			var m Moments
			b.SetBytes(int64(8 * len(pred)))
			b.ReportAllocs()
			m.Reset(4) // allocates the column slices once
			for b.Loop() {
				m.Reset(4)
				AddAbsDiff(&m, pred, target, 4)
			}
			reportElems(b, len(pred))
		})
	}
}

func BenchmarkAddAbs(b *testing.B) {
	for _, n := range benchSizes {
		x, _ := benchData(n)
		b.Run(n.name, func(b *testing.B) {
			var m Moments
			b.SetBytes(int64(4 * len(x)))
			b.ReportAllocs()
			m.Reset(4)
			for b.Loop() {
				m.Reset(4)
				AddAbs(&m, x, 4)
			}
			reportElems(b, len(x))
		})
	}
}

// BenchmarkRunningUpdate is one step of the running-moment update: the
// batch moments of |pred − target| and the exponential update.
func BenchmarkRunningUpdate(b *testing.B) {
	for _, n := range benchSizes {
		pred, target := benchData(n)
		b.Run(n.name, func(b *testing.B) {
			var m Moments
			r, err := NewRunning(4, 0.1, 0.11, 0)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(8 * len(pred)))
			b.ReportAllocs()
			m.Reset(4)
			for b.Loop() {
				m.Reset(4)
				AddAbsDiff(&m, pred, target, 4)
				if err := r.Update(&m); err != nil {
					b.Fatal(err)
				}
			}
			reportElems(b, len(pred))
		})
	}
}

var benchSizes = []struct {
	name string
	rows int
}{{"N=1e3", 1e3}, {"N=1e4", 1e4}, {"N=1e5", 1e5}, {"N=1e6", 1e6}, {"N=1e7", 1e7}}

// benchData returns pred and target, float32 [rows, 4].
func benchData(n struct {
	name string
	rows int
}) (pred, target []float32) {
	rng := rand.New(rand.NewPCG(7, uint64(n.rows)))
	pred, target = make([]float32, 4*n.rows), make([]float32, 4*n.rows)
	for i := range pred {
		pred[i] = float32(0.2 * rng.NormFloat64())
		target[i] = float32(0.2 * rng.NormFloat64())
	}
	return pred, target
}

// reportElems reports elements (N×D) per second in millions.
func reportElems(b *testing.B, elems int) {
	b.ReportMetric(float64(elems)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
}
