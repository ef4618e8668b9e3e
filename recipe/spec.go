package recipe

import (
	"errors"
	"fmt"

	"github.com/smoothl1/smoothl1/internal/strictjson"
	"github.com/smoothl1/smoothl1/spec"
	"github.com/smoothl1/smoothl1/trainer"
)

// ErrSpec is wrapped by every error of a Spec's validation: a usage error.
var ErrSpec = errors.New("recipe: bad training spec")

// FieldError is a validation error of one field (its JSON name); it wraps ErrSpec and Err.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string   { return fmt.Sprintf("%v: %s: %v", ErrSpec, e.Field, e.Err) }
func (e *FieldError) Unwrap() []error { return []error{ErrSpec, e.Err} }

// Spec is one training run: what to train (the task, the loss spec, the seed) and how
// (Settings). Its JSON form is the one sweep configs and run records use.
type Spec struct {
	Task string `json:"task"`           // a registered task kind: "regress", "detect", or yours
	Loss string `json:"loss,omitempty"` // loss spec (package spec)
	Seed uint64 `json:"seed,omitempty"` // initial weights and batches
	Settings
}

// Settings are a run's data and schedule. Zero fields take the defaults (see the package
// documentation): the task's for Steps, Batch, LR and Warmup, and otherwise the ones given
// here.
type Settings struct {
	// Noise is the label noise of a task that adds it (regress: clean, light or heavy; heavy
	// when absent).
	Noise string `json:"noise,omitempty"`
	// Data is the dataset folder of a task that reads one (detect); "" means its default
	// dataset, generated on first use (Kind.Prepare).
	Data        string  `json:"data,omitempty"`
	Steps       int64   `json:"steps,omitempty"`
	Batch       int     `json:"batch,omitempty"`
	LR          float64 `json:"lr,omitempty"`
	Warmup      int64   `json:"warmup,omitempty"`       // negative: none
	Optimizer   string  `json:"optimizer,omitempty"`    // sgd or adamw; adamw when absent
	WeightDecay float64 `json:"weight_decay,omitempty"` // 1e-4 when absent; negative: none
	Momentum    float64 `json:"momentum,omitempty"`     // SGD; 0.9 when absent
	Clip        float64 `json:"clip,omitempty"`         // global gradient norm; 10 when absent; negative: none
	Decay       string  `json:"decay,omitempty"`        // constant, step or cosine; cosine when absent
	// CheckpointEvery is the number of steps between checkpoints; 500 when absent.
	CheckpointEvery int64 `json:"checkpoint_every,omitempty"`
	// MaxNonFinite is the number of non-finite steps in a row that stop the run; 10 when absent.
	MaxNonFinite int `json:"max_nonfinite,omitempty"`
}

// Project-wide defaults of the fields that no task sets.
const (
	DefaultWeightDecay     = 1e-4
	DefaultMomentum        = 0.9
	DefaultClip            = 10
	DefaultCheckpointEvery = 500
	DefaultMaxNonFinite    = 10
)

// Resolved is a validated Spec with every default filled in, none spelled as 0, and the
// parsed forms trainer.Run takes.
type Resolved struct {
	Spec
	Kind      *Kind
	Optimizer trainer.OptimizerConfig
	Schedule  trainer.Schedule
}

// Validate checks s without resolving it; see Resolve.
func (s Spec) Validate() error {
	_, err := s.Resolve()
	return err
}

