package trainer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/regress"
	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// hooked wraps a task to act at chosen steps: cancel a context, fail like a crash, or return a
// NaN loss.
type hooked struct {
	Task
	cancelAt, crashAt, nanFrom int64
	cancel                     context.CancelFunc
}

var errCrash = errors.New("simulated crash")

func (h *hooked) StepLoss(s int64, l tensorloss.Loss) (*ts.Tensor, map[string]float64, error) {
	if s == h.crashAt {
		return nil, nil, errCrash
	}
	if s == h.cancelAt && h.cancel != nil {
		h.cancel()
	}
	loss, parts, err := h.Task.StepLoss(s, l)
	if err == nil && h.nanFrom > 0 && s >= h.nanFrom {
		nan := ts.FloatScalar(math.NaN())
		loss = tt.Must(loss.MulScalar(nan, true))
		nan.MustDrop()
	}
	return loss, parts, err
}

func (h *hooked) Evaluate() (map[string]float64, error) { return h.Task.(Evaluator).Evaluate() }

func newTestRun(t *testing.T, spec string, seed uint64) (*hooked, tensorloss.Loss) {
	t.Helper()
	task, err := regress.New(seed, regress.NoiseHeavy, 32)
	if err != nil {
		t.Fatal(err)
	}
	task.TestSize = 256
	var loss tensorloss.Loss
	switch spec {
	case "sasl":
		sch, err := dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{}, 4)
		if err != nil {
			t.Fatal(err)
		}
		loss, err = tensorloss.NewDynamicLoss(sch, static.Mean)
		if err != nil {
			t.Fatal(err)
		}
	case "dsl", "dsl:source=residual":
		src := dynamic.Target
		if spec != "dsl" {
			src = dynamic.Residual
		}
		sch, err := dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{K: 4, Interval: 5, Source: src}, 4)
		if err != nil {
			t.Fatal(err)
		}
		loss, err = tensorloss.NewDynamicLoss(sch, static.Mean)
		if err != nil {
			t.Fatal(err)
		}
	default:
		l, err := static.NewSmoothL1(0.11)
		if err != nil {
			t.Fatal(err)
		}
		loss, err = tensorloss.NewStaticLoss(l, static.Mean)
		if err != nil {
			t.Fatal(err)
		}
	}
	return &hooked{Task: task, cancelAt: -1, crashAt: -1}, loss
}

func testConfig(dir string, steps int64) Config {
	return Config{Dir: dir, Steps: steps, Seed: 7, CheckpointEvery: 10,
		Optimizer: OptimizerConfig{Kind: AdamW, WeightDecay: 1e-4},
		Schedule:  Schedule{Base: 3e-3, Warmup: 5, Decay: Cosine}, ClipNorm: 5,
		Identity: json.RawMessage(`{"test":1}`), Logger: quiet, Progress: io.Discard}
}

// requireFiniteCheckpoint fails the test unless dir's checkpoint is the one of the given step
// and every tensor in it is finite.
func requireFiniteCheckpoint(t *testing.T, dir string, step int64) {
	t.Helper()
	hdr, tensors, err := readCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil || hdr.Step != step {
		t.Fatalf("last checkpoint: %v at step %d, want the one of step %d", err, hdr.Step, step)
	}
	for n, h := range tensors {
		if !h.finite() {
			t.Errorf("checkpoint tensor %s is not finite", n)
		}
	}
}

// readMetrics returns metrics.jsonl without the wall-time field.
func readMetrics(t *testing.T, dir string) []StepMetrics {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []StepMetrics
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m StepMetrics
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("metrics line %d: %v", len(out)+1, err)
		}
		m.Seconds = 0
		out = append(out, m)
	}
	return out
}

// finalState returns the tensors of a run's last checkpoint and its scheduler state.
func finalState(t *testing.T, dir string) (map[string]hostTensor, string) {
	t.Helper()
	hdr, tensors, err := readCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	return tensors, string(hdr.Scheduler)
}

func sameState(t *testing.T, a, b string) {
	t.Helper()
	ta, sa := finalState(t, a)
	tb, sb := finalState(t, b)
	if sa != sb {
		t.Errorf("scheduler state differs:\n%s\n%s", sa, sb)
	}
	if len(ta) != len(tb) {
		t.Fatalf("%d tensors vs %d", len(ta), len(tb))
	}
	for name, x := range ta {
		if !reflect.DeepEqual(x, tb[name]) {
			t.Errorf("tensor %s differs", name)
		}
	}
	ma, mb := readMetrics(t, a), readMetrics(t, b)
	if !reflect.DeepEqual(ma, mb) {
		t.Errorf("metrics differ: %d lines vs %d", len(ma), len(mb))
		for i := range min(len(ma), len(mb)) {
			if !reflect.DeepEqual(ma[i], mb[i]) {
				t.Fatalf("first difference at line %d:\n%+v\n%+v", i+1, ma[i], mb[i])
			}
		}
	}
}

