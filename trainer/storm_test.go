package trainer

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// injection puts a non-finite value into the prediction or the target of one element.
type injection struct {
	row, col int // row -1: every row
	value    float64
	pred     bool
}

// stormLoss wraps a loss and injects non-finite values at chosen steps (its Forward calls).
type stormLoss struct {
	tensorloss.Loss
	calls  int
	storms map[int][]injection
}

func (l *stormLoss) Scheduler() dynamic.Scheduler {
	return l.Loss.(interface{ Scheduler() dynamic.Scheduler }).Scheduler()
}
func (l *stormLoss) LastBeta() []float64 {
	return l.Loss.(interface{ LastBeta() []float64 }).LastBeta()
}

func (l *stormLoss) Forward(pred, target, w *ts.Tensor) (*ts.Tensor, error) {
	s := l.calls
	l.calls++
	inj := l.storms[s]
	if len(inj) == 0 {
		return l.Loss.Forward(pred, target, w)
	}
	size := tt.Must(pred.Size())
	n, d := int(size[0]), int(size[1])
	addP, addT := make([]float32, n*d), make([]float32, n*d)
	for _, j := range inj {
		add := addT
		if j.pred {
			add = addP
		}
		for r := range n {
			if j.row == r || j.row < 0 {
				add[r*d+j.col] = float32(j.value)
			}
		}
	}
	// pred + 0 keeps the graph; NaN/±Inf where injected.
	ap, at := tt.Must(tt.FromSlice(addP, size...)), tt.Must(tt.FromSlice(addT, size...))
	p2, t2 := tt.Must(pred.Add(ap, false)), tt.Must(target.Add(at, false))
	defer func() {
		for _, x := range []*ts.Tensor{ap, at, p2, t2} {
			x.MustDrop()
		}
	}()
	return l.Loss.Forward(p2, t2, w)
}

