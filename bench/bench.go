package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/smoothl1/smoothl1/recipe"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// Sizes of the table: rows N of the float32 [N, 4] data.
var (
	FullSizes  = []int{1e3, 1e4, 1e5, 1e6, 1e7}
	QuickSizes = []int{1e3, 1e4, 1e5, 1e6}
)

// Rows are the table's row numbers.
var Rows = []int{1, 2, 3, 4, 5, 6, 7, 8}

// Options configures Run. The zero value is the full table: every row at FullSizes, 15
// repetitions of 3 rounds, samples of at least 20 ms, the CPU clock (12.5 minutes on a
// shared 2-core machine, most of it RetinaMask's form and the full sort at N = 1e7).
type Options struct {
	// Quick: QuickSizes, 7 repetitions and samples of at least 10 ms (30 to 70 seconds on a
	// shared 2-core machine).
	Quick bool
	// Sizes overrides the sizes (rows N ≥ 1 of the [N, 4] data).
	Sizes []int
	// Reps overrides the repetitions (≥ 1) of every ratio.
	Reps int
	// Rounds overrides the samples (≥ 1) of each case in a repetition, of which the fastest
	// counts; the default is 3.
	Rounds int
	// MinSample overrides the least duration of one timed sample of one case: an operation
	// faster than that is repeated within the sample.
	MinSample time.Duration
	// Clock is what durations are read from; the zero value is CPUClock.
	Clock Clock
	// Rows selects table rows (1–8); nil means all.
	Rows []int
	// Executable is the smoothl1 command, which row 8 runs (`smoothl1 train --nproc 2`); ""
	// gives row 8 a line with a status saying it was skipped.
	Executable string
	// Progress, when not nil, receives a line per measured ratio.
	Progress io.Writer
}

// The training runs whose peak RSS rows 6 and 7 report (with Options.Executable): the rows' task,
// loss and thread count, `smoothl1 train`'s defaults otherwise (the regression run whole,
// the detector's first 30 steps and its evaluation).
var (
	trainArgsRegress  = []string{"--task", "regress", "--loss", specSmoothL1, "--steps", "200", "--threads", "1"}
	trainArgsDetector = []string{"--task", "detect", "--loss", specSmoothL1, "--steps", "30", "--threads", "1"}
)

