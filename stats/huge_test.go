package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMomentsHugeFiniteRows: a finite |d| above MaxAbs (the outside check's 1.3e154 and
// beyond, where M2 used to overflow to NaN) excludes its row like NaN does, so the moments
// are those of the other rows. Oracle: the closed form of 1 … n, mean (n+1)/2 and
// M2 = n(n²−1)/12 per column, with the huge rows placed at random positions, through the
// blocked d = 4 paths and the generic d = 3 path, for AddAbs and AddAbsDiff.
func TestMomentsHugeFiniteRows(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 15))
	huge := []float64{1.3e154, 1e200, math.MaxFloat64, math.Nextafter(MaxAbs, math.Inf(1)), -1e300}
	for trial := range 40 {
		d := 4
		if trial%2 == 1 {
			d = 3
		}
		n := 1 + r.IntN(1500)
		bad := r.IntN(5)
		var x []float64
		seq := 0
		badAt := map[int]bool{}
		for range bad {
			badAt[r.IntN(n+bad)] = true
		}
		skipped := int64(0)
		for row := 0; row < n+bad; row++ {
			if badAt[row] {
				v := make([]float64, d)
				for k := range v {
					v[k] = float64(seq%7 + 1)
				}
				v[r.IntN(d)] = huge[r.IntN(len(huge))]
				x = append(x, v...)
				skipped++
				continue
			}
			if seq == n {
				continue
			}
			seq++
			for range d {
				x = append(x, float64(seq))
			}
		}
		cnt := int64(seq)
		wantMean := (float64(cnt) + 1) / 2
		wantM2 := float64(cnt) * (float64(cnt)*float64(cnt) - 1) / 12
		for _, diff := range []bool{false, true} {
			var m Moments
			if diff {
				zero := make([]float64, len(x))
				AddAbsDiff(&m, x, zero, d)
			} else {
				AddAbs(&m, x, d)
			}
			if m.Count != cnt || m.Skipped != skipped {
				t.Fatalf("trial %d (d %d, diff %v): count %d skipped %d, want %d and %d", trial, d, diff, m.Count, m.Skipped, cnt, skipped)
			}
			for j := range d {
				if math.Abs(m.Mean[j]-wantMean) > 1e-12*wantMean || math.Abs(m.M2[j]-wantM2) > 1e-10*math.Max(wantM2, 1) {
					t.Fatalf("trial %d column %d: mean %v M2 %v, want %v and %v (closed form)", trial, j, m.Mean[j], m.M2[j], wantMean, wantM2)
				}
			}
		}
	}
}

// TestMomentsAtMaxAbs: rows at exactly MaxAbs are kept, and the moments stay finite.
// Oracle: n rows alternating 0 and MaxAbs have mean MaxAbs/2 and M2 = n·MaxAbs²/4.
func TestMomentsAtMaxAbs(t *testing.T) {
	if !Usable(MaxAbs) || Usable(math.Nextafter(MaxAbs, math.Inf(1))) || Usable(math.NaN()) || Usable(math.Inf(-1)) || !Usable(-MaxAbs) {
		t.Fatal("Usable's boundary is not MaxAbs")
	}
	for _, d := range []int{4, 3} {
		n := 2000
		x := make([]float64, n*d)
		for i := 0; i < n; i += 2 {
			for k := range d {
				x[i*d+k] = MaxAbs
			}
		}
		var m Moments
		AddAbs(&m, x, d)
		want := float64(n) * MaxAbs * MaxAbs / 4
		if m.Count != int64(n) || m.Skipped != 0 || math.Abs(m.Mean[0]-MaxAbs/2) > 1e-12*MaxAbs || math.Abs(m.M2[0]-want) > 1e-9*want {
			t.Errorf("d %d: count %d skipped %d mean %v M2 %v, want %d, 0, %v, %v", d, m.Count, m.Skipped, m.Mean[0], m.M2[0], n, MaxAbs/2, want)
		}
	}
}
