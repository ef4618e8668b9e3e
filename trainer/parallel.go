package trainer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/distributed"
	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// ShardedTask is a Task that trains data-parallel (Config.Group with more than one rank).
type ShardedTask interface {
	Task
	// SetShard makes this process rank r of W: Run calls it once, before Build. From then on
	// StepLoss(s) is the loss of rank r's shard of step s's batch (rows or images r·B/W to
	// (r+1)·B/W of the batch of B that one process would train on), scaled so that the mean
	// over the ranks of their losses, and so of their gradients, is the loss of the whole
	// batch: a mean over a shard of B/W rows as it is, a sum divided by a count of the whole
	// batch times W. Named parts are averaged over the ranks the same way.
	//
	// sum returns the elementwise sum of v over the ranks, added in rank order, so that every
	// rank gets the same bits: such a count of the whole batch (the detector's positive
	// anchors). It is a collective: every rank calls it at the same point of StepLoss with a
	// v of the same length.
	//
	// SetShard returns an error when the task cannot be split so (a batch that W does not
	// divide).
	SetShard(r, w int, sum func(v []float64) ([]float64, error)) error
}

// ErrOtherRank is wrapped by the error of a rank that stops because another rank failed to
// start (a distributed.RankError names a rank that failed later).
var ErrOtherRank = errors.New("trainer: another rank failed")

// otherRankError is the error of a rank whose run stops because rank failed to start.
type otherRankError struct {
	rank, world int
	msg         string
}

func (e *otherRankError) Error() string {
	return fmt.Sprintf("trainer: rank %d of %d failed to start: %s", e.rank, e.world, e.msg)
}
func (e *otherRankError) Unwrap() error { return ErrOtherRank }

// ErrWorldSize is wrapped by the error of a resume whose number of ranks differs from the
// checkpoint's: the batches of a run are split by its world size, so a run continues with it.
var ErrWorldSize = errors.New("trainer: resume with another number of ranks")

// parallel is the data-parallel side of a run (nil in a run of one process): the group, and
// the time this step has spent in collectives.
type parallel struct {
	g           *distributed.Group
	rank, world int
	comm        time.Duration
	stop        int // 1 + the rank whose interruption stops the run after this step; 0: none
}

// allGather is Group.AllGather, timed into comm.
func (p *parallel) allGather(buf []byte) ([][]byte, error) {
	t0 := time.Now()
	defer func() { p.comm += time.Since(t0) }()
	return p.g.AllGather(buf)
}

// allReduceMean is Group.AllReduceMean, timed into comm.
func (p *parallel) allReduceMean(tensors []*ts.Tensor) error {
	t0 := time.Now()
	defer func() { p.comm += time.Since(t0) }()
	return p.g.AllReduceMean(tensors)
}

// sum is ShardedTask.SetShard's sum.
func (p *parallel) sum(v []float64) ([]float64, error) {
	buf := make([]byte, 0, 8*len(v))
	for _, x := range v {
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(x))
	}
	all, err := p.allGather(buf)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(v))
	for r, b := range all {
		if len(b) != len(buf) {
			return nil, fmt.Errorf("trainer: the sum over the ranks: rank %d summed %d values, this rank %d", r, len(b)/8, len(v))
		}
		for i := range out {
			out[i] += math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
	}
	return out, nil
}

// combine is the loss's tensorloss.Combine: every rank's summary, merged in rank order.
func (p *parallel) combine(local *dynamic.Summary) (dynamic.Summary, error) {
	var merged dynamic.Summary
	b, err := local.MarshalBinary()
	if err != nil {
		return merged, err
	}
	all, err := p.allGather(b)
	if err != nil {
		return merged, err
	}
	for r, b := range all {
		var s dynamic.Summary
		if err := s.UnmarshalBinary(b); err != nil {
			return merged, fmt.Errorf("rank %d's summary: %w", r, err)
		}
		if err := merged.Merge(&s); err != nil {
			return merged, fmt.Errorf("rank %d's summary: %w", r, err)
		}
	}
	return merged, nil
}

