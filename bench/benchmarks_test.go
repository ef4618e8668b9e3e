package bench

import (
	"testing"

	"github.com/smoothl1/smoothl1/internal/testsupport/torchtest"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// The go test -bench form of the table's rows (see the package documentation): the same
// cases, one b.Run per size and case, libtorch on one thread. -short skips N = 1e7.
//
//	go test -run '^$' -bench . -benchtime=20x ./bench/ | tee new.txt; benchstat old.txt new.txt

// benchCases runs the cases setup makes for each size in sizes, as sub-benchmarks
// N=…/case. The data of a size is made only when its N=… level is selected; the cases are
// built on the torch thread and each sub-benchmark runs its loop there (b.Run itself is
// called outside it: it waits for another goroutine).
func benchCases(b *testing.B, sizes []int, setup func(rows int) ([]Case, func(), error)) {
	torchtest.OneThread(b)
	for _, n := range sizes {
		if testing.Short() && n > 1e6 {
			continue
		}
		b.Run("N="+fmtN(n, ""), func(b *testing.B) {
			var cases []Case
			var free func()
			if err := tt.Do(func() error {
				var err error
				cases, free, err = setup(n)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			if free != nil {
				defer tt.Do(func() error { free(); return nil })
			}
			for _, c := range cases {
				b.Run(c.Name, func(b *testing.B) { loop(b, c, float64(D*n)/1e6, "Melem/s", int64(8*D*n)) })
			}
		})
	}
}

// loop times c.Op on the torch thread and reports units per second as metric; bytes,
// when not 0, goes to b.SetBytes.
func loop(b *testing.B, c Case, units float64, metric string, bytes int64) {
	if bytes > 0 {
		b.SetBytes(bytes)
	}
	err := tt.Do(func() error {
		if err := c.Op(); err != nil { // warm-up; b.Loop restarts the timer
			return err
		}
		for b.Loop() {
			if err := c.Op(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(units*float64(b.N)/b.Elapsed().Seconds(), metric)
}

// BenchmarkSASLStep is row 1: ours (the pure-Go fused SASL step), native (smooth_l1_loss
// forward and backward) and copy.
func BenchmarkSASLStep(b *testing.B) { benchCases(b, FullSizes, stepCases) }

// BenchmarkTensorLoss is rows 2 and 3: native, ours (trainer's dynamic loss) and
// retinamask, forward and backward.
func BenchmarkTensorLoss(b *testing.B) { benchCases(b, FullSizes, lossCases) }

// BenchmarkDSLUpdate is row 4: one Dynamic R-CNN update by selection and by a full sort.
func BenchmarkDSLUpdate(b *testing.B) {
	benchCases(b, FullSizes, func(rows int) ([]Case, func(), error) {
		cases, err := dslCases(rows)
		return cases, nil, err
	})
}

// BenchmarkBoxLoss is row 5's derived line: the two box losses alone at about a detector
// step's positives.
func BenchmarkBoxLoss(b *testing.B) { benchCases(b, []int{128}, boxLossCases) }

// BenchmarkDetectorStep is row 5: one detector training step with each box loss.
func BenchmarkDetectorStep(b *testing.B) {
	torchtest.OneThread(b)
	var cases []Case
	var free func()
	if err := tt.Do(func() error {
		var err error
		cases, _, free, err = detectorCases(b.TempDir())
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer tt.Do(func() error { free(); return nil })
	for _, c := range cases {
		b.Run(c.Name, func(b *testing.B) { loop(b, c, detectorBatch, "images/s", 0) })
	}
}

// BenchmarkTrainStep is the Go half of rows 6 and 7: one training step of the regression
// task and of the detector as the twins' rows time it (zero the gradients, forward, loss read
// to the host, backward, clip, AdamW), without the twins.
func BenchmarkTrainStep(b *testing.B) {
	torchtest.OneThread(b)
	for _, c := range []struct {
		name  string
		side  func(dir string) (*goSide, error)
		units float64
		unit  string
	}{{"regress", regressSide, regressBatch, "samples/s"}, {"detector", detectorSide, twinDetectorBatch, "images/s"}} {
		b.Run(c.name, func(b *testing.B) {
			var g *goSide
			if err := tt.Do(func() error {
				var err error
				g, err = c.side(b.TempDir())
				return err
			}); err != nil {
				b.Fatal(err)
			}
			defer tt.Do(func() error { g.free(); return nil })
			loop(b, Case{Name: c.name, Op: g.step}, c.units, c.unit, 0)
		})
	}
}
