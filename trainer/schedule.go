package trainer

import (
	"fmt"
	"math"
)

// Decay is the shape of the learning rate after warm-up.
type Decay int

const (
	// Constant keeps the base rate.
	Constant Decay = iota
	// StepDecay multiplies the rate by Gamma at each of Milestones.
	StepDecay
	// Cosine anneals from the base rate to MinLR over the steps after warm-up.
	Cosine
)

func (d Decay) String() string {
	switch d {
	case Constant:
		return "constant"
	case StepDecay:
		return "step"
	case Cosine:
		return "cosine"
	}
	return fmt.Sprintf("Decay(%d)", int(d))
}

// ParseDecay parses "constant", "step" or "cosine".
func ParseDecay(s string) (Decay, error) {
	for _, d := range []Decay{Constant, StepDecay, Cosine} {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("trainer: unknown decay %q (accepted: constant, step, cosine)", s)
}

// Schedule gives the learning rate of each step (steps count from 0):
//
//	warm-up, s < W:        lr(s) = base·(s + 1)/W
//	then Constant:         base
//	     StepDecay:        base·Gamma^(number of milestones ≤ s)
//	     Cosine:           MinLR + (base − MinLR)·(1 + cos(π·(s − W)/(total − W)))/2
type Schedule struct {
	Base       float64 // base rate > 0
	Warmup     int64   // W ≥ 0 warm-up steps
	Decay      Decay
	Milestones []int64 // StepDecay: steps at which the rate drops, ascending
	Gamma      float64 // StepDecay: factor in (0, 1]; 0 means 0.1
	MinLR      float64 // Cosine: final rate ≥ 0
}

// Validate checks s as Run does, naming the bad field.
func (s Schedule) Validate() error {
	switch {
	case !(s.Base > 0) || math.IsInf(s.Base, 0):
		return fmt.Errorf("trainer: learning rate %v: want a finite value > 0", s.Base)
	case s.Warmup < 0:
		return fmt.Errorf("trainer: warm-up %d steps: want ≥ 0", s.Warmup)
	case s.Decay != Constant && s.Decay != StepDecay && s.Decay != Cosine:
		return fmt.Errorf("trainer: unknown decay %v", s.Decay)
	case s.Gamma < 0 || s.Gamma > 1:
		return fmt.Errorf("trainer: step decay gamma %v: want (0, 1]", s.Gamma)
	case !(s.MinLR >= 0) || s.MinLR > s.Base:
		return fmt.Errorf("trainer: cosine MinLR %v: want [0, base]", s.MinLR)
	}
	for i := 1; i < len(s.Milestones); i++ {
		if s.Milestones[i] <= s.Milestones[i-1] {
			return fmt.Errorf("trainer: milestones %v: want ascending", s.Milestones)
		}
	}
	return nil
}

// LR returns the rate of step s of a run of total steps.
func (s Schedule) LR(step, total int64) float64 {
	if step < s.Warmup {
		return s.Base * float64(step+1) / float64(s.Warmup)
	}
	switch s.Decay {
	case StepDecay:
		g := s.Gamma
		if g == 0 {
			g = 0.1
		}
		lr := s.Base
		for _, m := range s.Milestones {
			if step >= m {
				lr *= g
			}
		}
		return lr
	case Cosine:
		span := total - s.Warmup
		if span <= 0 {
			return s.Base
		}
		f := float64(step-s.Warmup) / float64(span)
		return s.MinLR + (s.Base-s.MinLR)*(1+math.Cos(math.Pi*f))/2
	}
	return s.Base
}