// prepare makes the task and the loss data-parallel: the task's shard, the loss's Combine.
func (p *parallel) prepare(task Task, loss tensorloss.Loss) error {
	st, ok := task.(ShardedTask)
	if !ok {
		return fmt.Errorf("trainer: the task %T cannot train data-parallel: it is no ShardedTask (SetShard)", task)
	}
	if err := st.SetShard(p.rank, p.world, p.sum); err != nil {
		return fmt.Errorf("trainer: %d ranks: %w", p.world, err)
	}
	if _, scheduled := loss.(interface{ Scheduler() dynamic.Scheduler }); !scheduled {
		return nil
	}
	c, ok := loss.(interface {
		SetCombine(int, tensorloss.Combine) error
	})
	if !ok {
		return fmt.Errorf("trainer: the loss %s (%T) has a β scheduler but no SetCombine: its replicas would apply different β", loss.Name(), loss)
	}
	return c.SetCombine(p.world, p.combine)
}

// startMsg is what every rank tells the others once set up: its error, if it failed, and its
// configuration; rank 0 also the state every rank starts from (its checkpoint's, when it
// resumed), whose tensors follow by Broadcast.
type startMsg struct {
	Error          string          `json:"error,omitempty"`
	Identity       json.RawMessage `json:"identity"`
	Step           int64           `json:"step"`
	NonFiniteRun   int             `json:"nonfinite_run"`
	OptimizerSteps int64           `json:"optimizer_steps"`
	Scheduler      []byte          `json:"scheduler,omitempty"`
	Buffers        bool            `json:"buffers"` // rank 0's optimizer holds its state buffers
}

// start brings the ranks to one state: every rank sends whether its set-up (setupErr) failed
// and its configuration; when all succeeded and agree, the others take rank 0's step,
// counters and scheduler state, and rank 0's weights and optimizer buffers are broadcast to
// them (a fresh run's initial weights, or its checkpoint's). The error is this rank's own,
// or the first failed rank's, or a disagreement, the same on every rank.
func (p *parallel) start(r *run, setupErr error) error {
	msg := startMsg{Identity: r.cfg.Identity}
	if setupErr != nil {
		msg.Error = setupErr.Error()
	} else if p.rank == 0 {
		msg.Step, msg.NonFiniteRun, msg.OptimizerSteps = r.step, r.bad, r.opt.steps
		msg.Buffers = r.opt.buf1 != nil
		if sch := r.scheduler(); sch != nil {
			state, err := sch.State()
			if err != nil {
				msg.Error = fmt.Sprintf("trainer: scheduler state: %v", err)
			}
			msg.Scheduler = state
		}
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return errors.Join(setupErr, err)
	}
	all, err := p.allGather(b)
	if err != nil {
		return errors.Join(setupErr, err)
	}
	msgs := make([]startMsg, len(all))
	for i, b := range all {
		if err := json.Unmarshal(b, &msgs[i]); err != nil {
			return errors.Join(setupErr, fmt.Errorf("trainer: rank %d's start message: %w", i, err))
		}
	}
	for i, m := range msgs {
		switch {
		case m.Error == "":
		case i == p.rank && setupErr != nil:
			return setupErr
		default:
			return &otherRankError{i, p.world, m.Error}
		}
	}
	for i, m := range msgs[1:] {
		if !bytes.Equal(m.Identity, msgs[0].Identity) {
			return fmt.Errorf("%w: rank %d is configured as %s, rank 0 as %s", ErrIdentity, i+1, m.Identity, msgs[0].Identity)
		}
	}
	if p.rank != 0 {
		m := msgs[0]
		r.step, r.bad, r.opt.steps = m.Step, m.NonFiniteRun, m.OptimizerSteps
		if sch := r.scheduler(); sch != nil {
			if err := sch.Restore(m.Scheduler); err != nil {
				return fmt.Errorf("trainer: rank 0's scheduler state: %w", err)
			}
		}
		if m.Buffers {
			if err := tt.NoGrad(func() error { r.opt.ensureState(); return nil }); err != nil {
				return err
			}
		}
	}
	return tt.NoGrad(func() error {
		_, bufs := r.opt.namedBuffers()
		return p.g.Broadcast(append(slices.Clone(r.vars), bufs...), 0)
	})
}

// stepReport is what a rank tells the others after its forward pass: its loss, named parts
// and β, and whether it was interrupted.
type stepReport struct {
	Loss        float64            `json:"-"` // sent as its bits: JSON has no NaN
	Parts       map[string]float64 `json:"parts,omitempty"`
	Beta        []float64          `json:"beta"`
	Interrupted bool               `json:"interrupted,omitempty"`
}