// TestResumeIsExact stops runs by cancellation and by a crash between checkpoints, resumes
// them, and checks weights, optimizer buffers, scheduler state and metrics (β included) equal
// those of an uninterrupted run bit for bit.
func TestResumeIsExact(t *testing.T) {
	const steps = 40
	for _, spec := range []string{"sasl", "dsl", "smoothl1"} {
		t.Run(spec, func(t *testing.T) {
			ref := t.TempDir()
			task, loss := newTestRun(t, spec, 3)
			res, err := Run(context.Background(), testConfig(ref, steps), task, loss)
			if err != nil {
				t.Fatal(err)
			}
			if res.Steps != steps || len(readMetrics(t, ref)) != steps {
				t.Fatalf("uninterrupted run: %d steps, %d metrics lines", res.Steps, len(readMetrics(t, ref)))
			}

			// Cancelled during step 17: a checkpoint of 17 steps, then resumed.
			dir := t.TempDir()
			task, loss = newTestRun(t, spec, 3)
			ctx, cancel := context.WithCancel(context.Background())
			task.cancelAt, task.cancel = 16, cancel
			res, err = Run(ctx, testConfig(dir, steps), task, loss)
			if !errors.Is(err, context.Canceled) || res.Steps != 17 {
				t.Fatalf("cancelled run: %v after %d steps, want context.Canceled after 17", err, res.Steps)
			}
			task, loss = newTestRun(t, spec, 3)
			cfg := testConfig(dir, steps)
			cfg.Resume = true
			if res, err = Run(context.Background(), cfg, task, loss); err != nil || res.ResumedFrom != 17 {
				t.Fatalf("resume: %v (from %d)", err, res.ResumedFrom)
			}
			sameState(t, ref, dir)

			// Crashed at step 26: metrics of steps 21–25 were written after the checkpoint of
			// step 20; the resume drops and redoes them.
			dir = t.TempDir()
			task, loss = newTestRun(t, spec, 3)
			task.crashAt = 25
			if _, err := Run(context.Background(), testConfig(dir, steps), task, loss); !errors.Is(err, errCrash) {
				t.Fatalf("crashing run: %v", err)
			}
			if n := len(readMetrics(t, dir)); n != 25 {
				t.Fatalf("%d metrics lines after the crash, want 25", n)
			}
			task, loss = newTestRun(t, spec, 3)
			if _, err := Run(context.Background(), cfg.withDir(dir), task, loss); err != nil {
				t.Fatal(err)
			}
			sameState(t, ref, dir)
		})
	}
}

func (c Config) withDir(dir string) Config { c.Dir = dir; return c }

func TestNonFiniteLossStopsAndKeepsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	task, loss := newTestRun(t, "sasl", 1)
	task.nanFrom = 23
	cfg := testConfig(dir, 100)
	cfg.MaxNonFinite = 4
	_, err := Run(context.Background(), cfg, task, loss)
	if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), "4 consecutive steps") {
		t.Fatalf("got %v, want ErrDiverged after 4 steps", err)
	}
	m := readMetrics(t, dir)
	// Steps are counted from 1 in the metrics: step index 23 is metrics step 24.
	if len(m) != 27 || m[23].Loss != nil || m[22].Loss == nil || m[23].GradNorm != nil || m[26].Loss != nil {
		t.Fatalf("metrics: %d lines; want 27 with null losses from step 24", len(m))
	}
	requireFiniteCheckpoint(t, dir, 20)
	// The kept checkpoint resumes.
	task, loss = newTestRun(t, "sasl", 1)
	cfg.Resume, cfg.Steps = true, 30
	if res, err := Run(context.Background(), cfg, task, loss); err != nil || res.Steps != 30 {
		t.Fatalf("resume after divergence: %v, %d steps", err, res.Steps)
	}
}

