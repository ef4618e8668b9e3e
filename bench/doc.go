// Package bench measures the project's speed claims as ratios taken in one run on one
// machine: the machines it runs on are shared and noisy, so an absolute time means little
// and a ratio of two cases timed side by side means a lot. `smoothl1 bench` prints the
// table (Markdown) and writes it as JSON; `make bench` runs the quick table.
//
// # Method
//
// Every comparison prepares its data once (float32 [N, 4] row-major box deltas: target ~
// 0.2·N(0, 1), pred = target + 0.1·N(0, 1)), runs each case twice to warm up, calibrates how
// many operations make a sample last Options.MinSample, then runs Options.Reps repetitions.
// A repetition takes Options.Rounds samples of every case, interleaved (A, B, C, then C, B,
// A, ...); a case's time in the repetition is its fastest sample, and the ratio of two cases
// is formed within the repetition:
//
//	ratio_r = time_r(first case) / time_r(second case)
//
// The table gives the median, minimum and maximum of ratio_r over the repetitions, the
// elements (or images) per second of both cases at their median time, and whether the median
// meets the row's target. The ratio's direction is in its name: "native / ours" is a
// speed-up of ours (target ≥), "ours / native" a cost (target ≤).
//
// Times are read from the process's CPU clock by default (CPUClock: every thread of the
// process, Go's garbage collector included, but not the turns other processes take on the
// CPU); every operation is single-threaded (Go on one goroutine, libtorch on one intra-op
// thread, set by Run and restored after), so on an idle machine this is its wall time.
// WallClock is the alternative. Operations run on the torch thread (package torchthread).
//
// # Rows
//
//  1. The pure-Go fused SASL step (dynamic.Step with SelfAdjusting: statistics and β; then
//     static.SmoothL1Columns: loss and gradient into a reused buffer) against libtorch's
//     smooth_l1_loss(β = 0.11, mean) forward and backward through gotch on the same values
//     ("native / ours", target ≥ 2), and against a copy ("copy / ours", which is ours'
//     elements/s over the copy's, target ≥ 0.3). The copy is two memmoves of pred and
//     target into a buffer: it reads the 8 bytes per element the step must read and writes
//     8, where the step writes a 4-byte gradient.
//  2. The tensor dynamic loss, tensorloss.NewDynamicLoss with SelfAdjusting (mean; EngineAuto),
//     forward and backward, against the native op ("ours / native", target ≤ 1.5).
//  3. RetinaMask's published AdjustSmoothL1Loss composed in gotch (abs, per-column mean
//     and var, one host sync per step, clamp, where), forward and backward, against ours and
//     against the native op; no target (measured at 11–20× the native op when the issue was
//     written). Rows 2 and 3 are one measurement of three interleaved cases.
//  4. One Dynamic R-CNN update, the k = 10 smallest e by selection (dynamic.Step) against a
//     full sort of every row's e ("selection / sort", no target); and linear scaling: the
//     selection's cost per element at each N over its lowest across the sizes ("ns/element
//     ÷ lowest", target ≤ 2, a flat cost per element). Sizes are measured one after the
//     other, not interleaved.
//  5. One detector training step (package detectors, batch 8 of a 16-image synthetic set,
//     one VarStore: zero grads, StepLoss, backward) with the box loss sasl against
//     smoothl1:beta=0.11, both built as recipe's detect kind builds them (static.Sum): target ≤ 1.03.
//     A step varies by far more than 3% from one run to the next on a shared machine, so a
//     second line derives the same ratio from the one thing that differs, the box loss:
//     (step(smoothl1) + Δ) / step(smoothl1), with Δ the difference of the two box losses'
//     forward and backward timed interleaved at the steps' median number of positive
//     anchors. The direct line is the measurement; the derived line is the one precise to
//     the target's scale.
//  6. One training step of package regress's task (MLP 16-64-64-4, ReLU; batch 256; zero the
//     gradients, forward, smoothl1:beta=0.11 mean, the loss read to the host as the trainer
//     does, backward, clip at global norm 10, AdamW lr 2e-3, weight decay 1e-4, on a fixed
//     batch) against the same step in its PyTorch twin ("pytorch / ours", target ≥ 1). The
//     data, metrics and checkpoints of `smoothl1 train` are not in it; a second line, with
//     no target, times a whole `smoothl1 train --task regress --loss smoothl1:beta=0.11
//     --steps 200` run (recipe.Run in a fresh folder: setup, every batch drawn, the initial
//     and final evaluation, metrics.jsonl, the final checkpoint) against 200 bare steps of
//     the twin, interleaved with the step's cases, and gives its steps/s.
//  7. One training step of package detectors' default network (group norm, FPN width 32,
//     one conv per head tower, 9 anchors; batch 16 of a 16-image synthetic set; zero the
//     gradients, StepLoss with smoothl1:beta=0.11 summed, the loss read to the host, backward,
//     clip at norm 10, AdamW lr 8e-3, weight decay 1e-4, always step 0's batch) against the
//     same step in its PyTorch twin ("pytorch / ours", target ≥ 1). Both draw the batch and
//     match the anchors every step from the same inputs (detectors.StepInput's Sources: the
//     decoded images' bytes, boxes and flips; the anchors, matcher and coder): ours in Go, as
//     StepLoss does; the twin as a PyTorch user would, the images through the normalisation
//     table and flipped one at a time then stacked, and the anchors matched one image at a
//     time as torchvision's RetinaNet does (torchvision.ops.box_iou and the Matcher and
//     BoxCoder of torchvision.models.detection._utils, in float64). Before timing, the twin's
//     targets must equal ours (every class, validity and positive index; encoded boxes within
//     1e-6), beside the losses of row 6's check. A second line, with no target, times the
//     twin on step 0's images and targets given once ("pytorch with the targets given /
//     ours"): the network, loss and optimizer alone on its side, the whole step on ours.
//     A third line, with no target, times a whole `smoothl1 train --task detect --loss
//     smoothl1:beta=0.11 --steps 20` run (recipe.Run on the default synthetic dataset,
//     generated beforehand: setup, the batches, the final evaluation of the validation set,
//     metrics.jsonl, the final checkpoint) against 20 bare steps of the twin; at 20 steps the
//     evaluation and set-up weigh far more than in an 800-step run.
//  8. Data-parallel scaling of the detector step from 1 to 2 ranks on this machine: `smoothl1
//     train --task detect --loss sasl --batch 16` (a 16-image synthetic set) in one process and
//     with --nproc 2 (8 images per rank), one libtorch thread per process, run by
//     Options.Executable. A step's time is the wall time between two lines of rank 0's
//     metrics.jsonl (the whole step: batch, forward, backward, collectives, update, metrics),
//     the median of a run's steps after two of warm-up; a repetition is one run of each, in
//     alternating order, and the row has at most 5 of them (3 with Quick). Two lines, no
//     target: "1 rank / 2 ranks", the speed-up for the same global batch, and "collectives /
//     step", the share of the 2-rank step rank 0 spends in collectives (comm_seconds: the
//     summaries', positives' and step report's all-gathers and the gradients' all-reduce,
//     waiting for the other rank included). Wall time whatever Clock says: two processes
//     share the machine, whose other load the note gives. Without Options.Executable the
//     lines say "skipped".
//
// # PyTorch twins
//
// Rows 6 and 7 compare with a PyTorch script committed in bench/twins (regress.py,
// detector.py; embedded in the binary and written to a temporary folder), run by TwinPython
// (/usr/bin/python3 with Debian's python3-torch; `make bench` installs it when missing).
// Without it the row is a line with
// status "skipped: python3-torch not installed", not met. The Go side builds its model with
// its seed, writes the initial weights, the batch and the settings to a twin exchange file
// (WriteArrays: raw little-endian float32 with a JSON header; bench/twins/twinfile.py reads
// it) and runs one step; the twin loads them into its own model, runs one step, and answers
// its parameter count, the loss at step 0 and the loss on the same batch after the step.
// Before anything is timed the bench requires equal parameter counts, step-0 losses within
// a relative 1e-5 (float32: only the kernels' summation order may differ) and losses after
// one step within 1e-4 (the step goes through backward, the clip and AdamW, whose first update
// divides by √v̂); otherwise the line has status "FAILED: twin mismatch: ..." and no ratio.
// (On libtorch 1.13 on both sides the losses agree bit for bit.)
//
// The twin is timed in its own process, interleaved with ours like any other case
// (Case.Sample): the bench asks it for K steps and it answers their seconds on its own clock
// of the table's kind (time.process_time for the CPU clock: every thread of the twin's
// process), with libtorch on one thread in both processes. Both processes load the
// system's libblas.so.3 for libtorch's matmuls; Machine.BLAS names it (torchthread.BLAS).
// `make setup` installs Debian's OpenBLAS (OpenMP build), whose threads are libtorch's
// OpenMP threads, so the one-thread setting holds for the BLAS too; with Debian's default,
// the reference BLAS, row 6 is mostly its sgemm on both sides (64 % of ours' step).
//
// Peak memory: when Options.Executable is set (`smoothl1 bench` sets it to its own
// binary), rows 6 and 7 also run one `smoothl1 train` of their task in a child process (the
// regression run of 200 steps; the detector's first 30 steps and its evaluation; one thread)
// and report its peak resident memory (final.json's peak_rss_bytes: VmHWM) beside the twin process's
// after its timed steps, in the JSON (peak_rss) and as a note.
//
// JSON (Report.WriteJSON) is a list of objects, one per line of the table, with at least
// row, name, n, ratio_median, ratio_min, ratio_max, target (">= 2", or null), met (true,
// false, or null without a target), the two cases (num, den) with seconds and per_second,
// and the run's quick, clock, rounds and machine.
//
// # go test -bench counterparts
//
// The benchmarks of this package run the table's own cases, one b.Run per size and case,
// with b.SetBytes (pred and target, 8 bytes per element) and an Melem/s metric, so that
// benchstat compares them and a profile explains a line of the table:
//
//	row 1     BenchmarkSASLStep/N=…/{ours,native,copy}
//	rows 2–3  BenchmarkTensorLoss/N=…/{native,ours,retinamask}
//	row 4     BenchmarkDSLUpdate/N=…/{selection,sort}
//	row 5     BenchmarkDetectorStep/{sasl,smoothl1:beta=0.11}, BenchmarkBoxLoss/N=…/{…}
//	rows 6–7  BenchmarkTrainStep/{regress,detector} (ours alone; the twin's side runs in Python)
//	row 8     none (it times `smoothl1 train` processes)
//
//	go test -run '^$' -bench 'TensorLoss/N=1e5/ours' -cpuprofile /tmp/x.prof ./bench/
//	go tool pprof -top /tmp/x.prof
//
// The parts have their own benchmarks, not repeated here: static BenchmarkSmoothL1 (the
// fused loss kernel), dynamic BenchmarkSummarize, BenchmarkSelfAdjustingTrainStep (row 1's
// ours) and BenchmarkSchedulerStep/dsl (row 4's selection), stats BenchmarkAddAbsDiff and
// BenchmarkKthSmallest, and tensorloss BenchmarkLoss and BenchmarkLossRatios (every tensor
// form of the dynamic losses against the native op). All of them time internal/benchdata's
// data.
package bench
