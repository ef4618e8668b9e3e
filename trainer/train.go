package trainer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/distributed"
	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// Task is what Run trains. Its methods run on the torch thread.
type Task interface {
	// Build creates the model's variables under root. Run seeds libtorch first, so the
	// initial weights are a function of the run's seed.
	Build(root *nn.Path) error
	// StepLoss returns the training loss of step s (counting from 0), a scalar tensor the
	// caller backpropagates and drops, and named scalar parts to log. The batch of a step must
	// be a deterministic function of s and the task's own seed: that is what makes the data
	// position of a run its step, and a resumed run equal to an uninterrupted one. boxLoss is
	// the regression loss under study.
	StepLoss(s int64, boxLoss tensorloss.Loss) (*ts.Tensor, map[string]float64, error)
}

// Evaluator is a Task that can measure its model on held-out data; Run calls it at the end of
// a completed run (and before the first step when Config.EvalInitial is set).
type Evaluator interface {
	Evaluate() (map[string]float64, error)
}

// Config configures Run. Zero fields take the defaults named.
type Config struct {
	Dir             string          // output folder: metrics.jsonl and checkpoint files
	Steps           int64           // total steps > 0 (a resumed run continues to Steps)
	Seed            uint64          // seeds libtorch before Build
	Optimizer       OptimizerConfig // the update rule
	Schedule        Schedule        // the learning rate per step
	ClipNorm        float64         // clip gradients to this global L2 norm; 0: no clipping
	CheckpointEvery int64           // steps between checkpoints; 0 means 500 (and one at the end)
	MaxNonFinite    int             // consecutive non-finite losses that stop the run; 0 means 10
	LogEvery        int64           // steps between log lines when not on a terminal; 0: Steps/20
	Resume          bool            // continue from Dir's checkpoint (from step 0 if it has none) instead of starting fresh
	EvalInitial     bool            // also evaluate the untrained model (fresh runs of an Evaluator)
	// Identity describes the run (task, loss spec, seed, hyper-parameters) as JSON. It is saved
	// in every checkpoint, and a resume whose Identity differs is refused.
	Identity json.RawMessage
	Logger   *slog.Logger // nil: slog.Default()
	Progress io.Writer    // where the progress bar goes when it is a terminal; nil: os.Stderr
	// OnStep, when set, is called after each step's metrics are written, outside the torch
	// thread (a memory sampler, a custom logger).
	OnStep func(StepMetrics)
	// Group, when it has more than one rank, makes this process one rank of a data-parallel
	// run (see the package documentation): the task must be a ShardedTask. nil or a group of
	// one: a run of one process.
	Group *distributed.Group
}

// Result summarises a run.
type Result struct {
	Steps       int64   // steps completed, in all sessions of the run
	ResumedFrom int64   // step the run resumed from (0 for a fresh run)
	LastLoss    float64 // loss of the last step
	Seconds     float64 // wall time of this session's training
	// Eval holds the Evaluator's metrics after the last step; InitialEval those of the
	// untrained model when Config.EvalInitial is set on a fresh run.
	Eval, InitialEval map[string]float64
	EvalSeconds       float64 // wall time of the final evaluation
}

// Files of a run folder.
const (
	MetricsFile    = "metrics.jsonl"
	CheckpointFile = "checkpoint.ckpt"
	PrevCheckpoint = "checkpoint.prev.ckpt"
)

var (
	// ErrDiverged is returned when the loss was not finite for MaxNonFinite consecutive steps.
	ErrDiverged = errors.New("trainer: loss diverged")
	// ErrRunExists is returned by a fresh run into a folder that already holds one.
	ErrRunExists = errors.New("trainer: the folder already holds a run")
	// ErrIdentity is returned by a resume whose configuration differs from the checkpoint's.
	ErrIdentity = errors.New("trainer: resume with a different configuration")
)

