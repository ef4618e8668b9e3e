package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/static"
)

func TestParseStatic(t *testing.T) {
	cases := []struct {
		spec string
		want string // the loss's canonical String()
	}{
		{"l1", "l1"},
		{"l2", "l2"},
		{"smoothl1", "smoothl1:beta=1"},
		{"smoothl1:beta=0.11", "smoothl1:beta=0.11"},
		{" smoothl1:beta=0 ", "smoothl1:beta=0"},
		{"huber", "huber:delta=1"},
		{"huber:delta=2", "huber:delta=2"},
		{"balancedl1", "balancedl1:alpha=0.5,gamma=1.5,beta=1"},
		{"balancedl1:beta=0.11,alpha=0.25", "balancedl1:alpha=0.25,gamma=1.5,beta=0.11"},
	}
	for _, c := range cases {
		s, err := Parse(c.spec)
		if err != nil {
			t.Fatalf("%q: %v", c.spec, err)
		}
		if s.Scheduled() || s.Static == nil || s.Static.String() != c.want {
			t.Errorf("%q parsed to %v, want %s", c.spec, s.Static, c.want)
		}
		if _, err := s.NewScheduler(4); !errors.Is(err, ErrSpec) {
			t.Errorf("%q: NewScheduler gave %v, want an ErrSpec", c.spec, err)
		}
	}
}

func TestParseScheduled(t *testing.T) {
	cases := []struct {
		spec     string
		wantType string
		beta0    float64 // β before any batch
	}{
		{"sasl", "*dynamic.SelfAdjusting", 0.11},
		{"sasl:betamax=1,momentum=0.2,std,shared", "*dynamic.SelfAdjusting", 1},
		{"sasl:betamax=1,mean0=0.5,var0=0.1", "*dynamic.SelfAdjusting", 0.4},
		{"dsl", "*dynamic.DynamicRCNN", 1},
		{"dsl:k=5,interval=20,beta0=0.5", "*dynamic.DynamicRCNN", 0.5},
		{"fixed:beta=0", "*dynamic.Fixed", 0},
		{"fixed:beta=0.25", "*dynamic.Fixed", 0.25},
	}
	for _, c := range cases {
		s, err := Parse(c.spec)
		if err != nil {
			t.Fatalf("%q: %v", c.spec, err)
		}
		sch, err := s.NewScheduler(4)
		if err != nil {
			t.Fatalf("%q: %v", c.spec, err)
		}
		if got := typeName(sch); got != c.wantType {
			t.Errorf("%q built a %s, want %s", c.spec, got, c.wantType)
		}
		b := sch.Beta(nil)
		if len(b) != 4 || b[0] != c.beta0 || b[3] != c.beta0 {
			t.Errorf("%q: initial β %v, want 4 × %v", c.spec, b, c.beta0)
		}
		l, err := s.InitialLoss()
		if err != nil {
			t.Fatal(err)
		}
		if sl, ok := l.(static.SmoothL1); !ok || sl.Beta() != c.beta0 {
			t.Errorf("%q: initial loss %v, want smoothl1 at β %v", c.spec, l, c.beta0)
		}
	}
	s, _ := Parse("sasl:shared")
	sch, _ := s.NewScheduler(4)
	if !sch.(*dynamic.SelfAdjusting).Config().Shared {
		t.Error("sasl:shared did not set Shared")
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *dynamic.SelfAdjusting:
		return "*dynamic.SelfAdjusting"
	case *dynamic.DynamicRCNN:
		return "*dynamic.DynamicRCNN"
	case *dynamic.Fixed:
		return "*dynamic.Fixed"
	}
	return "other"
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		spec, want string
	}{
		{"", `unknown loss ""`},
		{"smoothl2", "accepted: balancedl1, dsl, fixed, huber, l1, l2, sasl, smoothl1"},
		{"l1:beta=1", "l1 has no parameter \"beta\" (accepted: no parameters)"},
		{"smoothl1:delta=1", `(accepted: beta=)`},
		{"smoothl1:beta=abc", `beta: "abc" is not a number`},
		{"smoothl1:beta=NaN", "not finite"},
		{"smoothl1:beta=Inf", "not finite"},
		{"smoothl1:beta=-1", "beta"},
		{"smoothl1:beta=1,beta=2", "beta given twice"},
		{"huber:delta=0", "delta"},
		{"balancedl1:gamma=-1", "gamma"},
		{"sasl:fast", `sasl does not take "fast" (accepted: betamax=, betamin=, mean0=, momentum=, shared, std, var0=)`},
		{"sasl:momentum=0", "momentum=0: must be > 0"},
		{"sasl:momentum=1.5", "omentum"},
		{"sasl:betamin=0.5,betamax=0.1", "etaMin"},
		{"dsl:k=0", "k=0: must be > 0"},
		{"dsl:k=2.5", `k: "2.5" is not an integer`},
		{"dsl:interval=-3", "interval=-3: must be > 0"},
		{"fixed", "fixed needs beta="},
		{"fixed:beta=-0.1", "eta"},
	}
	for _, c := range cases {
		_, err := Parse(c.spec)
		if err == nil || !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an ErrSpec containing %q", c.spec, err, c.want)
		}
	}
}