// Resolve checks s and fills its defaults. Errors wrap ErrSpec and name the field.
func (s Spec) Resolve() (Resolved, error) {
	bad := func(field, format string, a ...any) (Resolved, error) {
		return Resolved{}, &FieldError{field, fmt.Errorf(format, a...)}
	}
	k, err := Lookup(s.Task)
	if err != nil {
		return Resolved{}, err
	}
	if s.Loss == "" {
		return bad("loss", "missing")
	}
	if _, err := spec.Parse(s.Loss); err != nil {
		return bad("loss", "%v", err)
	}
	if err := s.Settings.check(k); err != nil {
		return Resolved{}, err
	}
	r := Resolved{Spec: s, Kind: k}
	set := &r.Spec.Settings
	def := k.Defaults
	fill(&set.Steps, def.Steps)
	fill(&set.Warmup, def.Warmup)
	if set.Batch == 0 {
		set.Batch = def.Batch
	}
	fill(&set.LR, def.LR)
	fill(&set.WeightDecay, DefaultWeightDecay)
	fill(&set.Clip, DefaultClip)
	fill(&set.Momentum, DefaultMomentum)
	fill(&set.CheckpointEvery, DefaultCheckpointEvery)
	if set.MaxNonFinite == 0 {
		set.MaxNonFinite = DefaultMaxNonFinite
	}
	if set.Optimizer == "" {
		set.Optimizer = "adamw"
	}
	if set.Decay == "" {
		set.Decay = "cosine"
	}
	if k.Reads.Noise && set.Noise == "" {
		set.Noise = def.Noise
	}
	opt, _ := trainer.ParseOptimizer(set.Optimizer)
	decay, _ := trainer.ParseDecay(set.Decay)
	r.Optimizer = trainer.OptimizerConfig{Kind: opt, WeightDecay: set.WeightDecay}
	if opt == trainer.SGD {
		r.Optimizer.Momentum = set.Momentum
	}
	r.Schedule = trainer.Schedule{Base: set.LR, Warmup: set.Warmup, Decay: decay}
	if err := r.Optimizer.Validate(); err != nil {
		return Resolved{}, &FieldError{"optimizer", err}
	}
	if err := r.Schedule.Validate(); err != nil {
		return Resolved{}, &FieldError{"schedule", err}
	}
	return r, nil
}

// fill applies the package's rule for absent values to *v: 0 takes d, a negative value means
// none (0).
func fill[T int64 | float64](v *T, d T) {
	switch {
	case *v == 0:
		*v = d
	case *v < 0:
		*v = 0
	}
}

// Check validates settings for a task kind without a loss (a sweep's task, whose losses are
// its variants). Errors wrap ErrSpec and name the field.
func (s Settings) Check(task string) error {
	k, err := Lookup(task)
	if err != nil {
		return err
	}
	return s.check(k)
}

func (s Settings) check(k *Kind) error {
	bad := func(field, format string, a ...any) error {
		return &FieldError{field, fmt.Errorf(format, a...)}
	}
	switch {
	case s.Steps < 0:
		return bad("steps", "%d: must not be negative", s.Steps)
	case s.Batch < 0:
		return bad("batch", "%d: must not be negative", s.Batch)
	case s.LR < 0:
		return bad("lr", "%g: must not be negative", s.LR)
	case s.Momentum < 0 || s.Momentum >= 1:
		return bad("momentum", "%g: want 0 ≤ momentum < 1 (0: the default)", s.Momentum)
	case s.CheckpointEvery < 0:
		return bad("checkpoint_every", "%d: must not be negative", s.CheckpointEvery)
	case s.MaxNonFinite < 0:
		return bad("max_nonfinite", "%d: must not be negative", s.MaxNonFinite)
	case s.Data != "" && !k.Reads.Data:
		return bad("data", "the %s task reads no dataset", k.Name)
	case s.Noise != "" && !k.Reads.Noise:
		return bad("noise", "the %s task has no label noise", k.Name)
	}
	if s.Optimizer != "" {
		if _, err := trainer.ParseOptimizer(s.Optimizer); err != nil {
			return bad("optimizer", "%v", err)
		}
	}
	if s.Decay != "" {
		if _, err := trainer.ParseDecay(s.Decay); err != nil {
			return bad("decay", "%v", err)
		}
	}
	if k.Validate != nil {
		if err := k.Validate(s); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return fe
			}
			return &FieldError{"task", fmt.Errorf("%s: %w", k.Name, err)}
		}
	}
	return nil
}

// ParseSpec reads a Spec from JSON: unknown keys and trailing data are errors, and so is
// anything Validate refuses.
func ParseSpec(data []byte) (Spec, error) {
	var s Spec
	if err := strictjson.Unmarshal(data, &s); err != nil {
		return Spec{}, fmt.Errorf("%w: %v", ErrSpec, err)
	}
	return s, s.Validate()
}