// resolve applies the defaults and validates.
func (o Options) resolve() (Options, error) {
	if o.Sizes == nil {
		o.Sizes = FullSizes
		if o.Quick {
			o.Sizes = QuickSizes
		}
	}
	if o.Reps == 0 {
		o.Reps = 15
		if o.Quick {
			o.Reps = 7
		}
	}
	if o.Rounds == 0 {
		o.Rounds = 3
	}
	if o.MinSample == 0 {
		o.MinSample = 20 * time.Millisecond
		if o.Quick {
			o.MinSample = 10 * time.Millisecond
		}
	}
	if o.Rows == nil {
		o.Rows = Rows
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	switch {
	case len(o.Sizes) == 0:
		return o, fmt.Errorf("bench: no sizes")
	case o.Reps < 1:
		return o, fmt.Errorf("bench: %d repetitions: want at least 1", o.Reps)
	case o.Rounds < 1:
		return o, fmt.Errorf("bench: %d rounds: want at least 1", o.Rounds)
	case o.MinSample < 0:
		return o, fmt.Errorf("bench: minimum sample %v: want ≥ 0", o.MinSample)
	case len(o.Rows) == 0:
		return o, fmt.Errorf("bench: no rows")
	}
	if err := o.Clock.check(); err != nil {
		return o, err
	}
	for _, n := range o.Sizes {
		if n < 1 {
			return o, fmt.Errorf("bench: size %d: want at least 1 row", n)
		}
	}
	for _, r := range o.Rows {
		if !slices.Contains(Rows, r) {
			return o, fmt.Errorf("bench: row %d: the rows are 1 to %d", r, len(Rows))
		}
	}
	return o, nil
}

// Targets of the rows that have one (ratios as named in the results).
var (
	targetNative = &Target{AtLeast, 2}   // row 1: native time / ours
	targetCopy   = &Target{AtLeast, 0.3} // row 1: copy time / ours = ours' elements/s over the copy's
	targetTensor = &Target{AtMost, 1.5}  // row 2: ours / native
	targetFlat   = &Target{AtMost, 2}    // row 4: selection ns/element over its lowest across N
	targetStep   = &Target{AtMost, 1.03} // row 5: detector step sasl / smoothl1
	targetTwin   = &Target{AtLeast, 1}   // rows 6–7: PyTorch twin's step time / ours
)

// Run measures the table (see the package documentation) and returns it. It sets libtorch's
// intra-op threads to 1 for its duration and restores them after. A cancelled ctx stops it
// between samples with ctx's error.
func Run(ctx context.Context, o Options) (*Report, error) {
	o, err := o.resolve()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	prev, err := tt.NumThreads()
	if err != nil {
		return nil, err
	}
	if err := tt.SetNumThreads(1); err != nil {
		return nil, err
	}
	defer tt.SetNumThreads(prev)
	rep := &Report{Machine: machine(1, prev), Quick: o.Quick, Reps: o.Reps, Rounds: o.Rounds, Clock: o.Clock}
	fmt.Fprintf(o.Progress, "bench: %s\n", rep.Machine)
	r := runner{ctx: ctx, o: o, sp: sampling{reps: o.Reps, rounds: o.Rounds, warmup: 2, minSample: o.MinSample, clock: o.Clock}}
	rows := slices.Sorted(slices.Values(o.Rows))
	rows = slices.Compact(rows)
	for _, row := range rows {
		var res []Result
		var err error
		switch row {
		case 1:
			res, err = r.row1()
		case 2:
			res, err = r.rows23(2)
		case 3:
			res, err = r.rows23(3)
		case 4:
			res, err = r.row4()
		case 5:
			res, err = r.row5()
		case 6:
			res, err = r.twinRow(6, "regression training step: pytorch / ours (time)", regressBatch, 1, false, trainArgsRegress,
				&e2eRun{recipe.Regress, trainSteps}, func(dir string) ([]Case, string, func(), error) {
					return twinCases(dir, "regress.py", o.Clock, regressSide)
				})
		case 7:
			res, err = r.twinRow(7, "detector training step: pytorch / ours (time)", twinDetectorBatch, 1, true, trainArgsDetector,
				&e2eRun{recipe.Detect, detectorTrainSteps}, func(dir string) ([]Case, string, func(), error) {
					return twinCases(dir, "detector.py", o.Clock, detectorSide)
				})
		case 8:
			res, err = r.row8()
		}
		if err != nil {
			return nil, fmt.Errorf("bench: row %d: %w", row, err)
		}
		rep.Results = append(rep.Results, res...)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

type runner struct {
	ctx context.Context
	o   Options
	sp  sampling
	// loss keeps the measurements of rows 2 and 3 (one interleaved set of three cases) by
	// size, so that asking for both measures them once.
	loss map[int]measured
}

// measured is one measurement: seconds per operation by case name and repetition.
type measured map[string][]float64

// timed builds the cases with setup and measures them, on the torch thread.
func (r *runner) timed(label string, setup func() ([]Case, func(), error)) (measured, error) {
	fmt.Fprintf(r.o.Progress, "bench: %s ...\n", label)
	runtime.GC() // the previous size's data goes before timing starts
	m := measured{}
	err := tt.Do(func() error {
		cases, free, err := setup()
		if err != nil {
			return err
		}
		if free != nil {
			defer free()
		}
		for i, c := range cases {
			if slices.ContainsFunc(cases[:i], func(d Case) bool { return d.Name == c.Name }) {
				return fmt.Errorf("two cases named %q", c.Name) // their times would mix
			}
		}
		secs, err := measure(r.ctx, r.sp, cases)
		for i, c := range cases[:len(secs)] {
			m[c.Name] = secs[i]
		}
		return err
	})
	return m, err
}

// ratio returns the Result of case num over case den of m, with units of unit in one
// operation.
func (r *runner) ratio(row int, name string, n int, unit string, units float64, m measured, num, den string, target *Target) Result {
	res := newResult(row, name, n, unit, ratios(m[num], m[den]), side(num, m[num], units), side(den, m[den], units), target)
	r.report(res)
	return res
}

func (r *runner) report(res Result) {
	verdict := "no target"
	if res.Target != nil {
		verdict = res.Target.String() + ": missed"
		if *res.Met {
			verdict = res.Target.String() + ": met"
		}
	}
	fmt.Fprintf(r.o.Progress, "bench: row %d %s N=%s: %s [%s, %s] (%s)\n", res.Row, res.Name, fmtN(res.N, res.Unit),
		fmtRatio(res.RatioMedian), fmtRatio(res.RatioMin), fmtRatio(res.RatioMax), verdict)
}

func (r *runner) row1() ([]Result, error) {
	var out []Result
	for _, n := range r.o.Sizes {
		m, err := r.timed(fmt.Sprintf("row 1 N=%s", fmtN(n, "")), func() ([]Case, func(), error) { return stepCases(n) })
		if err != nil {
			return nil, err
		}
		units := float64(D * n)
		out = append(out,
			r.ratio(1, "fused SASL step: native / ours (time)", n, "elements", units, m, caseNative, caseOurs, targetNative),
			r.ratio(1, "fused SASL step: copy / ours (time) = ours ÷ copy elements/s", n, "elements", units, m, caseCopy, caseOurs, targetCopy))
	}
	return out, nil
}

// rows23 returns row 2 or row 3; the two share one measurement per size.
func (r *runner) rows23(row int) ([]Result, error) {
	var out []Result
	for _, n := range r.o.Sizes {
		m, ok := r.loss[n]
		if !ok {
			var err error
			m, err = r.timed(fmt.Sprintf("rows 2–3 N=%s", fmtN(n, "")), func() ([]Case, func(), error) { return lossCases(n) })
			if err != nil {
				return nil, err
			}
			if r.loss == nil {
				r.loss = map[int]measured{}
			}
			r.loss[n] = m
		}
		units := float64(D * n)
		if row == 2 {
			out = append(out, r.ratio(2, "tensor dynamic loss: ours / native (time)", n, "elements", units, m, caseOurs, caseNative, targetTensor))
			continue
		}
		out = append(out,
			r.ratio(3, "published RetinaMask: retinamask / ours (time)", n, "elements", units, m, caseRetinaMask, caseOurs, nil),
			r.ratio(3, "published RetinaMask: retinamask / native (time)", n, "elements", units, m, caseRetinaMask, caseNative, nil))
	}
	return out, nil
}

func (r *runner) row4() ([]Result, error) {
	var out []Result
	sel := make([][]float64, len(r.o.Sizes)) // selection's seconds per element, by size
	for i, n := range r.o.Sizes {
		m, err := r.timed(fmt.Sprintf("row 4 N=%s", fmtN(n, "")), func() ([]Case, func(), error) {
			cases, err := dslCases(n)
			return cases, nil, err
		})
		if err != nil {
			return nil, err
		}
		units := float64(D * n)
		out = append(out, r.ratio(4, "DSL update: selection / sort (time)", n, "elements", units, m, caseSelection, caseSort, nil))
		sel[i] = scaled(m[caseSelection], units)
	}
	// Linear scaling: selection's cost per element at each N over its lowest median.
	lo := 0
	for i := range sel {
		if spread(sel[i]).Median < spread(sel[lo]).Median {
			lo = i
		}
	}
	best, nlo := spread(sel[lo]).Median, r.o.Sizes[lo]
	for i, n := range r.o.Sizes {
		res := newResult(4, "DSL selection: ns/element ÷ lowest over N", n, "elements", scaled(sel[i], best),
			side(caseSelection+" N="+fmtN(n, ""), sel[i], 1), side(caseSelection+" N="+fmtN(nlo, ""), sel[lo], 1), targetFlat)
		res.Note = fmt.Sprintf("selection %.3g ns/element; lowest %.3g at N=%s (sizes are timed one after another; the sides' seconds are per element)",
			spread(sel[i]).Median*1e9, best*1e9, fmtN(nlo, ""))
		r.report(res)
		out = append(out, res)
	}
	return out, nil
}

// row5 returns the detector step's ratio measured directly and derived from the box loss's
// own cost (see the package documentation).
func (r *runner) row5() ([]Result, error) {
	dir, err := os.MkdirTemp("", "smoothl1-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var positives int
	steps, err := r.timed("row 5 (detector step)", func() ([]Case, func(), error) {
		cases, pos, free, err := detectorCases(dir)
		return cases, func() {
			if pos != nil {
				positives = pos()
			}
			if free != nil {
				free()
			}
		}, err
	})
	if err != nil {
		return nil, err
	}
	if positives < 1 {
		return nil, fmt.Errorf("the detector steps had no positive anchor")
	}
	losses, err := r.timed(fmt.Sprintf("row 5 (box loss alone, %d rows)", positives), func() ([]Case, func(), error) {
		return boxLossCases(positives)
	})
	if err != nil {
		return nil, err
	}
	direct := r.ratio(5, "detector step: sasl / smoothl1:beta=0.11 (time)", detectorBatch, "images", detectorBatch,
		steps, specSASL, specSmoothL1, targetStep)
	// The steps differ only in the box loss: step(sasl) = step(smoothl1) + Δ, with Δ the
	// difference of the box losses' own costs, timed interleaved at the steps' shape.
	step := spread(steps[specSmoothL1]).Median
	derived := make([]float64, len(losses[specSASL]))
	withSASL := make([]float64, len(derived))
	for i := range derived {
		delta := losses[specSASL][i] - losses[specSmoothL1][i]
		derived[i] = 1 + delta/step
		withSASL[i] = step + delta
	}
	res := newResult(5, "detector step: (smoothl1 step + Δ box loss) / smoothl1 step (time)", detectorBatch, "images", derived,
		side(specSASL+" (derived)", withSASL, detectorBatch), side(specSmoothL1, steps[specSmoothL1], detectorBatch), targetStep)
	res.Note = fmt.Sprintf("box loss forward+backward at the steps' median %d positives: sasl %.0f µs, smoothl1 %.0f µs; smoothl1 step %.0f ms",
		positives, spread(losses[specSASL]).Median*1e6, spread(losses[specSmoothL1]).Median*1e6, step*1e3)
	r.report(res)
	return []Result{direct, res}, nil
}
