// Package trainer trains box regressors with this project's losses on libtorch, through gotch.
//
// The losses on tensors are package tensorloss; this package is the training loop. Run trains a
// Task (the regression task of package regress, the detector of package detectors, or one of
// your own) with a tensorloss.Loss: an optimizer written over gotch tensors (SGD with momentum, AdamW) so that its
// buffers checkpoint, a learning-rate schedule (linear warm-up, then constant, step or cosine),
// gradient clipping by global norm, one JSON line of metrics per step, a progress bar or log
// lines, and checkpoints that resume a run exactly.
//
// # Exact resume
//
// A checkpoint holds every model variable and optimizer buffer bit for bit, the scheduler's own
// versioned state, the step, and the length of metrics.jsonl at that step; it is written
// atomically (temporary file, fsync, rename) and ends with a SHA-256 of its content. A Task's
// batch is a function of the step and its seed, so the step is the data position. On CPU a run
// stopped at any step and resumed therefore equals the uninterrupted run in weights, metrics and
// β trace. A checkpoint that is truncated, corrupted, of another format version, of another
// configuration or of another model is refused with an error naming the problem. The previous
// checkpoint is kept as checkpoint.prev.ckpt: when checkpoint.ckpt fails verification, a resume
// sets it aside (checkpoint.corrupt-<time>.ckpt), warns, and continues from the previous one;
// temporary files left by a write that was killed are removed.
//
// # Failure policy
//
// A step whose loss or gradient norm is not finite applies no update and logs a null loss;
// MaxNonFinite such steps in a row stop the run with ErrDiverged, keeping the last checkpoint,
// and no checkpoint is ever written from a state holding a non-finite value. A cancelled context
// (SIGINT in the command) writes a checkpoint of the steps completed and returns.
//
// # Threads and tensors
//
// All gotch calls run on the torch thread (package torchthread): Run and the losses call
// torchthread.Do themselves, and a Task's methods are called inside it. Every function says who
// drops the tensors it returns; temporaries are dropped explicitly.
package trainer
