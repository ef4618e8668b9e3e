package static

import (
	"encoding/json"
	"errors"
	"flag"
	"math"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	columns := func(beta ...float64) func() error {
		return func() error {
			_, err := SmoothL1Columns(beta, Mean, nil, nil, make([]float32, 4*len(beta)), make([]float32, 4*len(beta)), nil)
			return err
		}
	}
	ctor := func(f func() error) func() error { return f }
	for _, tc := range []struct {
		name  string
		call  func() error
		want  error
		param string // must appear in the message
	}{
		{"smoothl1 β<0", ctor(func() error { _, err := NewSmoothL1(-1); return err }), ErrNegativeBeta, "beta"},
		{"smoothl1 β tiny negative", ctor(func() error { _, err := NewSmoothL1(-1e-300); return err }), ErrNegativeBeta, "beta"},
		{"smoothl1 β NaN", ctor(func() error { _, err := NewSmoothL1(nan); return err }), ErrNotFinite, "beta"},
		{"smoothl1 β +Inf", ctor(func() error { _, err := NewSmoothL1(inf); return err }), ErrNotFinite, "beta"},
		{"smoothl1 β −Inf", ctor(func() error { _, err := NewSmoothL1(-inf); return err }), ErrNotFinite, "beta"},
		{"huber δ=0", ctor(func() error { _, err := NewHuber(0); return err }), ErrNonPositiveDelta, "delta"},
		{"huber δ<0", ctor(func() error { _, err := NewHuber(-2); return err }), ErrNonPositiveDelta, "delta"},
		{"huber δ NaN", ctor(func() error { _, err := NewHuber(nan); return err }), ErrNotFinite, "delta"},
		{"huber δ Inf", ctor(func() error { _, err := NewHuber(inf); return err }), ErrNotFinite, "delta"},
		{"balanced α=0", ctor(func() error { _, err := NewBalancedL1(0, 1.5, 1); return err }), ErrNonPositiveParam, "alpha"},
		{"balanced γ<0", ctor(func() error { _, err := NewBalancedL1(0.5, -1, 1); return err }), ErrNonPositiveParam, "gamma"},
		{"balanced β=0", ctor(func() error { _, err := NewBalancedL1(0.5, 1.5, 0); return err }), ErrNonPositiveParam, "beta"},
		{"balanced β NaN", ctor(func() error { _, err := NewBalancedL1(0.5, 1.5, nan); return err }), ErrNotFinite, "beta"},
		{"balanced α Inf", ctor(func() error { _, err := NewBalancedL1(inf, 1.5, 1); return err }), ErrNotFinite, "alpha"},
		{"balanced e^(γ/α) overflows", ctor(func() error { _, err := NewBalancedL1(1e-3, 1e3, 1); return err }), ErrNotFinite, "gamma/alpha"},
		{"parse reduction", ctor(func() error { _, err := ParseReduction("avg"); return err }), ErrUnknownReduction, "avg"},
		{"parse reduction empty", ctor(func() error { _, err := ParseReduction(""); return err }), ErrUnknownReduction, "reduction"},
		{"parse reduction case", ctor(func() error { _, err := ParseReduction("Mean"); return err }), ErrUnknownReduction, "Mean"},
		{"eval bad reduction", ctor(func() error {
			_, err := Eval[float64](L1{}, Reduction(7), nil, nil, []float64{1}, []float64{0}, nil)
			return err
		}), ErrUnknownReduction, "Reduction(7)"},
		{"eval negative reduction", ctor(func() error {
			_, err := Eval[float64](L1{}, Reduction(-1), nil, nil, nil, nil, nil)
			return err
		}), ErrUnknownReduction, "Reduction(-1)"},
		{"columns bad reduction", ctor(func() error {
			_, err := SmoothL1Columns[float32]([]float64{1}, Reduction(3), nil, nil, nil, nil, nil)
			return err
		}), ErrUnknownReduction, "Reduction(3)"},
		{"eval zero Huber", ctor(func() error {
			_, err := Eval[float64](Huber{}, Mean, nil, nil, nil, nil, nil)
			return err
		}), ErrNonPositiveDelta, "delta"},
		{"eval zero BalancedL1", ctor(func() error {
			_, err := Eval[float64](BalancedL1{}, Mean, nil, nil, nil, nil, nil)
			return err
		}), ErrNonPositiveParam, "alpha"},
		{"columns β[2]<0", columns(0.1, 0.1, -0.5, 0.1), ErrNegativeBeta, "beta[2]"},
		{"columns β[3] NaN", columns(0.1, 0.1, 0.1, nan), ErrNotFinite, "beta[3]"},
		{"columns β[0] Inf", columns(inf), ErrNotFinite, "beta[0]"},
	} {
		err := tc.call()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want errors.Is %v", tc.name, err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.param) {
			t.Errorf("%s: message %q does not name %q", tc.name, err, tc.param)
		}
		var pe *ParamError
		if errors.As(err, &pe) && pe.Param != tc.param {
			t.Errorf("%s: ParamError.Param = %q, want %q", tc.name, pe.Param, tc.param)
		}
	}
	// Valid edge values are not errors.
	for _, b := range []float64{0, math.Copysign(0, -1), 5e-324, 1e-6, 1e300} {
		if _, err := NewSmoothL1(b); err != nil {
			t.Errorf("NewSmoothL1(%v): %v", b, err)
		}
	}
	// An error leaves grad untouched.
	grad := []float32{7, 7, 7, 7}
	if _, err := SmoothL1Columns([]float64{1, 1, -1, 1}, Sum, grad, nil, make([]float32, 4), make([]float32, 4), nil); err == nil || grad[0] != 7 {
		t.Errorf("grad written despite error %v: %v", err, grad)
	}
}

