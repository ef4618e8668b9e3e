package coco_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/smoothl1/smoothl1/detectors/coco"
)

// BenchmarkGenerate: whole datasets, PNGs and JSON written atomically with fsync.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			for b.Loop() {
				if err := coco.Generate(dir, coco.GenerateOptions{Images: n, Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkBatch: training batches of 128×128 images with flips, into a reused Batch.
func BenchmarkBatch(b *testing.B) {
	dir := b.TempDir()
	if err := coco.Generate(dir, coco.GenerateOptions{Images: 250, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	ds, err := coco.Load(filepath.Join(dir, "train.json"), filepath.Join(dir, "images"), coco.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bs := range []int{8, 32, 128} {
		b.Run(fmt.Sprintf("B=%d", bs), func(b *testing.B) {
			l, err := coco.NewLoader(ds, coco.LoaderOptions{BatchSize: bs, Flip: true, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			var batch coco.Batch
			b.ReportAllocs()
			step := int64(0)
			for b.Loop() {
				l.Fill(&batch, step)
				step++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
			b.ReportMetric(float64(bs*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkNewLoader: decoding and letterboxing 200 PNGs once.
func BenchmarkNewLoader(b *testing.B) {
	dir := b.TempDir()
	if err := coco.Generate(dir, coco.GenerateOptions{Images: 250, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	ds, err := coco.Load(filepath.Join(dir, "train.json"), filepath.Join(dir, "images"), coco.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := coco.NewLoader(ds, coco.LoaderOptions{BatchSize: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ds.Images)*b.N)/b.Elapsed().Seconds(), "images/s")
}
