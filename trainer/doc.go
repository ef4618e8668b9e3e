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
// # Data parallel
//
// With a Config.Group of W > 1 ranks (package distributed), Run is one rank of a data-parallel
// run; every rank calls it with the same Config (but Group) and the same kind of task, which
// must be a ShardedTask. The ranks split each step's batch of B into W shards of B/W (the task
// refuses a B that W does not divide), so that a run of W ranks trains on the batches a run of
// one process would. Every step:
//
//  1. each rank computes the loss of its shard; a β-scheduled loss gets the whole batch's
//     summary (tensorloss.DynamicLoss.SetCombine: the summaries all-gathered and merged in rank
//     order), so every replica applies the same β, the one one process would compute on the
//     whole batch; a task's normaliser of the whole batch goes through the sum over the ranks
//     that ShardedTask.SetShard receives;
//  2. the ranks exchange their losses, named parts and β: metrics.jsonl records the loss and
//     parts averaged over the ranks (the whole batch's), a non-finite loss on any rank skips
//     the update on every rank, and ranks whose β differ in any bit stop the run with an error
//     naming them;
//  3. after the backward pass the gradients are averaged over the ranks (one all-reduce of the
//     optimizer's flat gradient buffer), before the clip, as PyTorch's DDP does: the clip norm
//     is the whole batch's, and every rank applies the same update.
//
// Rank 0 starts the run: it alone reads and writes the folder (metrics.jsonl, with the time
// spent in collectives as comm_seconds, checkpoints, and the evaluations), and sends its
// state to the others before the first step: the initial weights (every rank seeds them
// alike anyway) or those of the checkpoint it resumed, the optimizer's buffers and counters,
// and the scheduler's state. So the other ranks need no access to the folder, and a resume
// needs rank 0's folder only. A checkpoint records the world size, and a resume with another
// one is refused (ErrWorldSize): the batches are split by it. A checkpoint of one process
// keeps the bytes it always had, and resumes in one process as before. The ranks check at the
// start that their configurations (Config.Identity) agree.
//
// A rank that fails ends the run: the others fail in their next collective with the
// distributed.RankError naming it (about a second after a rank dies). The interruption of one
// rank (ctx) is told to the others in the step's exchange, and every rank stops after that
// step, rank 0 writing its checkpoint. Rank 0 evaluates alone while the others wait in their
// next collective or have finished: distributed.Config.Timeout must exceed the longest
// evaluation or checkpoint write.
//
// # Threads and tensors
//
// All gotch calls run on the torch thread (package torchthread): Run and the losses call
// torchthread.Do themselves, and a Task's methods are called inside it. Every function says who
// drops the tensors it returns; temporaries are dropped explicitly.
package trainer