// TestNaNStorms injects NaN and ±Inf into targets and predictions at chosen steps and
// columns, for both schedulers, and checks the documented policy: a step whose loss is not
// finite applies no update and logs a null loss and gradient norm; the non-finite rows are
// counted (skipped_rows in the metrics) and never reach the scheduler, whose β stays finite
// and positive; every checkpoint verifies and holds only finite values; a storm longer than
// MaxNonFinite stops the run with ErrDiverged, and the last checkpoint resumes.
func TestNaNStorms(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	storms := map[int][]injection{
		3:  {{row: 0, col: 1, value: nan}, {row: 1, col: 1, value: nan}, {row: 2, col: 2, value: nan}}, // 3 rows
		6:  {{row: 5, col: 0, value: inf, pred: true}, {row: 6, col: 3, value: -inf, pred: true}},      // 2 rows
		9:  {{row: -1, col: 0, value: nan}},                                                            // 32 rows
		10: {{row: -1, col: 3, value: inf}},                                                            // 32 rows
		11: {{row: -1, col: 2, value: nan, pred: true}},                                                // 32 rows
		14: {{row: 4, col: 1, value: nan}, {row: 4, col: 2, value: inf, pred: true}},                   // 1 row
	}
	// The residual's statistics skip a row whose prediction or target is not finite; Dynamic
	// SmoothL1 as published reads the targets alone, so storms in the predictions (steps 6
	// and 11) leave its counts alone.
	residualSkipped := map[int]int64{3: 3, 6: 2, 9: 32, 10: 32, 11: 32, 14: 1}
	targetSkipped := map[int]int64{3: 3, 9: 32, 10: 32, 14: 1}
	for _, spec := range []string{"sasl", "dsl:source=residual", "dsl"} {
		wantSkipped := residualSkipped
		if spec == "dsl" {
			wantSkipped = targetSkipped
		}
		t.Run(spec, func(t *testing.T) {
			dir := t.TempDir()
			task, loss := newTestRun(t, spec, 2)
			sl := &stormLoss{Loss: loss, storms: storms}
			cfg := testConfig(dir, 20)
			cfg.CheckpointEvery, cfg.MaxNonFinite = 1, 4
			// Each step's hook sees the checkpoint of the step before.
			var models []map[string]hostTensor
			cfg.OnStep = func(m StepMetrics) {
				if m.Step == 1 {
					return
				}
				hdr, tensors, err := readCheckpoint(filepath.Join(dir, CheckpointFile))
				if err != nil {
					t.Fatalf("checkpoint before step %d: %v", m.Step, err)
				}
				for n, h := range tensors {
					if !h.finite() {
						t.Errorf("checkpoint of step %d: %s not finite", hdr.Step, n)
					}
				}
				sch := sl.Scheduler()
				fresh, err := restoreLike(sch, hdr.Scheduler)
				if err != nil {
					t.Errorf("checkpoint of step %d: scheduler state: %v", hdr.Step, err)
				} else if !finitePositive(fresh.Beta(nil)) {
					t.Errorf("checkpoint of step %d: β %v", hdr.Step, fresh.Beta(nil))
				}
				model := map[string]hostTensor{}
				for n, h := range tensors {
					if len(n) > 6 && n[:6] == "model." {
						model[n] = h
					}
				}
				models = append(models, model)
			}
			if _, err := Run(context.Background(), cfg, task, sl); err != nil {
				t.Fatal(err)
			}
			var skipped int64
			for i, m := range readMetrics(t, dir) {
				skipped += wantSkipped[i]
				_, storm := storms[i]
				if storm != (m.Loss == nil) || storm != (m.GradNorm == nil) {
					t.Errorf("step %d: storm %v, loss %v, grad norm %v", m.Step, storm, m.Loss, m.GradNorm)
				}
				if m.SkippedRows != skipped {
					t.Errorf("step %d: skipped_rows %d, want %d", m.Step, m.SkippedRows, skipped)
				}
				if !finitePositive(m.Beta) {
					t.Errorf("step %d: β %v", m.Step, m.Beta)
				}
			}
			// models[k] is the model after k+1 steps: a storm step i (0-based) leaves the
			// model of step i equal to that of step i-1.
			for i := range storms {
				if i >= 1 && i < len(models) && !reflect.DeepEqual(models[i], models[i-1]) {
					t.Errorf("the storm step %d changed the model", i+1)
				}
			}
			if len(models) != 19 {
				t.Fatalf("%d checkpoints seen, want 19", len(models))
			}
		})
	}
	t.Run("longer than MaxNonFinite", func(t *testing.T) {
		dir := t.TempDir()
		task, loss := newTestRun(t, "sasl", 2)
		long := map[int][]injection{}
		for s := 12; s < 40; s++ {
			long[s] = []injection{{row: -1, col: 1, value: nan}}
		}
		cfg := testConfig(dir, 40)
		cfg.MaxNonFinite = 4
		_, err := Run(context.Background(), cfg, task, &stormLoss{Loss: loss, storms: long})
		if !errors.Is(err, ErrDiverged) {
			t.Fatalf("got %v, want ErrDiverged", err)
		}
		requireFiniteCheckpoint(t, dir, 10)
		task, loss = newTestRun(t, "sasl", 2)
		cfg.Resume = true
		if res, err := Run(context.Background(), cfg, task, loss); err != nil || res.ResumedFrom != 10 || res.Steps != 40 {
			t.Fatalf("resume: %v (from %d to %d)", err, res.ResumedFrom, res.Steps)
		}
	})
}

func finitePositive(b []float64) bool {
	for _, v := range b {
		if !(v > 0) || math.IsInf(v, 0) {
			return false
		}
	}
	return len(b) > 0
}

// restoreLike restores state into a new scheduler of sch's kind and configuration.
func restoreLike(sch dynamic.Scheduler, state []byte) (dynamic.Scheduler, error) {
	var fresh dynamic.Scheduler
	var err error
	switch s := sch.(type) {
	case *dynamic.SelfAdjusting:
		fresh, err = dynamic.NewSelfAdjusting(s.Config(), s.Dim())
	case *dynamic.DynamicRCNN:
		fresh, err = dynamic.NewDynamicRCNN(s.Config(), s.Dim())
	default:
		return nil, errors.New("unexpected scheduler")
	}
	if err != nil {
		return nil, err
	}
	return fresh, fresh.Restore(state)
}