func TestPanics(t *testing.T) {
	f := func(n int) []float64 { return make([]float64, n) }
	for _, tc := range []struct {
		name string
		call func()
		want string
	}{
		{"target", func() { Eval(L1{}, Mean, nil, nil, f(3), f(2), nil) }, msgLengthMismatch},
		{"weights", func() { Eval(L1{}, Mean, nil, nil, f(3), f(3), f(4)) }, msgLengthMismatch},
		{"grad", func() { Eval(L1{}, Mean, f(2), nil, f(3), f(3), nil) }, msgLengthMismatch},
		{"values", func() { Eval(L1{}, None, nil, f(0), f(3), f(3), nil) }, msgLengthMismatch},
		{"columns target", func() { SmoothL1Columns([]float64{1, 1}, Mean, nil, nil, f(4), f(6), nil) }, msgLengthMismatch},
		{"columns not multiple of D", func() { SmoothL1Columns([]float64{1, 1, 1, 1}, Mean, nil, nil, f(6), f(6), nil) }, msgNotMultiple},
		{"columns D=0", func() { SmoothL1Columns(nil, Mean, nil, nil, f(0), f(0), nil) }, msgNoColumns},
	} {
		func() {
			defer func() {
				if r := recover(); r != tc.want {
					t.Errorf("%s: panic %v, want %q", tc.name, r, tc.want)
				}
			}()
			tc.call()
		}()
	}
	for _, msg := range []string{msgLengthMismatch, msgNotMultiple, msgNoColumns} {
		if !strings.HasPrefix(msg, "static: ") {
			t.Errorf("panic message %q lacks the package prefix", msg)
		}
	}
}

func TestReductionText(t *testing.T) {
	for _, r := range []Reduction{Mean, Sum, None} {
		got, err := ParseReduction(r.String())
		if err != nil || got != r {
			t.Errorf("ParseReduction(%q) = %v, %v", r, got, err)
		}
	}
	if Reduction(0) != Mean {
		t.Error("the zero Reduction is not Mean")
	}
	var cfg struct{ R Reduction }
	if err := json.Unmarshal([]byte(`{"R":"sum"}`), &cfg); err != nil || cfg.R != Sum {
		t.Errorf("json: %v %v", cfg.R, err)
	}
	if err := json.Unmarshal([]byte(`{"R":"summ"}`), &cfg); !errors.Is(err, ErrUnknownReduction) {
		t.Errorf("json bad reduction: %v", err)
	}
	if _, err := json.Marshal(struct{ R Reduction }{Reduction(9)}); !errors.Is(err, ErrUnknownReduction) {
		t.Errorf("json marshal bad reduction: %v", err)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var r Reduction
	fs.TextVar(&r, "reduction", Mean, "")
	if err := fs.Parse([]string{"-reduction=none"}); err != nil || r != None {
		t.Errorf("flag: %v %v", r, err)
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		l          Loss
		name, spec string
	}{
		{L1{}, "l1", "l1"},
		{L2{}, "l2", "l2"},
		{mustSmoothL1(t, 0.11), "smoothl1", "smoothl1:beta=0.11"},
		{mustSmoothL1(t, 1.0/9), "smoothl1", "smoothl1:beta=0.1111111111111111"},
		{mustHuber(t, 1), "huber", "huber:delta=1"},
		{mustBalanced(t, 0.5, 1.5, 1), "balancedl1", "balancedl1:alpha=0.5,gamma=1.5,beta=1"},
	} {
		if tc.l.Name() != tc.name || tc.l.String() != tc.spec {
			t.Errorf("%T: Name %q String %q, want %q %q", tc.l, tc.l.Name(), tc.l.String(), tc.name, tc.spec)
		}
	}
}