func TestRunRefusals(t *testing.T) {
	dir := t.TempDir()
	task, loss := newTestRun(t, "sasl", 1)
	if _, err := Run(context.Background(), testConfig(dir, 10), task, loss); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, CheckpointFile)
	good, _ := os.ReadFile(ckpt)

	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) Config
		want  error
		text  string
	}{
		{"fresh run into a used folder", func(t *testing.T, d string) Config { return testConfig(d, 10) }, ErrRunExists, "checkpoint.ckpt exists"},
		{"different configuration", func(t *testing.T, d string) Config {
			c := testConfig(d, 20)
			c.Resume, c.Identity = true, json.RawMessage(`{"test":2}`)
			return c
		}, ErrIdentity, `{"test":1}`},
		{"truncated", func(t *testing.T, d string) Config {
			os.WriteFile(ckpt, good[:len(good)/2], 0o644)
			c := testConfig(d, 20)
			c.Resume = true
			return c
		}, ErrCheckpoint, "checksum mismatch"},
		{"bit flip", func(t *testing.T, d string) Config {
			bad := append([]byte(nil), good...)
			bad[len(bad)/3] ^= 0x10
			os.WriteFile(ckpt, bad, 0o644)
			c := testConfig(d, 20)
			c.Resume = true
			return c
		}, ErrCheckpoint, "checksum mismatch"},
		{"not a checkpoint", func(t *testing.T, d string) Config {
			os.WriteFile(ckpt, []byte(strings.Repeat("x", 100)), 0o644)
			c := testConfig(d, 20)
			c.Resume = true
			return c
		}, ErrCheckpoint, "bad magic"},
		{"wrong version", func(t *testing.T, d string) Config {
			bad := append([]byte(nil), good...)
			bad[8] = 9
			os.WriteFile(ckpt, bad, 0o644)
			c := testConfig(d, 20)
			c.Resume = true
			return c
		}, ErrCheckpoint, "format version 9"},
		{"written by 2 ranks", func(t *testing.T, d string) Config {
			os.WriteFile(ckpt, good, 0o644)
			hdr, tensors, err := readCheckpoint(ckpt)
			if err != nil {
				t.Fatal(err)
			}
			var list []hostTensor
			for _, n := range sortedNames(tensors) {
				list = append(list, tensors[n])
			}
			hdr.WorldSize = 2
			if err := writeCheckpoint(ckpt, hdr, list); err != nil {
				t.Fatal(err)
			}
			c := testConfig(d, 20)
			c.Resume = true
			return c
		}, ErrWorldSize, "written by a run of 2 ranks; this one has 1 process"},
		{"past the steps asked for", func(t *testing.T, d string) Config {
			os.WriteFile(ckpt, good, 0o644)
			c := testConfig(d, 5)
			c.Resume = true
			return c
		}, ErrCheckpoint, "past the 5 steps"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			task, loss := newTestRun(t, "sasl", 1)
			_, err := Run(context.Background(), c.setup(t, dir), task, loss)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("got %v, want %v mentioning %q", err, c.want, c.text)
			}
		})
	}
	// The good checkpoint, put back, still resumes.
	os.WriteFile(ckpt, good, 0o644)
	task, loss = newTestRun(t, "sasl", 1)
	c := testConfig(dir, 12)
	c.Resume = true
	if _, err := Run(context.Background(), c, task, loss); err != nil {
		t.Fatal(err)
	}
}

// TestModelShapeMismatch checks that a checkpoint of another model is refused by name.
func TestModelShapeMismatch(t *testing.T) {
	dir := t.TempDir()
	task, loss := newTestRun(t, "smoothl1", 1)
	if _, err := Run(context.Background(), testConfig(dir, 3), task, loss); err != nil {
		t.Fatal(err)
	}
	task, loss = newTestRun(t, "smoothl1", 1)
	c := testConfig(dir, 6)
	c.Resume = true
	other := &otherModel{Task: task}
	_, err := Run(context.Background(), c, other, loss)
	if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("got %v, want a shape error", err)
	}
}

type otherModel struct{ Task }

func (o *otherModel) Build(root *nn.Path) error {
	nn.NewLinear(root.Sub("fc1"), 3, 3, nn.DefaultLinearConfig())
	return nil
}

// TestRegressLearns checks that training lowers the held-out error by a wide margin.
func TestRegressLearns(t *testing.T) {
	task, err := regress.New(1, regress.NoiseLight, 128)
	if err != nil {
		t.Fatal(err)
	}
	sch, _ := dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{}, 4)
	loss, _ := tensorloss.NewDynamicLoss(sch, static.Mean)
	cfg := testConfig(t.TempDir(), 300)
	cfg.EvalInitial = true
	res, err := Run(context.Background(), cfg, task, loss)
	if err != nil {
		t.Fatal(err)
	}
	before, after := res.InitialEval["test_l1"], res.Eval["test_l1"]
	if !(after < before/3) {
		t.Fatalf("held-out L1 %v before training, %v after 300 steps: want a 3× drop", before, after)
	}
}

