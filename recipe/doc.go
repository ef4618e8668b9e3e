// Package recipe is the one description of a training run and the registry of tasks it can
// train. `smoothl1 train` builds a Spec from its flags (Flags), a sweep config holds one per
// task (experiments.TaskConfig embeds Settings), and Go callers fill one in; all of them go
// through Spec.Resolve, the one validation and the one rule for absent values, and Run.
//
//	spec := recipe.Spec{Task: "regress", Loss: "sasl", Seed: 1,
//		Settings: recipe.Settings{Noise: "heavy", Steps: 500}}
//	final, err := recipe.Run(ctx, spec, recipe.Options{Dir: "runs/one"})
//
// # Absent values
//
// A Settings field that is zero (absent from JSON) takes the task's default (Kind.Defaults, and
// the project-wide ones listed on Settings). Warmup, WeightDecay and Clip also take a negative
// value, meaning none. Any other negative value is an error naming the field. The command
// line's flags keep their documented meaning (`--clip 0` is off) and Flags maps them to this
// rule in one place.
//
// # Tasks
//
// A task kind (Kind) says how to build a trainer.Task from a Spec, its default schedule, the
// metrics its evaluation reports and which of them is the main one. The regression task
// ("regress", package regress) and the detector ("detect", package detectors) are registered
// by this package; Register adds your own, which `Run` and the ablation (package experiments)
// then train like the built-in ones (examples/ablation).
package recipe