// StepMetrics is one line of metrics.jsonl.
type StepMetrics struct {
	Step        int64              `json:"step"`            // steps completed (1 for the first)
	Loss        *float64           `json:"loss"`            // null when not finite
	Beta        []float64          `json:"beta"`            // β per column used by this step's loss ([] if none)
	LR          float64            `json:"lr"`              // learning rate applied
	Seconds     float64            `json:"seconds"`         // wall time since this session started
	GradNorm    *float64           `json:"grad_norm"`       // global gradient norm before clipping; null if skipped
	SkippedRows int64              `json:"skipped_rows"`    // rows the scheduler excluded so far (NaN/Inf)
	Parts       map[string]float64 `json:"parts,omitempty"` // task-defined finite scalars
	// CommSeconds is the wall time rank 0 spent in this step's collectives (the summaries'
	// and the normalisers' all-gathers, the step report's, the gradients' all-reduce), waiting
	// for the other ranks included; absent in a run of one process.
	CommSeconds *float64 `json:"comm_seconds,omitempty"`
}

// run is the state of one training session.
type run struct {
	cfg     Config
	task    Task
	loss    tensorloss.Loss
	vs      *nn.VarStore
	names   []string     // model variable names, sorted
	vars    []*ts.Tensor // in names' order
	opt     *Optimizer
	metrics *os.File
	mw      *bufio.Writer
	log     *slog.Logger
	bar     *progress
	start   time.Time
	step    int64     // steps completed
	bad     int       // consecutive non-finite losses
	par     *parallel // nil in a run of one process
}

// lead reports whether this process writes the run folder and evaluates: the only process of
// a run, or rank 0 of a data-parallel one.
func (r *run) lead() bool { return r.par == nil || r.par.rank == 0 }

// worldSize is the number of ranks of the run (1 for one process).
func (r *run) worldSize() int {
	if r.par == nil {
		return 1
	}
	return r.par.world
}

// Run trains task with loss under cfg: it builds the model, restores Dir's checkpoint when
// cfg.Resume is set, then for each step computes the loss, backpropagates, clips, updates,
// appends a line to metrics.jsonl, and writes a checkpoint every CheckpointEvery steps and at
// the end. A cancelled ctx writes a checkpoint of the steps completed and returns ctx's error.
// A loss that is not finite skips that step's update; MaxNonFinite of them in a row stop the
// run with ErrDiverged, keeping the last checkpoint, which never holds a non-finite weight.
// With a Config.Group of several ranks, Run is one rank of a data-parallel run (see the
// package documentation); the Result of a rank other than 0 has no evaluation.
func Run(ctx context.Context, cfg Config, task Task, loss tensorloss.Loss) (res Result, err error) {
	r, err := newRun(cfg, task, loss)
	if err != nil {
		return res, err
	}
	defer r.close()
	cfg = r.cfg // resolved: zero fields hold their defaults from here on
	res.ResumedFrom = r.step
	ev, canEval := task.(Evaluator)
	canEval = canEval && r.lead()
	if canEval && cfg.EvalInitial && r.step == 0 {
		if res.InitialEval, err = ev.Evaluate(); err != nil {
			return res, fmt.Errorf("evaluating the untrained model: %w", err)
		}
	}
	r.start = time.Now()
	r.bar.begin(r.step, cfg.Steps)
	var last float64
	for r.step < cfg.Steps {
		if err := r.interrupted(ctx); err != nil {
			r.bar.end()
			if cerr := r.checkpoint(); cerr != nil {
				return res, errors.Join(err, cerr)
			}
			if r.lead() {
				r.log.Info("interrupted: checkpoint written", "step", r.step, "dir", cfg.Dir)
			}
			res.Steps = r.step
			return res, err
		}
		m, err := r.trainStep(ctx.Err() != nil)
		if err != nil {
			r.bar.end()
			return res, fmt.Errorf("step %d: %w", r.step+1, err)
		}
		if m.Loss != nil {
			last = *m.Loss
		} else {
			last = math.NaN()
		}
		if err := r.writeMetrics(m); err != nil {
			r.bar.end()
			return res, err
		}
		r.report(m)
		if cfg.OnStep != nil {
			cfg.OnStep(m)
		}
		if r.bad >= r.cfg.MaxNonFinite {
			r.bar.end()
			return res, fmt.Errorf("%w: not finite for %d consecutive steps (to step %d); the last checkpoint in %s is kept",
				ErrDiverged, r.bad, r.step, cfg.Dir)
		}
		if r.step%cfg.CheckpointEvery == 0 || r.step == cfg.Steps {
			if err := r.checkpoint(); err != nil {
				r.bar.end()
				return res, err
			}
		}
	}
	r.bar.end()
	res.Steps, res.LastLoss, res.Seconds = r.step, last, time.Since(r.start).Seconds()
	if canEval {
		t0 := time.Now()
		res.Eval, err = ev.Evaluate()
		res.EvalSeconds = time.Since(t0).Seconds()
		if err != nil {
			return res, fmt.Errorf("evaluating the trained model: %w", err)
		}
	}
	return res, nil
}

