package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/recipe"
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
	// Row 7's twin also steps on the targets Go computed once (no data path, no matching).
	caseTorchGiven = "pytorch, targets given"
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

// goSide is the Go half of a twin row: its step, the hello it would answer (parameter count,
// loss at step 0 and after one step, already run), and the exchange file for the twin.
type goSide struct {
	hello twinHello
	file  string
	step  func() error
	free  func()
}

// regressSide prepares row 6's Go half: package regress's task with the seed's initial
// weights, the batch of step 0, one training step (zero the gradients, forward, smoothl1:beta=0.11
// mean, the loss read to the host, backward, clip at norm 10, AdamW); it writes the initial
// weights and the batch to dir/regress.twin, then runs one step and the loss after it. Call
// it, step and free inside torchthread.Do.
func regressSide(dir string) (*goSide, error) {
	task, err := regress.New(regressSeed, regress.NoiseHeavy, regressBatch)
	if err != nil {
		return nil, err
	}
	tt.Check(tt.ManualSeed(int64(regressSeed)))
	vs := nn.NewVarStore(gotch.CPU)
	var frees []func()
	free := func() {
		for _, f := range slices.Backward(frees) {
			f()
		}
	}
	frees = append(frees, vs.Destroy)
	fail := func(err error) (*goSide, error) {
		free()
		return nil, err
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
	g := &goSide{file: filepath.Join(dir, "regress.twin"), free: free}
	var arrays []Array
	for i, p := range params {
		a := tensorArray(names[i], p)
		g.hello.Params += int64(len(a.Data))
		arrays = append(arrays, a)
	}
	arrays = append(arrays, Array{Name: "x", Shape: tt.Must(x.Size()), Data: xs}, Array{Name: "y", Shape: tt.Must(y.Size()), Data: ys})
	meta := map[string]any{"threads": 1, "lr": regressLR, "weight_decay": regressWeightDecay, "beta": regressBeta, "clip": regressClip}
	if err := WriteArrays(g.file, meta, arrays); err != nil {
		return fail(err)
	}

	forward := func() (*ts.Tensor, error) {
		pred := task.Forward(x)
		defer pred.MustDrop()
		return loss.Forward(pred, y, nil)
	}
	if err := g.trainAndCheck(opt, forward, regressLR); err != nil {
		return fail(err)
	}
	return g, nil
}

// trainAndCheck makes g.step one training step as trainer.Run takes it (zero the gradients,
// forward, read the loss, backward, clip at regressClip, AdamW at lr), runs it once and
// records its loss as g.hello.Loss0, then the loss after that update (no gradients) as
// Loss1: what the twin must reproduce before anything is timed. forward returns the step's
// loss (the caller's batch); the caller drops nothing.
func (g *goSide) trainAndCheck(opt *trainer.Optimizer, forward func() (*ts.Tensor, error), lr float64) error {
	var last float64
	g.step = func() error {
		if err := opt.ZeroGrad(); err != nil {
			return err
		}
		l, err := forward()
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
		return opt.Step(lr)
	}
	if err := g.step(); err != nil {
		return err
	}
	g.hello.Loss0 = last
	return tt.NoGrad(func() error {
		l, err := forward()
		if err != nil {
			return err
		}
		defer l.MustDrop()
		g.hello.Loss1, err = tt.Item(l)
		return err
	})
}

// twinCases starts the twin script on the Go side's exchange file and checks it (twinCheck)
// before returning the cases, the twin's and ours, in this order. A mismatch is returned as
// an error with the check's description (check is empty for any other error). free ends the
// twin and frees the Go side. Call it, the cases and free inside torchthread.Do.
func twinCases(dir, script string, clock Clock, side func(dir string) (*goSide, error)) (cases []Case, check string, free func(), err error) {
	g, err := side(dir)
	if err != nil {
		return nil, "", nil, err
	}
	twin, err := startTwin(dir, script, g.file, clock)
	if err != nil {
		g.free()
		return nil, "", nil, err
	}
	free = func() {
		twin.close()
		g.free()
	}
	check, err = twinCheck(g.hello, twin.hello)
	if err != nil {
		free()
		return nil, check, nil, err
	}
	cases = []Case{{Name: caseTorchStep, Sample: twin.run, PeakRSS: twin.peakRSS}, {Name: caseOursStep, Op: g.step}}
	if g.hello.Targets != nil {
		cases = append(cases, Case{Name: caseTorchGiven, Sample: twin.runMode("given")})
	}
	return cases, check, free, nil
}

// Rows 6 and 7's end-to-end cases: a `smoothl1 train` run of a few steps, and as many bare
// steps of the twin.
const (
	trainSteps     = 200 // row 6
	caseTrainOurs  = "smoothl1 train"
	caseTrainTorch = "pytorch bare steps"
)

// detectorTrainSteps is row 7's (a variable for the tests).
var detectorTrainSteps int64 = 20

// trainCases are a row's end-to-end cases: twin runs steps bare steps of the twin (its
// Sample), and ours a whole `smoothl1 train --task TASK --loss smoothl1:beta=0.11 --steps
// STEPS` run through recipe.Run in a fresh folder under dir (the task's defaults, seed 1:
// building the task and model, every batch drawn or loaded, the final evaluation (and the
// initial one where the task has it), metrics.jsonl, the final checkpoint, log lines to a
// discarded logger), with libtorch's threads left as the table set them. A task that reads
// a dataset reads its default one from dir/default-data, generated before (as a user trains on a
// dataset that exists).
func trainCases(dir, task string, steps int64, twin func(int) (float64, error)) ([]Case, error) {
	data := filepath.Join(dir, "default-data") // dir/data may hold the twin's own
	if k, err := recipe.Lookup(task); err != nil {
		return nil, err
	} else if k.Reads.Data {
		if err := k.Prepare(data, nil); err != nil {
			return nil, err
		}
	}
	var runs int
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	return []Case{
		{Name: caseTrainTorch, Sample: func(iters int) (float64, error) { return twin(iters * int(steps)) }},
		{Name: caseTrainOurs, Op: func() error {
			runs++
			out := filepath.Join(dir, "train", strconv.Itoa(runs))
			defer os.RemoveAll(out)
			spec := recipe.Spec{Task: task, Loss: specSmoothL1, Seed: regressSeed, Settings: recipe.Settings{Steps: steps}}
			_, err := recipe.Run(context.Background(), spec, recipe.Options{Dir: out, DataDir: data, Logger: logger, Progress: io.Discard})
			return err
		}},
	}, nil
}

// e2eRun is the `smoothl1 train` run of a twin row's end-to-end line: its task and steps.
type e2eRun struct {
	task  string
	steps int64
}

// twinRow measures a row against a PyTorch twin: skipped without python3-torch (or, with
// vision, python3-torchvision), a failed line
// when the twin does not match, else the ratio PyTorch / ours (time) with target ≥ 1; and
// with e2e, the end-to-end line of that run (trainCases, timed with the step's cases).
//
// train, when Options.Executable is set, are the `smoothl1 train` arguments of the row's task: one
// such run in a child process gives ours' peak resident memory, reported with the twin's
// (Result.PeakRSS).
func (r *runner) twinRow(row int, name string, n int, units float64, vision bool, train []string, e2e *e2eRun, setup func(dir string) ([]Case, string, func(), error)) ([]Result, error) {
	fail := func(status, note string) Result {
		res := newResult(row, name, n, "steps", nil, Side{Case: caseTorchStep}, Side{Case: caseOursStep}, targetTwin)
		res.Status, res.Note = status, note
		fmt.Fprintf(r.o.Progress, "bench: row %d %s: %s\n", row, name, status)
		return res
	}
	if !HaveTorch() {
		return []Result{fail(errNoTorch.Error(), "")}, nil
	}
	if vision && !HaveTorchvision() {
		return []Result{fail(errNoTorchvision.Error(), "")}, nil
	}
	dir, err := os.MkdirTemp("", "smoothl1-twin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var check string
	var mismatch error
	var twinRSS func() (int64, bool)
	m, err := r.timed(fmt.Sprintf("row %d (%s)", row, name), func() ([]Case, func(), error) {
		cases, c, free, err := setup(dir)
		check = c
		for _, c := range cases {
			if c.PeakRSS != nil {
				twinRSS = c.PeakRSS
			}
		}
		if err != nil && c != "" { // the twin ran and does not match: a failed line, not an abort
			mismatch = err
			return nil, nil, nil
		}
		if err != nil || e2e == nil {
			return cases, free, err
		}
		more, err := trainCases(dir, e2e.task, e2e.steps, cases[0].Sample)
		if err != nil {
			free()
			return nil, nil, err
		}
		return append(cases, more...), free, nil
	})
	if err != nil {
		return nil, err
	}
	if mismatch != nil {
		return []Result{fail("FAILED: "+mismatch.Error(), check)}, nil
	}
	res := r.ratio(row, name, n, "steps", units, m, caseTorchStep, caseOursStep, targetTwin)
	res.Note = check
	if r.o.Executable != "" && twinRSS != nil {
		if res.PeakRSS, err = r.peakRSS(row, train, twinRSS); err != nil {
			return nil, err
		}
	}
	out := []Result{res}
	if _, ok := m[caseTorchGiven]; ok {
		step, _, _ := strings.Cut(name, ":") // "detector training step"
		line := r.ratio(row, step+": pytorch with the targets given / ours (time)", n, "steps", units, m, caseTorchGiven, caseOursStep, nil)
		line.Note = "the twin's step on the batch and targets ours computed once: without the data path and the matching that both steps above do every step; no target"
		out = append(out, line)
	}
	if e2e != nil {
		line := r.ratio(row, "end to end: pytorch bare steps / smoothl1 train (time)", n, "steps", float64(e2e.steps), m, caseTrainTorch, caseTrainOurs, nil)
		line.Note = fmt.Sprintf("one operation is %d steps: a whole `smoothl1 train --steps %d` run (setup, data, metrics, evaluation, final checkpoint) against %[1]d bare steps of the twin; no target (the twin has no metrics, evaluation or checkpoints, nor a data path in row 6)", e2e.steps, e2e.steps)
		out = append(out, line)
	}
	return out, nil
}

// peakRSS runs `smoothl1 train` with args (Options.Executable train, then args, then --out in a
// temporary folder) in a child process and returns its peak resident memory beside the
// twin's, which has ended.
func (r *runner) peakRSS(row int, args []string, twin func() (int64, bool)) (*PeakRSS, error) {
	theirs, ok := twin()
	if !ok {
		return nil, fmt.Errorf("row %d: the twin's peak RSS is not known (it has not ended)", row)
	}
	out, err := os.MkdirTemp("", "smoothl1-rss-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	argv := append(append([]string{"train"}, args...), "--out", filepath.Join(out, "run"))
	fmt.Fprintf(r.o.Progress, "bench: row %d peak RSS: %s %s\n", row, filepath.Base(r.o.Executable), strings.Join(argv, " "))
	cmd := exec.CommandContext(r.ctx, r.o.Executable, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("row %d peak RSS: %s: %w; its stderr: %s", row, strings.Join(cmd.Args, " "), err, lastLines(stderr.String(), 5))
	}
	// The run's own peak (final.json's peak_rss_bytes, VmHWM): a child's ru_maxrss would count
	// this process's memory, which Linux folds into it between fork and exec.
	b, err := os.ReadFile(filepath.Join(out, "run", recipe.FinalFile))
	if err != nil {
		return nil, fmt.Errorf("row %d peak RSS: %w", row, err)
	}
	var final struct {
		Peak int64 `json:"peak_rss_bytes"`
	}
	if err := json.Unmarshal(b, &final); err != nil || final.Peak <= 0 {
		return nil, fmt.Errorf("row %d peak RSS: %s has no peak_rss_bytes (%v)", row, recipe.FinalFile, err)
	}
	ours := final.Peak
	return &PeakRSS{OursBytes: ours, OursRun: "smoothl1 train " + strings.Join(args, " "),
		PyTorchBytes: theirs, PyTorchRun: "the PyTorch twin's process after the row's timed steps"}, nil
}
