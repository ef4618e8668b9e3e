// Package tensorloss is the box regression losses on gotch tensors: the fixed-shape losses of
// package static (NewStaticLoss) and Smooth L1 with a β scheduler of package dynamic
// (NewDynamicLoss), for [N, D] prediction and target tensors, with the values and gradients of
// the pure-Go static package. Drop one into any gotch training loop:
//
//	sch, _ := dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{BetaMax: 0.11}, 4)
//	loss, _ := tensorloss.NewDynamicLoss(sch, static.Sum)
//	value, err := loss.Forward(pred, target, nil) // on the torch thread; drop value after Backward
//
// or build it from a loss spec with FromSpec. Every Forward observes the batch (the scheduler
// reads the residual's summary, SummarizeTensor), asks the scheduler for β and returns the loss
// with a gradient for pred.
//
// # Threads
//
// libtorch's grad mode is per OS thread, so the loss, the model and the optimizer must run on
// one thread: Forward runs inside torchthread.Do, and the caller's own gotch code must run there
// too (see package torchthread and examples/gotchloop). Forward drops every temporary it makes;
// the caller drops what it returns.
package tensorloss
