// Package spec parses the one string that names a loss everywhere in this project: on the
// command line, in sweep configs, in results files.
//
//	spec  = name [ ":" item { "," item } ]
//	item  = key "=" value | flag
//
// Fixed-shape losses (package static):
//
//	l1
//	l2                                   ½d²
//	smoothl1:beta=1                      β ≥ 0; β = 0 is exact L1
//	huber:delta=1                        δ > 0
//	balancedl1:alpha=0.5,gamma=1.5,beta=1
//
// Smooth L1 with a β scheduler (package dynamic):
//
//	sasl:betamax=0.11,momentum=0.1,betamin=0.001,mean0=β̂,var0=0[,std][,shared]
//	dsl:k=10,interval=100,beta0=1,source=target   k per image; source=target|residual
//	fixed:beta=0.5                       constant β through the scheduler interface
//
// Every key is optional and takes the default shown (fixed's beta is required). Unknown names,
// keys and flags, repeated keys, values that do not parse, NaN and Inf are errors that say what
// is accepted. The parameters' ranges are checked by the static and dynamic constructors, whose
// errors name the field.
package spec

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/static"
)

// ErrSpec is wrapped by every error Parse returns; the text goes on with the spec quoted:
// spec: bad loss spec "huber:delta=0": ...
var ErrSpec = errors.New("spec: bad loss spec")

// Spec is a parsed loss spec. Exactly one of Static and a scheduler constructor is set.
type Spec struct {
	// Text is the spec as given (trimmed of surrounding space).
	Text string
	// Name is the loss's name: "l1", "smoothl1", "sasl", ...
	Name string
	// Static is the fixed-shape loss, nil for a scheduled Smooth L1.
	Static static.Loss

	newScheduler func(d int) (dynamic.Scheduler, error)
}

// Scheduled reports whether the spec is a Smooth L1 whose β comes from a scheduler.
func (s Spec) Scheduled() bool { return s.newScheduler != nil }

// NewScheduler returns a fresh scheduler for D columns; it is an error for a static spec.
func (s Spec) NewScheduler(d int) (dynamic.Scheduler, error) {
	if s.newScheduler == nil {
		return nil, fmt.Errorf("%w %q: %s is a fixed-shape loss, not a β scheduler", ErrSpec, s.Text, s.Name)
	}
	return s.newScheduler(d)
}

// InitialLoss returns the fixed-shape loss the spec starts from: Static for a static spec, and
// Smooth L1 at the scheduler's initial β for a scheduled one (what a curve of it shows).
func (s Spec) InitialLoss() (static.Loss, error) {
	if s.Static != nil {
		return s.Static, nil
	}
	sch, err := s.newScheduler(4)
	if err != nil {
		return nil, err
	}
	return static.NewSmoothL1(sch.Beta(nil)[0])
}

// String returns Text.
func (s Spec) String() string { return s.Text }

// Canonical returns the spec with every parameter written out, as the program prints a loss
// (static.Loss's String, dynamic.Scheduler's Name): "sasl" is
// "sasl:betamax=0.11,momentum=0.1,betamin=0.001,mean0=0.11,var0=0". Parse(s.Canonical())
// gives the same configuration.
func (s Spec) Canonical() string {
	if s.Static != nil {
		return s.Static.String()
	}
	sch, err := s.newScheduler(4)
	if err != nil {
		return s.Text // Parse built one already: not reached
	}
	return sch.Name()
}

type kind struct {
	keys     map[string]float64  // accepted keys and their defaults (NaN: required; 0 where positive: the config's default)
	words    map[string][]string // keys whose value is a word: the accepted words, the default first
	ints     map[string]bool     // keys whose value is an integer
	positive map[string]bool     // keys whose config field reads 0 as "default": 0 is refused here
	flags    []string
	static   func(v map[string]float64) (static.Loss, error)
	schedule func(v map[string]float64, flags map[string]bool, words map[string]string, d int) (dynamic.Scheduler, error)
}

var required = math.NaN()

