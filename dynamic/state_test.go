package dynamic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// schedulerCases returns constructors of every kind and some options.
func schedulerCases() []struct {
	name string
	make func() Scheduler
} {
	mk := func(s Scheduler, err error) Scheduler {
		if err != nil {
			panic(err)
		}
		return s
	}
	return []struct {
		name string
		make func() Scheduler
	}{
		{"sasl", func() Scheduler { return mk(NewSelfAdjusting(SelfAdjustingConfig{}, 4)) }},
		{"sasl shared std", func() Scheduler {
			return mk(NewSelfAdjusting(SelfAdjustingConfig{Shared: true, Spread: SpreadStd, Momentum: 0.3}, 4))
		}},
		{"dynrcnn", func() Scheduler { return mk(NewDynamicRCNN(DynamicRCNNConfig{K: 4, Interval: 7, Source: Residual}, 4)) }},
		{"fixed", func() Scheduler { return mk(NewFixed(0.11, 4)) }},
	}
}

// TestCheckpointResume: run s steps, State, Restore into a fresh scheduler,
// continue; the β trace must be bit-identical to an uninterrupted run.
func TestCheckpointResume(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	stream := randomStream(rng, 120, 4, []int{0, 1, 2, 7, 50, 400}, 0.05)
	for _, tc := range schedulerCases() {
		for _, at := range []int{0, 1, 33, 61, 119} {
			for _, pretty := range []bool{false, true} {
				full, first := tc.make(), tc.make()
				var trace, resumed [][]float64
				for i, b := range stream {
					beta, err := Step(full, b.pred, b.target, 4, nil, nil)
					if err != nil {
						t.Fatal(err)
					}
					trace = append(trace, beta)
					if i < at {
						if _, err := Step(first, b.pred, b.target, 4, nil, nil); err != nil {
							t.Fatal(err)
						}
					}
				}
				blob, err := first.State()
				if err != nil {
					t.Fatal(err)
				}
				if pretty { // whitespace is not part of the checksum
					var buf bytes.Buffer
					if err := json.Indent(&buf, blob, "", "  "); err != nil {
						t.Fatal(err)
					}
					blob = buf.Bytes()
				}
				second := tc.make()
				if err := second.Restore(blob); err != nil {
					t.Fatalf("%s at %d: %v", tc.name, at, err)
				}
				for _, b := range stream[at:] {
					beta, err := Step(second, b.pred, b.target, 4, nil, nil)
					if err != nil {
						t.Fatal(err)
					}
					resumed = append(resumed, beta)
				}
				for i, beta := range resumed {
					for j := range beta {
						if math.Float64bits(beta[j]) != math.Float64bits(trace[at+i][j]) {
							t.Fatalf("%s resumed at %d: step %d β = %v, uninterrupted %v", tc.name, at, at+i, beta, trace[at+i])
						}
					}
				}
				if second.Counts() != full.Counts() {
					t.Errorf("%s: counts %+v, uninterrupted %+v", tc.name, second.Counts(), full.Counts())
				}
			}
		}
	}
}

// TestStateFloatsBitExact: awkward floats survive State and Restore.
func TestStateFloatsBitExact(t *testing.T) {
	s, _ := NewSelfAdjusting(SelfAdjustingConfig{}, 4)
	vals := []float64{math.Nextafter(0.1, 1), 5e-324, math.MaxFloat64, 1.0 / 3}
	copy(s.RunningMean(), vals)
	copy(s.RunningVar(), vals)
	blob, _ := s.State()
	r, _ := NewSelfAdjusting(SelfAdjustingConfig{}, 4)
	if err := r.Restore(blob); err != nil {
		t.Fatal(err)
	}
	for j, v := range vals {
		if math.Float64bits(r.RunningMean()[j]) != math.Float64bits(v) || math.Float64bits(r.RunningVar()[j]) != math.Float64bits(v) {
			t.Errorf("%d: got %v, %v, want %v", j, r.RunningMean()[j], r.RunningVar()[j], v)
		}
	}
}

