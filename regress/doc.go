// Package regress is the controlled half of the loss ablation: a synthetic box-regression task
// with a known answer and label noise of a chosen kind (clean, light, heavy-tailed), a
// trainer.Task.
//
// A random map f (fixed for every run) turns a 16-dim input into 4 box deltas,
//
//	y = f(x) + noise,  f(x) = A₂·tanh(A₁·x + b₁)  (scaled so each delta has std ≈ 0.5)
//
// and a small MLP learns it from noisy labels; Evaluate measures its L1 and L2 error on a clean
// held-out set, the same for every seed. Its methods run on the torch thread (package
// torchthread), as trainer.Run calls them.
package regress
