// Package stats holds the streaming statistics the β schedulers of package
// dynamic are built on: exact, mergeable per-column moments of |residual|,
// exponential moving moments, and order statistics by selection.
//
// # Conventions
//
// Data are row-major [N, D] slices: row i is x[i*D : (i+1)*D]. For box
// regression D = 4 and the columns are the encoded deltas (dx, dy, dw, dh),
// in the units the loss sees, not pixels. Inputs are generic over Float
// (float32 or float64 and types defined on them); every statistic is
// accumulated and returned in float64.
//
// The statistics are of absolute residuals |d| with d = pred − target, the
// quantity a Smooth L1 loss compares with β. Functions come in two forms:
// AddAbs takes residuals d, AddAbsDiff takes pred and target (the hot path
// of a loss, which holds both and has not formed d).
//
// A row holding NaN or ±Inf in any column never enters a statistic: the
// whole row is excluded and counted in Moments.Skipped.
//
// The hot path, AddAbsDiff on float32 data with D = 4, has on amd64 AVX-512 and AVX
// kernels in assembly, with a Go twin (also under the purego build tag) that sums in the
// same order, so all give the same bits.
//
// Functions that write a result take it as dst (or a receiver) and reuse its
// storage, so a steady-state training loop does not allocate.
//
// # Errors
//
// Caller bugs panic with a constant message prefixed by "stats: ", as gonum
// does: slices of different lengths ("stats: length mismatch"), a length that
// is not a multiple of D, D ≤ 0, k out of range, an empty input to Median.
// Bad parameter values and data-derived problems return errors wrapping one
// of the exported Err values (ErrBadMomentum, ErrTooFewRows, ...), so callers
// can test them with errors.Is; the wrapping message names the field.
//
// # Concurrency
//
// Values of the types in this package are not safe for concurrent use.
// Data-parallel workers each fill their own Moments or KSmallest and merge
// them afterwards; the merge is exact (see Moments.Merge).
package stats