var kinds = map[string]kind{
	"l1": {static: func(map[string]float64) (static.Loss, error) { return static.L1{}, nil }},
	"l2": {static: func(map[string]float64) (static.Loss, error) { return static.L2{}, nil }},
	"smoothl1": {
		keys:   map[string]float64{"beta": 1},
		static: func(v map[string]float64) (static.Loss, error) { return static.NewSmoothL1(v["beta"]) },
	},
	"huber": {
		keys:   map[string]float64{"delta": 1},
		static: func(v map[string]float64) (static.Loss, error) { return static.NewHuber(v["delta"]) },
	},
	"balancedl1": {
		keys: map[string]float64{"alpha": 0.5, "gamma": 1.5, "beta": 1},
		static: func(v map[string]float64) (static.Loss, error) {
			return static.NewBalancedL1(v["alpha"], v["gamma"], v["beta"])
		},
	},
	"sasl": {
		keys:     map[string]float64{"betamax": 0.11, "momentum": 0.1, "betamin": 1e-3, "mean0": 0, "var0": 0},
		flags:    []string{"shared", "std"},
		positive: map[string]bool{"betamax": true, "momentum": true, "betamin": true, "mean0": true},
		schedule: func(v map[string]float64, f map[string]bool, _ map[string]string, d int) (dynamic.Scheduler, error) {
			cfg := dynamic.SelfAdjustingConfig{
				Momentum: v["momentum"], BetaMax: v["betamax"], BetaMin: v["betamin"],
				InitMean: v["mean0"], InitVar: v["var0"], Shared: f["shared"],
			}
			if f["std"] {
				cfg.Spread = dynamic.SpreadStd
			}
			return dynamic.NewSelfAdjusting(cfg, d)
		},
	},
	"dsl": {
		keys:     map[string]float64{"k": 10, "interval": 100, "beta0": 1},
		words:    map[string][]string{"source": {"target", "residual"}},
		ints:     map[string]bool{"k": true, "interval": true},
		positive: map[string]bool{"k": true, "interval": true, "beta0": true},
		schedule: func(v map[string]float64, _ map[string]bool, w map[string]string, d int) (dynamic.Scheduler, error) {
			src, err := dynamic.ParseSource(w["source"])
			if err != nil {
				return nil, err
			}
			return dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{
				K: int(v["k"]), Interval: int(v["interval"]), InitBeta: v["beta0"], Source: src,
			}, d)
		},
	},
	"fixed": {
		keys: map[string]float64{"beta": required},
		schedule: func(v map[string]float64, _ map[string]bool, _ map[string]string, d int) (dynamic.Scheduler, error) {
			return dynamic.NewFixed(v["beta"], d)
		},
	},
}

// Names lists the accepted loss names, sorted.
func Names() []string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (k kind) accepted() string {
	var items []string
	for key := range k.keys {
		items = append(items, key+"=")
	}
	for key, ws := range k.words {
		items = append(items, key+"="+strings.Join(ws, "|"))
	}
	items = append(items, k.flags...)
	sort.Strings(items)
	if len(items) == 0 {
		return "no parameters"
	}
	return strings.Join(items, ", ")
}

// Parse parses a loss spec. A scheduled spec is also checked by building a scheduler for D = 4,
// so a bad configuration fails here and not at the first training step.
func Parse(text string) (Spec, error) {
	text = strings.TrimSpace(text)
	name, rest, hasParams := strings.Cut(text, ":")
	k, ok := kinds[name]
	if !ok {
		return Spec{}, fmt.Errorf("%w %q: unknown loss %q (accepted: %s)", ErrSpec, text, name, strings.Join(Names(), ", "))
	}
	values := map[string]float64{}
	for key, def := range k.keys {
		values[key] = def
	}
	flags := map[string]bool{}
	words := map[string]string{}
	for key, ws := range k.words {
		words[key] = ws[0]
	}
	seen := map[string]bool{}
	if hasParams {
		for _, item := range strings.Split(rest, ",") {
			key, val, isKV := strings.Cut(item, "=")
			key = strings.TrimSpace(key)
			if seen[key] {
				return Spec{}, fmt.Errorf("%w %q: %s given twice", ErrSpec, text, key)
			}
			seen[key] = true
			if !isKV {
				if !contains(k.flags, key) {
					return Spec{}, fmt.Errorf("%w %q: %s does not take %q (accepted: %s)", ErrSpec, text, name, item, k.accepted())
				}
				flags[key] = true
				continue
			}
			if ws, ok := k.words[key]; ok {
				w := strings.TrimSpace(val)
				if !contains(ws, w) {
					return Spec{}, fmt.Errorf("%w %q: %s=%s: accepted: %s", ErrSpec, text, key, w, strings.Join(ws, ", "))
				}
				words[key] = w
				continue
			}
			if _, ok := k.keys[key]; !ok {
				return Spec{}, fmt.Errorf("%w %q: %s has no parameter %q (accepted: %s)", ErrSpec, text, name, key, k.accepted())
			}
			v, err := parseValue(strings.TrimSpace(val), k.ints[key])
			if err != nil {
				return Spec{}, fmt.Errorf("%w %q: %s: %v", ErrSpec, text, key, err)
			}
			if k.positive[key] && v <= 0 {
				return Spec{}, fmt.Errorf("%w %q: %s=%s: must be > 0", ErrSpec, text, key, val)
			}
			values[key] = v
		}
	}
	for key, v := range values {
		if math.IsNaN(v) {
			return Spec{}, fmt.Errorf("%w %q: %s needs %s=", ErrSpec, text, name, key)
		}
	}
	s := Spec{Text: text, Name: name}
	if k.static != nil {
		l, err := k.static(values)
		if err != nil {
			return Spec{}, fmt.Errorf("%w %q: %w", ErrSpec, text, err)
		}
		s.Static = l
		return s, nil
	}
	s.newScheduler = func(d int) (dynamic.Scheduler, error) { return k.schedule(values, flags, words, d) }
	if _, err := s.newScheduler(4); err != nil {
		return Spec{}, fmt.Errorf("%w %q: %w", ErrSpec, text, err)
	}
	return s, nil
}

func parseValue(s string, integer bool) (float64, error) {
	if integer {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not an integer", s)
		}
		return float64(n), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not finite", s)
	}
	return v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
