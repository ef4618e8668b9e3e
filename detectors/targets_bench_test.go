package detectors

import (
	"testing"

	"github.com/smoothl1/smoothl1/detectors/coco"
)

// BenchmarkBuildTargets times the host side of a training step's input: filling the default
// batch of 16 images (Fill) and matching the anchors of every image (buildTargets), as
// StepLoss does every step.
//
//	go test -run '^$' -bench BuildTargets ./detectors/
func BenchmarkBuildTargets(b *testing.B) {
	dir := b.TempDir()
	if err := coco.Generate(dir, coco.GenerateOptions{Images: DefaultBatch, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	d, err := New(Config{Data: dir, BatchSize: DefaultBatch, Seed: 1, Flip: true})
	if err != nil {
		b.Fatal(err)
	}
	var batch coco.Batch
	d.trainL.Fill(&batch, 0)
	b.Run("fill", func(b *testing.B) {
		for b.Loop() {
			d.trainL.Fill(&batch, 0)
		}
	})
	b.Run("match", func(b *testing.B) {
		b.ReportAllocs()
		var t targets
		for b.Loop() {
			d.buildTargets(&t, &batch)
		}
	})
}
