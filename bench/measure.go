package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Case is one side of a comparison: Op runs one operation (one training step of the loss,
// one scheduler update, one copy) on data prepared once. Op must leave nothing behind that
// grows from one call to the next. The table calls Op on the torch thread (inside
// torchthread.Do), so that tensor cases pay no hand-over to it.
type Case struct {
	Name string
	Op   func() error
	// Sample, when not nil, replaces timing Op: it runs iters operations elsewhere (a PyTorch
	// twin's process) and returns their seconds on the table's clock as read there. Op is
	// then not called.
	Sample func(iters int) (float64, error)
	// PeakRSS, when not nil, returns the peak resident memory in bytes of the process that
	// ran Sample (a twin's), once that process has ended; ok is false before.
	PeakRSS func() (bytes int64, ok bool)
}

// sample runs iters operations of c and returns their seconds on clock.
func (c Case) sample(clock Clock, iters int) (float64, error) {
	if c.Sample != nil {
		secs, err := c.Sample(iters)
		if err != nil {
			return 0, fmt.Errorf("bench: %s: %w", c.Name, err)
		}
		return secs, nil
	}
	start := clock.seconds()
	for range iters {
		if err := c.Op(); err != nil {
			return 0, fmt.Errorf("bench: %s: %w", c.Name, err)
		}
	}
	return clock.seconds() - start, nil
}

// sampling says how a set of cases is timed.
type sampling struct {
	reps      int           // repetitions; each gives one time per case
	rounds    int           // samples of each case per repetition; the fastest is its time
	warmup    int           // untimed runs of each case before calibration
	minSample time.Duration // least duration of one timed sample of one case
	clock     Clock         // what durations are read from
}

// maxIters bounds the operations of one sample (calibration on a clock that reads 0).
const maxIters = 1 << 20

// measure times cases: after sp.warmup untimed runs of each, it calibrates for every case
// the number of operations that makes a sample last at least sp.minSample on sp.clock, then runs
// sp.reps repetitions of sp.rounds rounds, each round timing one sample of every case in
// turn, in the listed order and in reverse on alternate rounds, so that a drift of the
// machine, or an order effect, weighs on every case alike. A case's time in a repetition is
// its fastest sample of that repetition: on a shared machine, other processes only ever add
// time. It returns secs[case][rep], seconds per operation. ctx is checked between samples.
func measure(ctx context.Context, sp sampling, cases []Case) ([][]float64, error) {
	if sp.reps < 1 || sp.rounds < 1 {
		return nil, fmt.Errorf("bench: %d repetitions of %d rounds: want at least 1 of 1", sp.reps, sp.rounds)
	}
	iters := make([]int, len(cases))
	for i, c := range cases {
		best := math.Inf(1)
		for range max(sp.warmup, 1) {
			secs, err := c.sample(sp.clock, 1)
			if err != nil {
				return nil, err
			}
			best = min(best, secs)
		}
		iters[i] = calibrate(best, sp.minSample)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	secs := make([][]float64, len(cases))
	for i := range secs {
		secs[i] = make([]float64, sp.reps)
	}
	order := make([]int, len(cases))
	for r := range sp.reps {
		for i := range secs {
			secs[i][r] = math.Inf(1)
		}
		for k := range sp.rounds {
			for i := range order {
				order[i] = i
			}
			if (r*sp.rounds+k)%2 == 1 {
				slices.Reverse(order)
			}
			for _, i := range order {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				t, err := cases[i].sample(sp.clock, iters[i])
				if err != nil {
					return nil, err
				}
				secs[i][r] = min(secs[i][r], t/float64(iters[i]))
			}
		}
	}
	return secs, nil
}

// calibrate returns the number of operations of one sample: enough for minSample at one
// operation per secs seconds, at least 1 and at most maxIters (1 for minSample ≤ 0).
func calibrate(secs float64, minSample time.Duration) int {
	if minSample <= 0 {
		return 1
	}
	if !(secs > 0) {
		return maxIters
	}
	n := math.Ceil(minSample.Seconds() / secs)
	return int(min(max(n, 1), maxIters))
}

// Spread is the median, minimum and maximum of a sample.
type Spread struct {
	Median, Min, Max float64
}

// spread returns the Spread of x (the median of an even count is the mean of the middle
// two). An empty x gives NaNs. x is not modified.
func spread(x []float64) Spread {
	if len(x) == 0 {
		nan := math.NaN()
		return Spread{nan, nan, nan}
	}
	s := slices.Clone(x)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return Spread{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// ratios returns num[r]/den[r] for every repetition r: the ratio of two cases timed in the
// same repetition. It panics when the lengths differ.
func ratios(num, den []float64) []float64 {
	if len(num) != len(den) {
		panic("bench: ratios of samples of different lengths")
	}
	out := make([]float64, len(num))
	for r := range num {
		out[r] = num[r] / den[r]
	}
	return out
}

// scaled returns x[r]/d for every r.
func scaled(x []float64, d float64) []float64 {
	out := make([]float64, len(x))
	for r, v := range x {
		out[r] = v / d
	}
	return out
}
