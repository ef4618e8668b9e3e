package detectors

import (
	"maps"
	"slices"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/internal/testsupport/torchtest"
	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
	"github.com/smoothl1/smoothl1/trainer"
)

// BenchmarkStep times one training step (batch 16, forward, backward and an AdamW update) of
// network shapes, one libtorch thread: what a schedule's training time is made of.
//
//	go test -run '^$' -bench Step -benchtime 20x ./detectors/
func BenchmarkStep(b *testing.B) {
	torchtest.OneThread(b)
	dir := b.TempDir()
	if err := coco.Generate(dir, coco.GenerateOptions{Images: 32, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	archs := []struct {
		name string
		arch Arch
	}{
		{"before-2026-12", archBefore2026_12},
		{"gn-fpn48-tower2", Arch{FPNWidth: 48, TowerDepth: 2}},
		{"gn-fpn32-tower2", Arch{FPNWidth: 32, TowerDepth: 2}},
		{"default", Arch{}},
	}
	for _, a := range archs {
		b.Run(a.name, func(b *testing.B) {
			err := tt.Do(func() error {
				d, err := New(Config{Data: dir, BatchSize: 16, Seed: 1, Flip: true, Arch: a.arch})
				if err != nil {
					return err
				}
				tt.Check(tt.ManualSeed(1))
				vs := nn.NewVarStore(gotch.CPU)
				defer vs.Destroy()
				if err := d.Build(vs.Root()); err != nil {
					return err
				}
				vars := vs.Variables()
				var names []string
				var params []*ts.Tensor
				for _, name := range slices.Sorted(maps.Keys(vars)) {
					v := vars[name]
					names, params = append(names, name), append(params, &v)
				}
				opt, err := trainer.NewOptimizer(trainer.OptimizerConfig{Kind: trainer.AdamW}, names, params)
				if err != nil {
					return err
				}
				loss, err := tensorloss.FromSpec("smoothl1:beta=0.11", 4, static.Sum)
				if err != nil {
					return err
				}
				step := int64(0)
				one := func() error {
					tt.Check(opt.ZeroGrad())
					total, _, err := d.StepLoss(step, loss)
					if err != nil {
						return err
					}
					step++
					defer total.MustDrop()
					tt.Check(total.Backward())
					return opt.Step(1e-3)
				}
				if err := one(); err != nil {
					return err
				}
				b.ResetTimer()
				for b.Loop() {
					if err := one(); err != nil {
						return err
					}
				}
				b.ReportMetric(16*float64(b.N)/b.Elapsed().Seconds(), "images/s")
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}