func (c Config) resolve() (Config, error) {
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 500
	}
	if c.MaxNonFinite == 0 {
		c.MaxNonFinite = 10
	}
	if c.LogEvery == 0 {
		c.LogEvery = max(1, c.Steps/20)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Progress == nil {
		c.Progress = os.Stderr
	}
	switch {
	case c.Dir == "":
		return c, errors.New("trainer: Config.Dir is empty")
	case c.Steps <= 0:
		return c, fmt.Errorf("trainer: steps %d: want > 0", c.Steps)
	case c.CheckpointEvery < 0:
		return c, fmt.Errorf("trainer: checkpoint every %d steps: want > 0", c.CheckpointEvery)
	case c.MaxNonFinite < 0:
		return c, fmt.Errorf("trainer: max non-finite steps %d: want > 0", c.MaxNonFinite)
	case !(c.ClipNorm >= 0) || math.IsInf(c.ClipNorm, 0):
		return c, fmt.Errorf("trainer: clip norm %v: want a finite value ≥ 0", c.ClipNorm)
	}
	if err := c.Schedule.Validate(); err != nil {
		return c, err
	}
	if len(c.Identity) == 0 {
		c.Identity = json.RawMessage("{}")
	}
	id, err := canonicalJSON(c.Identity)
	if err != nil {
		return c, fmt.Errorf("trainer: Config.Identity is not JSON: %w", err)
	}
	c.Identity = id
	return c, nil
}

// canonicalJSON returns b compacted, with <, >, &, U+2028 and U+2029 escaped: the bytes
// encoding/json writes for a json.RawMessage. Identities are compared in this form, so an
// identity written raw (`"a&b"`) equals the one its checkpoint holds (`"a\u0026b"`).
func canonicalJSON(b []byte) ([]byte, error) {
	var compact, escaped bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return nil, err
	}
	json.HTMLEscape(&escaped, compact.Bytes())
	return escaped.Bytes(), nil
}

// interrupted returns the error that stops the run before its next step, nil to go on: ctx's
// error in a run of one process; in a data-parallel one, the interruption of a rank that the
// ranks agreed on in the last step's report (so that every rank stops after the same step).
func (r *run) interrupted(ctx context.Context) error {
	if r.par == nil {
		return ctx.Err()
	}
	if r.par.stop == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("trainer: rank %d was interrupted: %w", r.par.stop-1, context.Canceled)
}