// TestFixedBetaIsLogged checks that a fixed Smooth L1 logs its β per column like a scheduler.
func TestFixedBetaIsLogged(t *testing.T) {
	dir := t.TempDir()
	task, loss := newTestRun(t, "smoothl1", 1)
	if _, err := Run(context.Background(), testConfig(dir, 3), task, loss); err != nil {
		t.Fatal(err)
	}
	for _, m := range readMetrics(t, dir) {
		if !reflect.DeepEqual(m.Beta, []float64{0.11, 0.11, 0.11, 0.11}) {
			t.Fatalf("step %d logged beta %v, want 0.11 for each of the 4 columns", m.Step, m.Beta)
		}
	}
}

// TestResumeFallsBackToPrevious: a checkpoint.ckpt that fails verification (truncated, a bit
// flipped, another format version) is refused, set aside, and the run resumes from
// checkpoint.prev.ckpt, ending equal to the uninterrupted run; a stale temporary file of a
// killed write is removed. With both files bad the resume fails naming both problems.
func TestResumeFallsBackToPrevious(t *testing.T) {
	const steps = 40
	ref := t.TempDir()
	task, loss := newTestRun(t, "sasl", 5)
	if _, err := Run(context.Background(), testConfig(ref, steps), task, loss); err != nil {
		t.Fatal(err)
	}
	corruptions := map[string]func([]byte) []byte{
		"truncated": func(b []byte) []byte { return b[:len(b)*2/3] },
		"bit flip":  func(b []byte) []byte { b[len(b)/2] ^= 4; return b },
		"version":   func(b []byte) []byte { b[8] = 2; return b },
		"empty":     func(b []byte) []byte { return nil },
	}
	for name, corrupt := range corruptions {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			task, loss := newTestRun(t, "sasl", 5)
			ctx, cancel := context.WithCancel(context.Background())
			task.cancelAt, task.cancel = 24, cancel
			if _, err := Run(ctx, testConfig(dir, steps), task, loss); !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			// Checkpoints of steps 25 (current) and 20 (previous).
			ckpt := filepath.Join(dir, CheckpointFile)
			b, err := os.ReadFile(ckpt)
			if err != nil {
				t.Fatal(err)
			}
			bad := corrupt(append([]byte(nil), b...))
			if err := os.WriteFile(ckpt, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			stale := filepath.Join(dir, ".checkpoint.ckpt.tmp-4242")
			if err := os.WriteFile(stale, b[:100], 0o644); err != nil {
				t.Fatal(err)
			}
			task, loss = newTestRun(t, "sasl", 5)
			cfg := testConfig(dir, steps)
			cfg.Resume = true
			res, err := Run(context.Background(), cfg, task, loss)
			if err != nil || res.ResumedFrom != 20 {
				t.Fatalf("resume: %v (from step %d, want 20)", err, res.ResumedFrom)
			}
			sameState(t, ref, dir)
			aside, _ := filepath.Glob(filepath.Join(dir, "checkpoint.corrupt-*.ckpt"))
			if len(aside) != 1 {
				t.Errorf("set-aside files %v, want one", aside)
			} else if got, _ := os.ReadFile(aside[0]); !bytes.Equal(got, bad) {
				t.Errorf("%s does not hold the refused checkpoint", aside[0])
			}
			if _, err := os.Stat(stale); !os.IsNotExist(err) {
				t.Errorf("stale temporary file still there: %v", err)
			}
			if _, _, err := readCheckpoint(filepath.Join(dir, PrevCheckpoint)); err != nil {
				t.Errorf("previous checkpoint after the resumed run: %v", err)
			}
		})
	}
	t.Run("both bad", func(t *testing.T) {
		dir := t.TempDir()
		task, loss := newTestRun(t, "sasl", 5)
		if _, err := Run(context.Background(), testConfig(dir, 25), task, loss); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{CheckpointFile, PrevCheckpoint} {
			p := filepath.Join(dir, f)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-1], 0o644)
		}
		task, loss = newTestRun(t, "sasl", 5)
		cfg := testConfig(dir, steps)
		cfg.Resume = true
		_, err := Run(context.Background(), cfg, task, loss)
		if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), CheckpointFile) || !strings.Contains(err.Error(), PrevCheckpoint) {
			t.Fatalf("got %v, want a checkpoint error naming both files", err)
		}
		// Nothing was moved or deleted.
		for _, f := range []string{CheckpointFile, PrevCheckpoint} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
	})
}

