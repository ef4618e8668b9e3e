package spec

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/dynamic"
)

// FuzzParse parses arbitrary text as a loss spec. Invariants: no panic; an error wraps ErrSpec
// and its text begins "spec: bad loss spec "; a spec that parses parses again from its
// String() to the same Text, Name and loss (a static loss's canonical String(), which also
// parses back to itself; a scheduler's Name and State), and its scheduler observes a small
// batch and gives a finite β ≥ 0 in every column.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"l1", "l2", "smoothl1", "smoothl1:beta=0.11", " smoothl1:beta=0 ", "huber:delta=2",
		"balancedl1:beta=0.11,alpha=0.25", "sasl", "sasl:betamax=1,momentum=0.2,std,shared",
		"sasl:betamax=1,mean0=0.5,var0=0.1", "dsl", "dsl:k=5,interval=20,beta0=0.5",
		"fixed:beta=0", "fixed:beta=0.25",
		"", "smoothl2", "l1:beta=1", "smoothl1:beta=NaN", "smoothl1:beta=1,beta=2", "sasl:fast",
		"sasl:momentum=0", "dsl:k=2.5", "dsl:interval=-3", "fixed", "sasl:,", "sasl:std,std",
		"smoothl1:beta=0x1p-3", "smoothl1:beta=1_0", "dsl:k=+3", "smoothl1:beta=1e308",
		"dsl:interval=9223372036854775807", "dsl:k=9223372036854775807", "dsl:k=4611686018427387904",
		"sasl:betamax=1e308,mean0=-1e308,var0=1e308",
		// Once crashers: a huge interval or K was allocated ahead in full (out of memory).
		"dsl:interval=1000000000000", "dsl:k=1000000000000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrSpec) || !strings.HasPrefix(err.Error(), "spec: bad loss spec ") {
				t.Fatalf("Parse(%q) = %q: want an ErrSpec beginning %q", text, err, "spec: bad loss spec ")
			}
			return
		}
		if s.Text != strings.TrimSpace(text) || s.Scheduled() == (s.Static != nil) {
			t.Fatalf("Parse(%q) = %+v", text, s)
		}
		again, err := Parse(s.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %v, but it came from Parse(%q)", s.String(), err, text)
		}
		if again.Text != s.Text || again.Name != s.Name || again.Scheduled() != s.Scheduled() {
			t.Fatalf("Parse(%q) = %+v, Parse(String()) = %+v", text, s, again)
		}
		if s.Static != nil {
			canon := s.Static.String()
			if again.Static.String() != canon {
				t.Fatalf("%q: loss %s, then %s", text, canon, again.Static)
			}
			c, err := Parse(canon)
			if err != nil || c.Static.String() != canon {
				t.Fatalf("the canonical form %q of %q does not parse back to itself: %v, %v", canon, text, c.Static, err)
			}
			return
		}
		a, b := mustScheduler(t, s), mustScheduler(t, again)
		if a.Name() != b.Name() {
			t.Fatalf("%q: scheduler %s, then %s", text, a.Name(), b.Name())
		}
		sa, err := a.State()
		if err != nil {
			t.Fatal(err)
		}
		sb, err := b.State()
		if err != nil || string(sa) != string(sb) {
			t.Fatalf("%q: states differ (%v):\n%s\n%s", text, err, sa, sb)
		}
		// A small batch: every scheduler the spec can build must take it.
		pred := []float64{0.1, -0.2, 0.3, 0.05, 1, 2, -3, 0.5, 0, 0, 0, 0}
		target := make([]float64, len(pred))
		beta, err := dynamic.Step(a, pred, target, 4, nil, nil)
		if err != nil {
			t.Fatalf("%q: Step: %v", text, err)
		}
		for j, v := range beta {
			if !(v >= 0) || math.IsInf(v, 0) {
				t.Fatalf("%q: β%d = %v after a step", text, j, v)
			}
		}
	})
}

func mustScheduler(t *testing.T, s Spec) dynamic.Scheduler {
	t.Helper()
	sch, err := s.NewScheduler(4)
	if err != nil {
		t.Fatalf("%q parsed but NewScheduler(4) = %v", s.Text, err)
	}
	return sch
}
