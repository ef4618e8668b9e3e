// Package dynamic holds schedulers that adapt the β of a Smooth L1 box
// regression loss from the statistics of each batch: RetinaMask's
// self-adjusting rule (SelfAdjusting), Dynamic R-CNN's rule (DynamicRCNN),
// and a constant (Fixed) so that experiments compare like with like.
//
// # Conventions
//
// Data are row-major [N, D] slices of box deltas, D = 4 columns (dx, dy, dw,
// dh) in the encoded units the loss sees. The residual is d = pred − target.
// A row holding NaN or ±Inf in any column, or a finite magnitude above
// stats.MaxAbs (≈3.6e134, where the moments would overflow), is excluded from
// every statistic and counted; it never reaches a scheduler's state. "Finite
// rows" below means the rows that are not excluded.
//
// One training step is
//
//	sum  ← Summarize(pred, target, D, s.Requirement())   // or fill it on a device
//	err  ← s.Observe(sum)                                 // absorb the batch
//	β    ← s.Beta(dst)                                    // β per column for this step's loss
//
// and Step does the three. A Summary is D-sized and exact to merge: workers
// of a data-parallel run each summarize their shard, merge the summaries
// (Summary.Merge) and feed the merged one to identical schedulers, so every
// replica uses the same β, the one a single worker would compute on the
// concatenated batch. MarshalBinary and UnmarshalBinary carry a Summary
// between processes bit for bit (about 120 bytes for four columns and ten
// smallest values), so every replica merges the same bits in the same order.
//
// The rules, per column j unless stated:
//
//	SelfAdjusting (Fu, Shvets & Berg 2019, RetinaMask):
//	    μ_j  ← (1 − m)·μ_j  + m·mean_batch(|d_j|)
//	    σ²_j ← (1 − m)·σ²_j + m·var_batch(|d_j|)        (unbiased)
//	    β_j  = clip(μ_j − σ²_j, β_min, β̂)                (σ_j instead of σ²_j as an option)
//
//	DynamicRCNN (Zhang et al. 2020, Dynamic R-CNN), one β for all columns:
//	    e_i  = (|d_i0| + |d_i1|) / 2                      per finite row i
//	    record the k-th smallest e, k = min(K, rows)      each step with rows > 0
//	    every C records: β ← min(β₀, median(records)), records cleared
//
//	Fixed: β constant.
//
// # Checkpoints
//
// State and Restore move a scheduler's full state (configuration, running
// statistics, window, counters) to and from a versioned, self-describing JSON
// envelope with a CRC-32, so that a resumed run continues the exact β
// trajectory (floats round-trip bit for bit). Restore rejects a blob of
// another kind, version, dimension or configuration, or one that is
// truncated, corrupt or holds non-finite values, and leaves the scheduler
// unchanged when it does.
//
// # Errors
//
// Caller bugs panic with a constant message prefixed by "dynamic: ", as
// gonum does: slices of different lengths, a length that is not a multiple
// of D, D ≤ 0. Bad configuration values, summaries that do not fit a
// scheduler (another D, too few smallest values, non-finite statistics) and
// bad state blobs return errors wrapping one of the exported Err values, so
// callers can test them with errors.Is; the message names the field.
//
// # Concurrency
//
// Schedulers and Summaries are not safe for concurrent use. Each worker
// owns its own; merge Summaries after the workers are done with them.
package dynamic