// TestResumeBeforeFirstCheckpoint: a run that died before its first checkpoint resumes from
// step 0 (its metrics so far dropped) and ends equal to the uninterrupted run.
func TestResumeBeforeFirstCheckpoint(t *testing.T) {
	ref, dir := t.TempDir(), t.TempDir()
	task, loss := newTestRun(t, "dsl", 6)
	if _, err := Run(context.Background(), testConfig(ref, 15), task, loss); err != nil {
		t.Fatal(err)
	}
	task, loss = newTestRun(t, "dsl", 6)
	task.crashAt = 7
	if _, err := Run(context.Background(), testConfig(dir, 15), task, loss); !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, CheckpointFile)); !os.IsNotExist(err) {
		t.Fatalf("a checkpoint before step 10: %v", err)
	}
	task, loss = newTestRun(t, "dsl", 6)
	cfg := testConfig(dir, 15)
	cfg.Resume = true
	if res, err := Run(context.Background(), cfg, task, loss); err != nil || res.ResumedFrom != 0 {
		t.Fatalf("resume: %v (from %d)", err, res.ResumedFrom)
	}
	sameState(t, ref, dir)
}

// TestResumeIdentityEscapes: an identity holding characters encoding/json escapes (a data
// folder "a&b", "<", U+2028) resumes; checkpoint headers used to hold the escaped form and
// the comparison with the raw identity refused every resume of such a run.
func TestResumeIdentityEscapes(t *testing.T) {
	ref, dir := t.TempDir(), t.TempDir()
	id := json.RawMessage("{ \"data\": \"runs/a&b<c>\u2028\" }")
	task, loss := newTestRun(t, "sasl", 6)
	cfg := testConfig(ref, 15)
	cfg.Identity = id
	if _, err := Run(context.Background(), cfg, task, loss); err != nil {
		t.Fatal(err)
	}
	task, loss = newTestRun(t, "sasl", 6)
	task.crashAt = 12
	cfg.Dir = dir
	if _, err := Run(context.Background(), cfg, task, loss); !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	task, loss = newTestRun(t, "sasl", 6)
	cfg.Resume = true
	if res, err := Run(context.Background(), cfg, task, loss); err != nil || res.ResumedFrom != 10 {
		t.Fatalf("resume: %v (from %d)", err, res.ResumedFrom)
	}
	sameState(t, ref, dir)
	// A different identity is still refused, and the error quotes the checkpoint's.
	task, loss = newTestRun(t, "sasl", 6)
	cfg.Identity = json.RawMessage(`{"data":"runs/a&b"}`)
	if _, err := Run(context.Background(), cfg, task, loss); !errors.Is(err, ErrIdentity) {
		t.Fatalf("other identity: %v", err)
	}
}

// TestNoTensorLeftPerStep: with the garbage collector off (no finalizer frees a forgotten
// tensor), training steps of every loss kind, checkpoints and evaluations leave the number of
// live gotch tensors as they found it.
func TestNoTensorLeftPerStep(t *testing.T) {
	for _, spec := range []string{"smoothl1", "sasl", "dsl"} {
		t.Run(spec, func(t *testing.T) {
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			task, loss := newTestRun(t, spec, 1)
			cfg := testConfig(t.TempDir(), 12)
			cfg.CheckpointEvery = 3
			var live []int
			cfg.OnStep = func(StepMetrics) { live = append(live, tt.LiveTensors()) }
			if _, err := Run(context.Background(), cfg, task, loss); err != nil {
				t.Fatal(err)
			}
			for i := 2; i < len(live); i++ {
				if live[i] != live[1] {
					t.Fatalf("live tensors after each step: %v", live)
				}
			}
		})
	}
}

// TestZeroConfigDefaults: Config's zero fields take their documented defaults in the loop
// itself (a zero CheckpointEvery divided the step count before: a Go caller's panic).
func TestZeroConfigDefaults(t *testing.T) {
	task, loss := newTestRun(t, "sasl", 1)
	cfg := testConfig(t.TempDir(), 3)
	cfg.CheckpointEvery, cfg.MaxNonFinite, cfg.LogEvery = 0, 0, 0
	res, err := Run(context.Background(), cfg, task, loss)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 3 {
		t.Errorf("ran %d steps, want 3", res.Steps)
	}
	requireFiniteCheckpoint(t, cfg.Dir, 3)
}
