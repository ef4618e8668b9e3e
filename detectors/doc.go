// Package detectors is a RetinaNet-style single-shot detector small enough to train on two CPU
// cores in minutes, the real test bed of this project's box-regression losses.
//
// The network (net.go) is a five-stage convolutional backbone, a feature pyramid over strides 8,
// 16 and 32, and RetinaNet's classification and box subnets shared across levels. Detector ties
// it to the data (package coco: COCO instances JSON and images, letterboxing, flips), the anchor
// generator, the IoU matcher and the box coder (package boxes), and COCO-style evaluation
// (package cocoeval). It implements trainer.Task, so trainer.Run trains it with any static or
// β-scheduled loss, with the same checkpoints and exact resume as every other task.
//
// Losses: sigmoid focal loss (α = 0.25, γ = 2, the classification bias initialised to a prior
// probability of 0.01) over every anchor that is not ignored, plus the box loss under study on
// the positive anchors' deltas, each summed and divided by max(1, positive anchors).
//
// Inference: per image, the anchor-class pairs scoring above 0.05, at most 1000 of them by
// score, decoded and clipped to the image, per-class NMS at IoU 0.5, the best 100 kept and mapped
// back to the original image's coordinates.
package detectors

// Defaults of `smoothl1 train --task detect` (recipe's detect kind): 800 steps of 16 images,
// AdamW at lr 8e-3 after 100 warm-up steps, cosine decay, the default Arch (group-normalised,
// a 32-channel pyramid, one conv per head tower).
// Measured side by side on 2 cores (one libtorch thread per run, seed 1, the default synthetic
// dataset): the schedule before (2400 steps at lr 2e-3, warm-up 300, the plain network) and
// this one; docs/detector.md has the table and how it was found.
const (
	DefaultSteps  = 800
	DefaultBatch  = 16
	DefaultLR     = 8e-3
	DefaultWarmup = 100
)