// rewrite decodes an envelope, lets edit change it, and re-encodes it with a
// valid checksum: blobs that are well-formed but wrong.
func rewrite(t *testing.T, blob []byte, edit func(env *envelope, state map[string]any)) []byte {
	t.Helper()
	var env envelope
	if err := json.Unmarshal(blob, &env); err != nil {
		t.Fatal(err)
	}
	var state map[string]any
	if err := json.Unmarshal(env.State, &state); err != nil {
		t.Fatal(err)
	}
	edit(&env, state)
	raw, err := json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	env.State = raw
	if env.CRC32, err = checksum(env.Kind, env.Version, env.Dim, env.Config, env.State); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRestoreRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	stream := randomStream(rng, 30, 4, []int{3, 50}, 0)
	trained := func(s Scheduler) Scheduler {
		if s.Dim() != 4 {
			return s
		}
		for _, b := range stream {
			if _, err := Step(s, b.pred, b.target, 4, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	sasl, _ := NewSelfAdjusting(SelfAdjustingConfig{}, 4)
	saslBlob, _ := trained(sasl).State()
	dsl, _ := NewDynamicRCNN(DynamicRCNNConfig{Interval: 7}, 4)
	dslBlob, _ := trained(dsl).State()
	fixed, _ := NewFixed(0.11, 4)
	fixedBlob, _ := trained(fixed).State()

	newSASL := func() Scheduler { s, _ := NewSelfAdjusting(SelfAdjustingConfig{}, 4); return s }
	newDSL := func() Scheduler { s, _ := NewDynamicRCNN(DynamicRCNNConfig{Interval: 7}, 4); return s }
	for _, tc := range []struct {
		name string
		into func() Scheduler
		blob []byte
		want error
		text string
	}{
		{"empty", newSASL, nil, ErrCorruptState, ""},
		{"truncated", newSASL, saslBlob[:len(saslBlob)/2], ErrCorruptState, ""},
		{"truncated by one", newDSL, dslBlob[:len(dslBlob)-1], ErrCorruptState, ""},
		{"trailing data", newSASL, append(append([]byte{}, saslBlob...), "{}"...), ErrCorruptState, "trailing"},
		{"not a state", newSASL, []byte(`{"format":"other"}`), ErrCorruptState, "format"},
		{"wrong kind", newSASL, dslBlob, ErrWrongKind, `kind "dynrcnn", want "sasl"`},
		{"fixed into dynrcnn", newDSL, fixedBlob, ErrWrongKind, `kind "fixed"`},
		{"wrong version", newSASL, rewrite(t, saslBlob, func(e *envelope, _ map[string]any) { e.Version = 3 }), ErrVersion, "version 3"},
		{"wrong D", func() Scheduler { s, _ := NewSelfAdjusting(SelfAdjustingConfig{}, 3); return s }, saslBlob, ErrDimMismatch, "D = 4"},
		{"wrong config", func() Scheduler { s, _ := NewSelfAdjusting(SelfAdjustingConfig{BetaMax: 1}, 4); return s }, saslBlob, ErrConfigMismatch, "beta_max = 0.11 in the state, 1 here"},
		{"wrong window", func() Scheduler { s, _ := NewDynamicRCNN(DynamicRCNNConfig{}, 4); return s }, dslBlob, ErrConfigMismatch, "interval = 7"},
		{"checksum", newSASL, bytes.Replace(saslBlob, []byte(`"counts":{"batches":30`), []byte(`"counts":{"batches":31`), 1), ErrCorruptState, "checksum"},
		{"huge float", newSASL, rewrite(t, saslBlob, func(_ *envelope, s map[string]any) { s["mean"] = json.RawMessage("[1e999,0,0,0]") }), ErrCorruptState, ""},
		{"negative variance", newSASL, rewrite(t, saslBlob, func(_ *envelope, s map[string]any) { s["var"] = []float64{0, -1, 0, 0} }), ErrCorruptState, "var[1]"},
		{"short state", newSASL, rewrite(t, saslBlob, func(_ *envelope, s map[string]any) { s["mean"] = []float64{0} }), ErrCorruptState, "1 means"},
		{"unknown field", newSASL, rewrite(t, saslBlob, func(_ *envelope, s map[string]any) { s["extra"] = 1 }), ErrCorruptState, "unknown field"},
		{"β above β₀", newDSL, rewrite(t, dslBlob, func(_ *envelope, s map[string]any) { s["beta"] = 2 }), ErrCorruptState, "beta = 2"},
		{"full window", newDSL, rewrite(t, dslBlob, func(_ *envelope, s map[string]any) { s["window"] = make([]float64, 7) }), ErrCorruptState, "7 values"},
		{"negative counts", newDSL, rewrite(t, dslBlob, func(_ *envelope, s map[string]any) { s["counts"] = Counts{Batches: -1} }), ErrCorruptState, "counts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := trained(tc.into())
			before, _ := s.State()
			err := s.Restore(tc.blob)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %v, want %v containing %q", err, tc.want, tc.text)
			}
			if after, _ := s.State(); !bytes.Equal(before, after) {
				t.Error("a rejected blob changed the scheduler")
			}
		})
	}
}

// TestRestoreBitFlips flips every bit of a blob, one at a time: every flip
// must be rejected and leave the scheduler unchanged.
func TestRestoreBitFlips(t *testing.T) {
	rng := rand.New(rand.NewPCG(65, 66))
	stream := randomStream(rng, 20, 4, []int{3, 50}, 0)
	for _, tc := range schedulerCases() {
		src := tc.make()
		for _, b := range stream {
			if _, err := Step(src, b.pred, b.target, 4, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		blob, _ := src.State()
		fresh := tc.make()
		freshState, _ := fresh.State()
		accepted := 0
		for i := range blob {
			for bit := range 8 {
				flipped := bytes.Clone(blob)
				flipped[i] ^= 1 << bit
				s := tc.make()
				if err := s.Restore(flipped); err != nil {
					if got, _ := s.State(); !bytes.Equal(got, freshState) {
						t.Fatalf("%s: byte %d bit %d rejected (%v) but changed the state", tc.name, i, bit, err)
					}
					continue
				}
				accepted++
				t.Errorf("%s: byte %d bit %d (%q→%q) accepted", tc.name, i, bit, blob[i], flipped[i])
			}
		}
		if accepted > 0 {
			t.Errorf("%s: %d of %d flips accepted", tc.name, accepted, 8*len(blob))
		}
	}
}

func TestConfigErrors(t *testing.T) {
	sasl := func(c SelfAdjustingConfig) func() error {
		return func() error { _, err := NewSelfAdjusting(c, 4); return err }
	}
	dsl := func(c DynamicRCNNConfig, d int) func() error {
		return func() error { _, err := NewDynamicRCNN(c, d); return err }
	}
	fixed := func(b float64) func() error {
		return func() error { _, err := NewFixed(b, 4); return err }
	}
	for _, tc := range []struct {
		name  string
		f     func() error
		want  error
		field string
	}{
		{"momentum negative", sasl(SelfAdjustingConfig{Momentum: -0.1}), ErrBadMomentum, "SelfAdjustingConfig.Momentum = -0.1"},
		{"momentum above 1", sasl(SelfAdjustingConfig{Momentum: 1.01}), ErrBadMomentum, "SelfAdjustingConfig.Momentum"},
		{"momentum NaN", sasl(SelfAdjustingConfig{Momentum: nan}), ErrBadMomentum, "SelfAdjustingConfig.Momentum = NaN"},
		{"β̂ negative", sasl(SelfAdjustingConfig{BetaMax: -1}), ErrBadBeta, "SelfAdjustingConfig.BetaMax"},
		{"β̂ Inf", sasl(SelfAdjustingConfig{BetaMax: pinf}), ErrBadBeta, "SelfAdjustingConfig.BetaMax = +Inf"},
		{"β_min negative", sasl(SelfAdjustingConfig{BetaMin: -1e-3}), ErrBadBeta, "SelfAdjustingConfig.BetaMin"},
		{"β_min NaN", sasl(SelfAdjustingConfig{BetaMin: nan}), ErrBadBeta, "SelfAdjustingConfig.BetaMin"},
		{"β_min above β̂", sasl(SelfAdjustingConfig{BetaMin: 0.2}), ErrBadBeta, "SelfAdjustingConfig.BetaMin = 0.2 > BetaMax = 0.11"},
		{"μ₀ Inf", sasl(SelfAdjustingConfig{InitMean: pinf}), ErrBadInit, "SelfAdjustingConfig.InitMean"},
		{"σ²₀ negative", sasl(SelfAdjustingConfig{InitVar: -1}), ErrBadInit, "SelfAdjustingConfig.InitVar"},
		{"spread", sasl(SelfAdjustingConfig{Spread: 7}), ErrBadOption, "SelfAdjustingConfig.Spread = Spread(7)"},
		{"K negative", dsl(DynamicRCNNConfig{K: -1}, 4), ErrBadK, "DynamicRCNNConfig.K = -1"},
		{"C negative", dsl(DynamicRCNNConfig{Interval: -5}, 4), ErrBadInterval, "DynamicRCNNConfig.Interval = -5"},
		{"β₀ negative", dsl(DynamicRCNNConfig{InitBeta: -1}, 4), ErrBadBeta, "DynamicRCNNConfig.InitBeta"},
		{"β₀ NaN", dsl(DynamicRCNNConfig{InitBeta: nan}, 4), ErrBadBeta, "DynamicRCNNConfig.InitBeta = NaN"},
		{"D = 1", dsl(DynamicRCNNConfig{}, 1), ErrBadDim, "D = 1"},
		{"fixed negative", fixed(-0.1), ErrBadBeta, "Fixed beta = -0.1"},
		{"fixed Inf", fixed(pinf), ErrBadBeta, "Fixed beta = +Inf"},
		{"fixed NaN", fixed(nan), ErrBadBeta, "Fixed beta = NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f(); !errorIs(err, tc.want, tc.field) {
				t.Errorf("err = %v, want %v naming %q", err, tc.want, tc.field)
			}
		})
	}
	if _, err := NewFixed(0, 4); err != nil {
		t.Errorf("fixed β = 0 (exact L1): %v", err)
	}
}

func TestConstructorPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"sasl D=0":    func() { NewSelfAdjusting(SelfAdjustingConfig{}, 0) },
		"dynrcnn D<0": func() { NewDynamicRCNN(DynamicRCNNConfig{}, -1) },
		"fixed D=0":   func() { NewFixed(0, 0) },
	} {
		func() {
			defer func() {
				if r := recover(); r != msgBadDim {
					t.Errorf("%s: panic = %v, want %q", name, r, msgBadDim)
				}
			}()
			f()
		}()
	}
}

