package spec

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/static"
)

// randomSpec writes a random valid spec of the named kind: every key set or left to its
// default at random, values drawn over each parameter's valid range (0 where it is allowed,
// values with many digits so that printing must keep them exactly), flags at random.
func randomSpec(rng *rand.Rand, name string) string {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	var items []string
	add := func(key string, v any) {
		if rng.IntN(3) > 0 {
			items = append(items, fmt.Sprintf("%s=%v", key, v))
		}
	}
	switch name {
	case "smoothl1":
		add("beta", []float64{0, u(0, 5)}[rng.IntN(2)])
	case "huber":
		add("delta", u(1e-3, 5))
	case "balancedl1":
		add("alpha", u(0.1, 1))
		add("gamma", u(0.5, 3))
		add("beta", u(0.01, 3))
	case "sasl":
		betamax := u(0.01, 2)
		items = append(items, fmt.Sprintf("betamax=%v", betamax))
		add("momentum", u(1e-3, 1))
		add("betamin", u(1e-6, betamax))
		add("mean0", u(1e-3, 3))
		add("var0", []float64{0, u(0, 1)}[rng.IntN(2)])
		for _, f := range []string{"std", "shared"} {
			if rng.IntN(2) == 0 {
				items = append(items, f)
			}
		}
	case "dsl":
		add("k", 1+rng.IntN(64))
		add("interval", 1+rng.IntN(500))
		add("beta0", u(1e-3, 3))
		add("source", []string{"target", "residual"}[rng.IntN(2)])
	case "fixed":
		items = append(items, fmt.Sprintf("beta=%v", u(0, 3)))
	}
	rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	if len(items) == 0 {
		return name
	}
	return name + ":" + strings.Join(items, ",")
}

// built is what a spec configures: the static loss, or a fresh scheduler for D = 4.
func built(t *testing.T, s Spec) any {
	t.Helper()
	if !s.Scheduled() {
		return s.Static
	}
	sch, err := s.NewScheduler(4)
	if err != nil {
		t.Fatalf("%s: NewScheduler: %v", s.Text, err)
	}
	return sch
}

// printed is the name the program prints for a configured loss.
func printed(x any) string {
	switch v := x.(type) {
	case static.Loss:
		return v.String()
	case dynamic.Scheduler:
		return v.Name()
	}
	panic(fmt.Sprintf("printed: %T", x))
}

// TestNamesParseBack is the property that every name the program prints parses back to the
// same loss: for random valid specs of every kind, the printed name of the configured loss or
// scheduler parses to an equal configuration (compared field by field, a fresh scheduler's
// whole state included), and printing that again gives the same text.
func TestNamesParseBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 1))
	for _, name := range Names() {
		for i := 0; i < 300; i++ {
			text := randomSpec(rng, name)
			s, err := Parse(text)
			if err != nil {
				t.Fatalf("random spec %q: %v", text, err)
			}
			a := built(t, s)
			back, err := Parse(printed(a))
			if err != nil {
				t.Fatalf("%q prints as %q, which does not parse: %v", text, printed(a), err)
			}
			b := built(t, back)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%q prints as %q, which parses to another configuration:\n%#v\n%#v", text, printed(a), a, b)
			}
			if printed(b) != printed(a) || s.Canonical() != printed(a) || back.Canonical() != printed(a) {
				t.Fatalf("%q: printed %q, then %q; Canonical %q", text, printed(a), printed(b), s.Canonical())
			}
		}
	}
}

// TestDefaultNames pins the canonical names of the defaults (what reports and run records show).
func TestDefaultNames(t *testing.T) {
	want := map[string]string{
		"l1":                  "l1",
		"l2":                  "l2",
		"smoothl1":            "smoothl1:beta=1",
		"huber":               "huber:delta=1",
		"balancedl1":          "balancedl1:alpha=0.5,gamma=1.5,beta=1",
		"sasl":                "sasl:betamax=0.11,momentum=0.1,betamin=0.001,mean0=0.11,var0=0",
		"sasl:std,shared":     "sasl:betamax=0.11,momentum=0.1,betamin=0.001,mean0=0.11,var0=0,std,shared",
		"dsl":                 "dsl:k=10,interval=100,beta0=1,source=target",
		"dsl:source=residual": "dsl:k=10,interval=100,beta0=1,source=residual",
		"fixed:beta=0.5":      "fixed:beta=0.5",
	}
	for text, name := range want {
		s, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Canonical(); got != name {
			t.Errorf("%s: canonical %q, want %q", text, got, name)
		}
	}
}