func newRun(cfg Config, task Task, loss tensorloss.Loss) (*run, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, task: task, loss: loss, log: cfg.Logger}
	if g := cfg.Group; g != nil && g.WorldSize() > 1 {
		r.par = &parallel{g: g, rank: g.Rank(), world: g.WorldSize()}
	}
	err = r.setup()
	if r.par != nil {
		err = r.par.start(r, err)
	}
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// setup builds the model and the optimizer and, on the lead process, restores the checkpoint
// and opens the metrics file.
func (r *run) setup() error {
	cfg, task := r.cfg, r.task
	if r.par != nil {
		if err := r.par.prepare(task, r.loss); err != nil {
			return err
		}
	}
	if r.lead() {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return err
		}
	}
	if !cfg.Resume && r.lead() {
		for _, f := range []string{CheckpointFile, PrevCheckpoint, MetricsFile} {
			if _, err := os.Stat(filepath.Join(cfg.Dir, f)); err == nil {
				return fmt.Errorf("%w: %s exists in %s (resume it, or train into another folder)", ErrRunExists, f, cfg.Dir)
			}
		}
	}
	err := tt.Do(func() error {
		tt.Check(tt.ManualSeed(int64(cfg.Seed)))
		r.vs = nn.NewVarStore(gotch.CPU)
		if err := task.Build(r.vs.Root()); err != nil {
			return err
		}
		r.names, r.vars = modelVars(r.vs)
		var trainNames []string
		var train []*ts.Tensor
		for i, v := range r.vars {
			if v.MustRequiresGrad() {
				trainNames = append(trainNames, r.names[i])
				train = append(train, v)
			}
		}
		var err error
		if r.opt, err = NewOptimizer(cfg.Optimizer, trainNames, train); err != nil {
			return err
		}
		if r.par != nil {
			return r.opt.primeGrads()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !r.lead() {
		r.bar = newProgress(io.Discard) // rank 0 shows the run's progress
		return nil
	}
	r.bar = newProgress(cfg.Progress)
	var metricsBytes int64
	if cfg.Resume {
		if metricsBytes, err = r.resume(); err != nil {
			return err
		}
	}
	mpath := filepath.Join(cfg.Dir, MetricsFile)
	f, err := os.OpenFile(mpath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	// Drop metrics written after the checkpoint: the resumed steps write them again.
	if err := f.Truncate(metricsBytes); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Seek(metricsBytes, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	r.metrics, r.mw = f, bufio.NewWriter(f)
	return nil
}

func (r *run) close() {
	if r.metrics != nil {
		r.mw.Flush()
		r.metrics.Close()
	}
	if r.opt != nil {
		r.opt.Close()
	}
	if r.vs != nil {
		tt.Do(func() error {
			r.vs.Destroy()
			return nil
		})
	}
}

// scheduler returns the β scheduler behind the loss, if any.
func (r *run) scheduler() dynamic.Scheduler {
	if d, ok := r.loss.(interface{ Scheduler() dynamic.Scheduler }); ok {
		return d.Scheduler()
	}
	return nil
}

// trainStep runs one step and returns its metrics. interrupted says whether this process was
// asked to stop (a data-parallel run tells the other ranks, to stop after this step).
func (r *run) trainStep(interrupted bool) (StepMetrics, error) {
	s := r.step
	lr := r.cfg.Schedule.LR(s, r.cfg.Steps)
	m := StepMetrics{Step: s + 1, LR: lr, Beta: []float64{}}
	betaOf, hasBeta := r.loss.(interface{ LastBeta() []float64 })
	err := tt.Do(func() error {
		if r.par != nil {
			r.par.comm = 0
		}
		tt.Check(r.opt.ZeroGrad())
		loss, parts, err := r.task.StepLoss(s, r.loss)
		if err != nil {
			return err
		}
		defer loss.MustDrop()
		v := tt.Must(tt.Item(loss))
		for k, p := range parts {
			if math.IsNaN(p) || math.IsInf(p, 0) {
				delete(parts, k)
			}
		}
		if r.par != nil {
			// The loss and parts of the whole batch, and one decision for every rank.
			rep := stepReport{Loss: v, Parts: parts, Beta: []float64{}, Interrupted: interrupted}
			if hasBeta {
				rep.Beta = append(rep.Beta, betaOf.LastBeta()...)
			}
			tot, err := r.par.agree(rep)
			if err != nil {
				return err
			}
			v, parts = tot.loss, tot.parts
		}
		m.Parts = parts
		if math.IsNaN(v) || math.IsInf(v, 0) {
			r.bad++
			return nil
		}
		r.bad = 0
		m.Loss = &v
		tt.Check(loss.Backward())
		if r.par != nil {
			// Before the clip, as DDP: the norm is the mean gradient's, the same on every rank.
			if err := r.opt.gradTensors(r.par.allReduceMean); err != nil {
				return err
			}
		}
		norm := tt.Must(r.opt.ClipGradNorm(r.cfg.ClipNorm))
		if math.IsNaN(norm) || math.IsInf(norm, 0) {
			// A finite loss with a non-finite gradient: skip the update as well.
			r.bad++
			return nil
		}
		m.GradNorm = &norm
		return r.opt.Step(lr)
	})
	if r.par != nil {
		comm := r.par.comm.Seconds()
		m.CommSeconds = &comm
	}
	if err != nil {
		return m, err
	}
	if hasBeta {
		m.Beta = append(m.Beta, betaOf.LastBeta()...)
	}
	if sch := r.scheduler(); sch != nil {
		m.SkippedRows = sch.Counts().SkippedRows
	}
	m.Seconds = time.Since(r.start).Seconds()
	r.step++
	return m, nil
}

func (r *run) writeMetrics(m StepMetrics) error {
	if !r.lead() {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("trainer: metrics of step %d: %w", m.Step, err)
	}
	r.mw.Write(b)
	return r.mw.WriteByte('\n')
}

func (r *run) report(m StepMetrics) {
	if !r.lead() {
		return
	}
	loss := math.NaN()
	if m.Loss != nil {
		loss = *m.Loss
	}
	if r.bar.active() {
		r.bar.update(r.step, loss, m.Beta)
		return
	}
	if r.step%r.cfg.LogEvery == 0 || r.step == r.cfg.Steps {
		now := time.Now()
		elapsed, eta := now.Sub(r.start), r.bar.eta(now, r.step)
		r.log.Info("train", "step", r.step, "of", r.cfg.Steps, "loss", loss, "beta", m.Beta, "lr", m.LR,
			"elapsed", elapsed.Round(time.Second), "eta", eta.Round(time.Second))
	}
}

// checkpoint writes the state after r.step steps, keeping the previous file as
// checkpoint.prev.ckpt. A state holding a non-finite weight or buffer is not written. Only
// the lead process writes: the ranks of a data-parallel run hold the same state.
func (r *run) checkpoint() error {
	if !r.lead() {
		return nil
	}
	if err := r.mw.Flush(); err != nil {
		return err
	}
	if err := r.metrics.Sync(); err != nil {
		return err
	}
	size, err := r.metrics.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	hdr := checkpointHeader{Step: r.step, Config: r.cfg.Identity, MetricsBytes: size,
		NonFiniteRun: r.bad, OptimizerSteps: r.opt.Steps()}
	if w := r.worldSize(); w > 1 {
		hdr.WorldSize = w
	}
	if sch := r.scheduler(); sch != nil {
		state, err := sch.State()
		if err != nil {
			return fmt.Errorf("trainer: checkpoint: scheduler state: %w", err)
		}
		hdr.Scheduler = state
	}
	var host []hostTensor
	err = tt.Do(func() error {
		for i, n := range r.names {
			h, err := toHost("model."+n, r.vars[i])
			if err != nil {
				return err
			}
			host = append(host, h)
		}
		names, bufs := r.opt.namedBuffers()
		for i, n := range names {
			h, err := toHost(n, bufs[i])
			if err != nil {
				return err
			}
			host = append(host, h)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, h := range host {
		if !h.finite() {
			r.log.Warn("checkpoint skipped: state holds a non-finite value", "tensor", h.name, "step", r.step)
			return nil
		}
	}
	cur := filepath.Join(r.cfg.Dir, CheckpointFile)
	if _, err := os.Stat(cur); err == nil {
		if err := os.Rename(cur, filepath.Join(r.cfg.Dir, PrevCheckpoint)); err != nil {
			return err
		}
	}
	return writeCheckpoint(cur, hdr, host)
}

// resume restores the newest usable checkpoint of the run folder and returns the metrics file
// length it recorded (0, starting from step 0, when the folder has no checkpoint: a run killed
// before its first one). A checkpoint.ckpt that fails verification (truncated, corrupted, another
// format version) is set aside as checkpoint.corrupt-<time>.ckpt, with a warning, and the run
// resumes from checkpoint.prev.ckpt; one of another configuration or model is refused. Stale
// temporary files of a writer killed mid-write are removed first.
func (r *run) resume() (int64, error) {
	dir := r.cfg.Dir
	if removed, err := atomicfile.RemoveTemps(dir); err != nil {
		return 0, err
	} else if len(removed) > 0 {
		r.log.Info("removed temporary files of an interrupted write", "files", removed)
	}
	var paths []string
	for _, f := range []string{CheckpointFile, PrevCheckpoint} {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err == nil {
			paths = append(paths, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
	}
	if len(paths) == 0 {
		// Stopped before its first checkpoint was in place: the run starts over from step 0,
		// its seeded initial state (the metrics written so far are dropped).
		r.log.Warn("no checkpoint to resume from: starting from step 0", "dir", dir)
		return 0, nil
	}
	var refused []error
	for i, path := range paths {
		hdr, tensors, err := readCheckpoint(path)
		if err != nil {
			refused = append(refused, err)
			if errors.Is(err, ErrCheckpoint) && i+1 < len(paths) {
				r.log.Warn("checkpoint refused; trying the previous one", "error", err)
				continue
			}
			return 0, errors.Join(refused...)
		}
		n, err := r.restore(path, hdr, tensors)
		if err != nil {
			return 0, err
		}
		if i > 0 {
			// Keep the refused file for inspection, out of the rotation: the next checkpoint
			// must not move it over the good previous one.
			aside := filepath.Join(dir, "checkpoint.corrupt-"+time.Now().UTC().Format("20060102T150405.000")+".ckpt")
			if err := os.Rename(paths[0], aside); err != nil {
				return 0, err
			}
			r.log.Warn("resumed from the previous checkpoint; the refused one was set aside", "from", path, "set_aside", aside)
		}
		return n, nil
	}
	panic("unreachable")
}

// restore loads a verified checkpoint into the model, the optimizer and the scheduler and
// returns the metrics file length it recorded.
func (r *run) restore(path string, hdr checkpointHeader, tensors map[string]hostTensor) (int64, error) {
	if !bytes.Equal(hdr.Config, r.cfg.Identity) {
		return 0, fmt.Errorf("%w: %s was written by %s; this run is %s", ErrIdentity, path, hdr.Config, r.cfg.Identity)
	}
	if w := max(1, hdr.WorldSize); w != r.worldSize() {
		return 0, fmt.Errorf("%w: %s was written by a run of %s; this one has %s (the batches are split by the number of ranks: resume with %d)",
			ErrWorldSize, path, ranks(w), ranks(r.worldSize()), w)
	}
	if hdr.Step > r.cfg.Steps {
		return 0, fmt.Errorf("%w %s: it is at step %d, past the %d steps asked for", ErrCheckpoint, path, hdr.Step, r.cfg.Steps)
	}
	sch := r.scheduler()
	switch {
	case sch != nil && len(hdr.Scheduler) == 0:
		return 0, fmt.Errorf("%w %s: no scheduler state", ErrCheckpoint, path)
	case sch != nil:
		if err := sch.Restore(hdr.Scheduler); err != nil {
			return 0, fmt.Errorf("%w %s: scheduler state: %w", ErrCheckpoint, path, err)
		}
	}
	err := tt.NoGrad(func() error {
		if err := loadVars(path, tensors, r.names, r.vars); err != nil {
			return err
		}
		bufs := map[string]*ts.Tensor{}
		for n, h := range tensors {
			t, err := h.toTensor()
			if err != nil {
				return err
			}
			bufs[n] = t
		}
		if err := r.opt.setBuffers(hdr.OptimizerSteps, bufs); err != nil {
			return fmt.Errorf("%w %s: %w", ErrCheckpoint, path, err)
		}
		for n := range bufs {
			return fmt.Errorf("%w %s: tensor %s belongs to no model variable or optimizer buffer", ErrCheckpoint, path, n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	r.step, r.bad = hdr.Step, hdr.NonFiniteRun
	r.log.Info("resumed", "from", path, "step", hdr.Step)
	return hdr.MetricsBytes, nil
}

// modelVars returns a VarStore's variables sorted by name: the order of checkpoints.
func modelVars(vs *nn.VarStore) ([]string, []*ts.Tensor) {
	byName := vs.Variables()
	names := sortedNames(byName)
	vars := make([]*ts.Tensor, len(names))
	for i, n := range names {
		v := byName[n]
		vars[i] = &v
	}
	return names, vars
}

// loadVars copies the checkpoint tensors "model.<name>" into vars (names parallel to vars) and
// deletes them from tensors. It runs inside NoGrad.
func loadVars(path string, tensors map[string]hostTensor, names []string, vars []*ts.Tensor) error {
	for i, n := range names {
		h, ok := tensors["model."+n]
		if !ok {
			return fmt.Errorf("%w %s: no tensor for model variable %s", ErrCheckpoint, path, n)
		}
		want := tt.Must(vars[i].Size())
		if fmt.Sprint(want) != fmt.Sprint(h.shape) {
			return fmt.Errorf("%w %s: model variable %s has shape %v in the checkpoint, %v in the model", ErrCheckpoint, path, n, h.shape, want)
		}
		src := tt.Must(h.toTensor())
		vars[i].Copy_(src)
		src.MustDrop()
		delete(tensors, "model."+n)
	}
	return nil
}

// LoadModel builds task's model in a fresh VarStore and loads the weights of the checkpoint at
// path into it, for evaluation. The returned identity is the JSON the run was configured with.
// The caller destroys the VarStore (inside torchthread.Do) when done.
func LoadModel(path string, task Task) (*nn.VarStore, json.RawMessage, error) {
	_, vs, config, err := LoadModelFor(path, func(json.RawMessage, []string) (Task, error) { return task, nil })
	return vs, config, err
}

// LoadModelFor is LoadModel for a task that depends on the checkpoint: build receives the
// run's configuration JSON and the names of the model variables the checkpoint holds (sorted,
// as the task's VarStore names them), and returns the task to load them into (a detector of
// the dataset and network shape that wrote it, say). The checkpoint is read and verified once.
func LoadModelFor(path string, build func(config json.RawMessage, modelVars []string) (Task, error)) (Task, *nn.VarStore, json.RawMessage, error) {
	hdr, tensors, err := readCheckpoint(path)
	if err != nil {
		return nil, nil, nil, err
	}
	var held []string
	for _, n := range sortedNames(tensors) {
		if v, ok := strings.CutPrefix(n, "model."); ok {
			held = append(held, v)
		}
	}
	task, err := build(hdr.Config, held)
	if err != nil {
		return nil, nil, nil, err
	}
	var vs *nn.VarStore
	err = tt.Do(func() error {
		vs = nn.NewVarStore(gotch.CPU)
		if err := task.Build(vs.Root()); err != nil {
			vs.Destroy()
			return err
		}
		// Built first, then loaded in its own NoGrad (see torchthread.NoGrad).
		names, vars := modelVars(vs)
		if err := tt.NoGrad(func() error { return loadVars(path, tensors, names, vars) }); err != nil {
			vs.Destroy()
			return err
		}
		// A model variable the task does not have means another model: refuse it rather
		// than load part of the weights.
		for _, n := range sortedNames(tensors) {
			if v, ok := strings.CutPrefix(n, "model."); ok {
				vs.Destroy()
				return fmt.Errorf("%w %s: model variable %s is not in the task's model", ErrCheckpoint, path, v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return task, vs, hdr.Config, nil
}

// DestroyVarStore frees a VarStore's tensors on the torch thread.
func DestroyVarStore(vs *nn.VarStore) {
	tt.Do(func() error { vs.Destroy(); return nil })
}

// ranks says "1 process" or "n ranks".
func ranks(n int) string {
	if n == 1 {
		return "1 process"
	}
	return fmt.Sprintf("%d ranks", n)
}