func ExampleFixed() {
	s, err := NewFixed(0.11, 4)
	if err != nil {
		panic(err)
	}
	pred := []float32{0.3, 0.1, 0, 0, float32(nan), 0, 0, 0}
	beta, err := Step(s, pred, make([]float32, len(pred)), 4, nil, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Name(), beta, s.Counts().SkippedRows)
	// Output: fixed:beta=0.11 [0.11 0.11 0.11 0.11] 1
}

func ExampleSelfAdjusting_State() {
	s, _ := NewSelfAdjusting(SelfAdjustingConfig{}, 4)
	pred := []float32{0.05, 0.10, 0.20, 0.40, 0.15, 0.00, 0.20, 0.10}
	target := make([]float32, len(pred))
	if _, err := Step(s, pred, target, 4, nil, nil); err != nil {
		panic(err)
	}
	blob, err := s.State() // save with the model checkpoint
	if err != nil {
		panic(err)
	}

	resumed, _ := NewSelfAdjusting(SelfAdjustingConfig{}, 4)
	if err := resumed.Restore(blob); err != nil {
		panic(err)
	}
	fmt.Println(resumed.Beta(nil)[0] == s.Beta(nil)[0], resumed.Counts().Batches)

	other, _ := NewDynamicRCNN(DynamicRCNNConfig{}, 4)
	fmt.Println(other.Restore(blob))
	// Output:
	// true 1
	// dynamic: state of another scheduler kind: kind "sasl", want "dynrcnn"
}

