package boxes

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestCoderEncode(t *testing.T) {
	anchor := Box{0, 0, 10, 10} // centre (5, 5), 10 × 10
	gt := Box{5, 5, 25, 15}     // centre (15, 10), 20 × 10
	ln2 := math.Ln2
	for _, tc := range []struct {
		name  string
		coder Coder
		want  [4]float64 // closed form: (w·(15−5)/10, w·(10−5)/10, w·log 2, w·log 1)
	}{
		{"zero value = weights (1, 1, 1, 1)", Coder{}, [4]float64{1, 0.5, ln2, 0}},
		{"weights (1, 1, 1, 1)", Coder{Weights: [4]float64{1, 1, 1, 1}}, [4]float64{1, 0.5, ln2, 0}},
		{"weights (10, 10, 5, 5)", Coder{Weights: [4]float64{10, 10, 5, 5}}, [4]float64{10, 5, 5 * ln2, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.coder.Encode(nil, []Box{anchor}, []Box{gt})
			for k := range tc.want {
				if math.Abs(got[k]-tc.want[k]) > 1e-15 {
					t.Errorf("Encode = %v, want %v", got, tc.want)
					break
				}
			}
			back := tc.coder.Decode(nil, []Box{anchor}, got)[0]
			for k := range gt {
				if math.Abs(back[k]-gt[k]) > 1e-12 {
					t.Errorf("Decode(Encode) = %v, want %v", back, gt)
					break
				}
			}
		})
	}
}

func TestCoderScaleClamp(t *testing.T) {
	if DefaultScaleClamp != math.Log(1000.0/16) {
		t.Errorf("DefaultScaleClamp = %v, log(1000/16) = %v", DefaultScaleClamp, math.Log(1000.0/16))
	}
	anchor := []Box{{0, 0, 16, 16}}
	big := []float64{0, 0, 10, -10} // exp(10) ≈ 22026 times wider, exp(−10) times as tall
	for _, tc := range []struct {
		name  string
		coder Coder
		wantW float64 // exp(min(10/ww, clamp))·16
		wantH float64 // exp(−10/wh)·16: the clamp is one-sided
	}{
		{"default clamp log(1000/16): at most 1000 px from a 16 px anchor", Coder{}, 1000, 16 * math.Exp(-10)},
		{"clamp 1", Coder{ScaleClamp: 1}, 16 * math.E, 16 * math.Exp(-10)},
		{"clamp disabled (+Inf)", Coder{ScaleClamp: math.Inf(1)}, 16 * math.Exp(10), 16 * math.Exp(-10)},
		{"weights divide before the clamp: 10/5 = 2 < 4.135", Coder{Weights: [4]float64{1, 1, 5, 5}}, 16 * math.Exp(2), 16 * math.Exp(-2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.coder.Decode(nil, anchor, big)[0]
			if w, h := b.Width(), b.Height(); math.Abs(w-tc.wantW) > 1e-9*tc.wantW || math.Abs(h-tc.wantH) > 1e-9*tc.wantH {
				t.Errorf("size %v × %v, want %v × %v", w, h, tc.wantW, tc.wantH)
			}
			if cx, cy := (b[0]+b[2])/2, (b[1]+b[3])/2; math.Abs(cx-8) > 1e-9 || math.Abs(cy-8) > 1e-9 {
				t.Errorf("centre (%v, %v) moved from (8, 8)", cx, cy)
			}
		})
	}
	if got := Decode1(Coder{}, []float64{math.NaN(), 0, 0, 0}); !math.IsNaN(got[0]) {
		t.Errorf("NaN delta decoded to %v, want NaN", got)
	}
}

// Decode1 decodes one delta against the anchor (0, 0, 16, 16).
func Decode1(c Coder, d []float64) Box { return c.Decode(nil, []Box{{0, 0, 16, 16}}, d)[0] }

// TestCoderRoundTrip checks that Decode inverts Encode: decode(encode(g)) = g to 1e-9 for
// random valid boxes (sides in [8, 168), so side ratios stay below the clamp's 62.5) and
// weights.
func TestCoderRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []Coder{{}, {Weights: [4]float64{10, 10, 5, 5}}, {Weights: [4]float64{0.5, 3, 0.25, 7}, ScaleClamp: 4}} {
		anchors, gt := randomBoxes(rng, 2000, 480), randomBoxes(rng, 2000, 480)
		for _, b := range [][]Box{anchors, gt} {
			for i := range b {
				b[i][2] += 7
				b[i][3] += 7
			}
		}
		deltas := c.Encode(make([]float64, 1), anchors, gt)
		back := c.Decode(nil, anchors, deltas)
		for i := range gt {
			for k := range gt[i] {
				if math.Abs(back[i][k]-gt[i][k]) > 1e-9 {
					t.Fatalf("%+v: box %d: decode(encode(%v)) = %v", c, i, gt[i], back[i])
				}
			}
		}
	}
}

// Decode writes into dst when it is large enough, as the package promises for every dst: no
// allocation, and the same boxes as with a nil dst.
func TestDecodeReusesDst(t *testing.T) {
	anchors := []Box{{0, 0, 16, 16}, {8, 8, 40, 24}, {3, 1, 9, 30}}
	deltas := []float64{0.1, -0.2, 0.3, -0.1, 0, 0, 0, 0, -1, 2, 0.5, 0.25}
	want := Coder{}.Decode(nil, anchors, deltas)
	dst := make([]Box, 8)
	if allocs := testing.AllocsPerRun(100, func() { Coder{}.Decode(dst, anchors, deltas) }); allocs != 0 {
		t.Errorf("Decode with a large enough dst allocated %v times per call", allocs)
	}
	got := Coder{}.Decode(dst, anchors, deltas)
	if &got[0] != &dst[0] || len(got) != 3 {
		t.Fatalf("Decode did not return dst[:3]")
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("box %d: %v with dst, %v without", i, got[i], want[i])
		}
	}
}
