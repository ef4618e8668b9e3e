package bench

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/regress"
	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
	"github.com/smoothl1/smoothl1/trainer"
)

// Row 6's setting: `smoothl1 train --task regress --loss smoothl1:beta=0.11` with its defaults
// (recipe: batch 256, lr 2e-3, weight decay 1e-4, clip at norm 10, heavy noise).
const (
	regressBatch       = 256
	regressLR          = 2e-3
	regressWeightDecay = 1e-4
	regressClip        = 10
	regressBeta        = 0.11
	regressSeed        = 1
)

// Row 6's cases.
const (
	caseOursStep  = "ours"
	caseTorchStep = "pytorch"
)

// namedParams returns the VarStore's trainable variables sorted by name.
func namedParams(vs *nn.VarStore) (names []string, params []*ts.Tensor) {
	vars := vs.Variables()
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		v := vars[name]
		if tt.Must(v.RequiresGrad()) {
			names, params = append(names, name), append(params, &v)
		}
	}
	return names, params
}

// tensorArray copies t (float32) into an Array named name.
func tensorArray(name string, t *ts.Tensor) Array {
	shape := tt.Must(t.Size())
	n, err := elements(shape)
	tt.Check(err)
	a := Array{Name: name, Shape: shape, Data: make([]float32, n)}
	tt.Check(tt.CopyTo(a.Data, t))
	return a
}

// regressCases are row 6's cases: one training step of package regress's task (zero the
// gradients, forward on the batch of step 0, smoothl1:beta=0.11 mean, the loss read to the
// host, backward, clip at norm 10, AdamW) in Go, and the same step in the PyTorch twin
// bench/twins/regress.py, started on the Go side's initial weights and batch written to dir.
// Before returning, both sides run one step and are checked (twinCheck); a mismatch is
// returned as an error with the check's description. Call it, the cases and free inside
// torchthread.Do.
func regressCases(dir string, clock Clock) (cases []Case, check string, free func(), err error) {
	task, err := regress.New(regressSeed, regress.NoiseHeavy, regressBatch)
	if err != nil {
		return nil, "", nil, err
	}
	tt.Check(tt.ManualSeed(int64(regressSeed)))
	vs := nn.NewVarStore(gotch.CPU)
	var frees []func()
	free = func() {
		for _, f := range slices.Backward(frees) {
			f()
		}
	}
	frees = append(frees, vs.Destroy)
	fail := func(err error) ([]Case, string, func(), error) {
		free()
		return nil, "", nil, err
	}
	if err := task.Build(vs.Root()); err != nil {
		return fail(err)
	}
	names, params := namedParams(vs)
	opt, err := trainer.NewOptimizer(trainer.OptimizerConfig{Kind: trainer.AdamW, WeightDecay: regressWeightDecay}, names, params)
	if err != nil {
		return fail(err)
	}
	loss, err := tensorloss.FromSpec(specSmoothL1, D, static.Mean)
	if err != nil {
		return fail(err)
	}
	xs, ys := task.Batch(0)
	x := tt.Must(tt.FromSlice(xs, regressBatch, int64(len(xs)/regressBatch)))
	y := tt.Must(tt.FromSlice(ys, regressBatch, D))
	frees = append(frees, func() { x.MustDrop(); y.MustDrop() })

	// The exchange file: the initial weights, then the batch.
	var arrays []Array
	var ours twinHello
	for i, p := range params {
		a := tensorArray(names[i], p)
		ours.Params += int64(len(a.Data))
		arrays = append(arrays, a)
	}
	arrays = append(arrays, Array{Name: "x", Shape: tt.Must(x.Size()), Data: xs}, Array{Name: "y", Shape: tt.Must(y.Size()), Data: ys})
	file := filepath.Join(dir, "regress.twin")
	meta := map[string]any{"threads": 1, "lr": regressLR, "weight_decay": regressWeightDecay, "beta": regressBeta, "clip": regressClip}
	if err := WriteArrays(file, meta, arrays); err != nil {
		return fail(err)
	}

	var last float64
	step := func() error {
		if err := opt.ZeroGrad(); err != nil {
			return err
		}
		pred := task.Forward(x)
		l, err := loss.Forward(pred, y, nil)
		pred.MustDrop()
		if err != nil {
			return err
		}
		defer l.MustDrop()
		if last, err = tt.Item(l); err != nil { // the trainer reads every step's loss
			return err
		}
		if err := l.Backward(); err != nil {
			return err
		}
		if _, err := opt.ClipGradNorm(regressClip); err != nil {
			return err
		}
		return opt.Step(regressLR)
	}
	if err := step(); err != nil {
		return fail(err)
	}
	ours.Loss0 = last
	err = tt.NoGrad(func() error {
		pred := task.Forward(x)
		defer pred.MustDrop()
		l, err := loss.Forward(pred, y, nil)
		if err != nil {
			return err
		}
		defer l.MustDrop()
		ours.Loss1, err = tt.Item(l)
		return err
	})
	if err != nil {
		return fail(err)
	}

	twin, err := startTwin(dir, "regress.py", file, clock)
	if err != nil {
		return fail(err)
	}
	frees = append(frees, func() { twin.close() })
	check, err = twinCheck(ours, twin.hello)
	if err != nil {
		free()
		return nil, check, nil, err
	}
	cases = []Case{
		{Name: caseTorchStep, Sample: twin.run},
		{Name: caseOursStep, Op: step},
	}
	return cases, check, free, nil
}

// twinRow measures a row against a PyTorch twin: skipped without python3-torch, a failed line
// when the twin does not match, else the ratio PyTorch / ours (time) with target ≥ 1.
func (r *runner) twinRow(row int, name string, n int, units float64, setup func(dir string) ([]Case, string, func(), error)) (Result, error) {
	fail := func(status, note string) Result {
		res := newResult(row, name, n, "steps", nil, Side{Case: caseTorchStep}, Side{Case: caseOursStep}, targetTwin)
		res.Status, res.Note = status, note
		fmt.Fprintf(r.o.Progress, "bench: row %d %s: %s\n", row, name, status)
		return res
	}
	if !HaveTorch() {
		return fail(errNoTorch.Error(), ""), nil
	}
	dir, err := os.MkdirTemp("", "smoothl1-twin-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	var check string
	var mismatch error
	m, err := r.timed(fmt.Sprintf("row %d (%s)", row, name), func() ([]Case, func(), error) {
		cases, c, free, err := setup(dir)
		check = c
		if err != nil && c != "" { // the twin ran and does not match: a failed line, not an abort
			mismatch = err
			return nil, nil, nil
		}
		return cases, free, err
	})
	if err != nil {
		return Result{}, err
	}
	if mismatch != nil {
		return fail("FAILED: "+mismatch.Error(), check), nil
	}
	res := r.ratio(row, name, n, "steps", units, m, caseTorchStep, caseOursStep, targetTwin)
	res.Note = check
	return res, nil
}