// TestCountsSaturate: counters restored near math.MaxInt64 stop there instead of wrapping
// negative, so the state a scheduler writes after them still restores.
func TestCountsSaturate(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	stream := randomStream(rng, 6, 4, []int{0, 1, 30}, 0.3)
	near := Counts{Batches: math.MaxInt64 - 2, Empty: math.MaxInt64 - 3, SkippedRows: math.MaxInt64 - 1}
	for _, tc := range schedulerCases() {
		s := tc.make()
		switch v := s.(type) {
		case *SelfAdjusting:
			v.counts = near
		case *DynamicRCNN:
			v.counts = near
		case *Fixed:
			v.counts = near
		default:
			t.Fatalf("%s: unknown scheduler type %T", tc.name, s)
		}
		for _, b := range stream {
			if _, err := Step(s, b.pred, b.target, 4, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		got := s.Counts()
		if got.Batches != math.MaxInt64 || got.SkippedRows != math.MaxInt64 || got.Empty < near.Empty {
			t.Fatalf("%s: counts %+v after %d batches from %+v", tc.name, got, len(stream), near)
		}
		blob, err := s.State()
		if err != nil {
			t.Fatal(err)
		}
		again := tc.make()
		if err := again.Restore(blob); err != nil {
			t.Fatalf("%s: the state after saturated counts does not restore: %v", tc.name, err)
		}
		if again.Counts() != got {
			t.Fatalf("%s: restored counts %+v, want %+v", tc.name, again.Counts(), got)
		}
	}
}