// stepTotals is what every rank agrees on from the reports: the loss and parts averaged
// over the ranks (a part that is missing or not finite on some rank is left out).
type stepTotals struct {
	loss  float64
	parts map[string]float64
}

// agree exchanges the ranks' step reports and returns their totals. It fails when the ranks
// applied different β (bit for bit: Combine gives every replica the same summary), and records
// in p.stop the first rank that was interrupted, so that every rank stops after the same step.
func (p *parallel) agree(mine stepReport) (stepTotals, error) {
	var tot stepTotals
	var buf bytes.Buffer
	buf.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(mine.Loss)))
	if err := json.NewEncoder(&buf).Encode(mine); err != nil {
		return tot, err
	}
	all, err := p.allGather(buf.Bytes())
	if err != nil {
		return tot, err
	}
	reports := make([]stepReport, len(all))
	for i, b := range all {
		if len(b) < 8 {
			return tot, fmt.Errorf("trainer: rank %d's step report has %d bytes", i, len(b))
		}
		if err := json.Unmarshal(b[8:], &reports[i]); err != nil {
			return tot, fmt.Errorf("trainer: rank %d's step report: %w", i, err)
		}
		reports[i].Loss = math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return totals(reports, &p.stop)
}

// totals reduces the step reports of every rank (see agree).
func totals(reports []stepReport, stop *int) (stepTotals, error) {
	tot := stepTotals{parts: map[string]float64{}}
	var differ []string
	for i, rep := range reports {
		if !slices.EqualFunc(rep.Beta, reports[0].Beta, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
			differ = append(differ, fmt.Sprintf("rank %d's %v", i, rep.Beta))
		}
		if rep.Interrupted && *stop == 0 {
			*stop = i + 1
		}
		tot.loss += rep.Loss
	}
	if differ != nil {
		return tot, fmt.Errorf("trainer: the ranks applied different β: rank 0's %v, %s", reports[0].Beta, strings.Join(differ, ", "))
	}
	n := float64(len(reports))
	tot.loss /= n
	for k := range reports[0].Parts {
		var s float64
		for _, rep := range reports {
			v, ok := rep.Parts[k]
			if !ok {
				s = math.NaN()
				break
			}
			s += v
		}
		if v := s / n; !math.IsNaN(v) && !math.IsInf(v, 0) {
			tot.parts[k] = v
		}
	}
	return tot, nil
}

// primeGrads gives every parameter a gradient (zeros where it has none) and adopts them into
// the optimizer's flat buffer when its parameters are uniform, so that from the first step
// every rank all-reduces the same tensors, even when a step leaves a parameter out of the
// graph on one rank. It runs on the torch thread.
func (o *Optimizer) primeGrads() error {
	return tt.Do(func() error {
		var tmp tt.Scratch
		defer tmp.Drop()
		var total *ts.Tensor
		for _, p := range o.params {
			s := tmp.Add(tt.Must(p.Sum(gotch.Double, false)))
			if total == nil {
				total = s
				continue
			}
			total = tmp.Add(tt.Must(total.Add(s, false)))
		}
		if total == nil {
			return nil
		}
		zero := tmp.Add(tt.Must(total.MulScalar(tmp.Scalar(0), false)))
		if err := zero.Backward(); err != nil {
			return err
		}
		o.adopt()
		return nil
	})
}

// gradTensors calls fn with the tensors that hold every parameter's gradient: the flat
// buffer when the gradients are adopted, else each parameter's (handles dropped after fn).
// It runs on the torch thread.
func (o *Optimizer) gradTensors(fn func([]*ts.Tensor) error) error {
	return tt.Do(func() error {
		if o.adopted || o.adopt() {
			return fn([]*ts.Tensor{o.flatGrad})
		}
		var grads []*ts.Tensor
		defer func() {
			for _, g := range grads {
				g.MustDrop()
			}
		}()
		for _, p := range o.params {
			g := tt.Must(p.Grad(false))
			grads = append(grads, g)
			if !g.MustDefined() {
				return errors.New("trainer: a parameter has no gradient to all-reduce")
			}
		}
		return fn(grads)
	})
}
