// Package torchthread owns the one OS thread on which this toolkit, and your code beside it,
// calls libtorch.
//
// Why: libtorch keeps its grad mode (and a few other switches) per OS thread, and gotch turns
// grad mode off and on around VarStore and NoGrad work. A goroutine that Go moves to another
// thread between those calls trains with the wrong mode: measured unpinned, 2 of 15 runs of a
// small Adam fit failed at the first step with "element 0 of tensors does not require grad".
// Every gotch call of this toolkit therefore runs inside Do, on one goroutine locked to one OS
// thread for the life of the process.
//
// # Your own gotch code
//
// If you train your own gotch model with a loss of package tensorloss, run your whole step (the
// forward pass, the loss, Backward, the optimizer) inside one Do, or NoGrad for evaluation:
//
//	err := torchthread.Do(func() error {
//		pred := torchthread.Must(model.ForwardT(x, true)) // your ops: on the torch thread
//		loss := torchthread.Must(boxLoss.Forward(pred, target, nil))
//		...
//	})
//
// Do may be called from any goroutine (calls are serialised) and from inside Do (it then runs
// directly), so code that mixes your calls and the toolkit's needs no care beyond that. Create
// your VarStore and model inside Do as well. examples/gotchloop is a complete loop.
//
// # Tensor lifetimes
//
// gotch frees a tensor's C memory in a finalizer and does not keep operands alive across the C
// call, so a tensor whose last Go use is as an operand can be freed while libtorch still reads
// it (seen as a SIGSEGV inside atg_sub). Code on the torch thread follows these rules (Scratch
// keeps rules 1 and 2 in one place):
//
//  1. Name every operand: no tensor is created inline inside another call's argument list in
//     a loop (x.MustAdd(y.MustMul(z, false), false) leaks the product until the GC finds it and
//     leaves its lifetime to the finalizer).
//  2. Drop temporaries explicitly with MustDrop (or the del flag of gotch's calls) after their
//     last use. The drop is also what keeps a tensor alive until then; where a tensor outlives
//     the loop instead, end its use with runtime.KeepAlive.
//  3. Use gotch's error-returning calls, not its Must* ones, which call log.Fatal and end the
//     process; wrap them in this package's Must and Check, which end the enclosing Do with the
//     error. Do also turns any other panic inside fn into an error.
//  4. In-place gotch calls (Add_, Zero_, ...) replace the tensor's C handle without freeing the
//     old one, which keeps a reference to the storage: on a temporary that leaks the storage.
//     Update long-lived tensors with Copy_ (no new handle) and build temporaries out of place.
//
// An absent optional tensor argument is passed as an undefined tensor (ts.NewTensor()), never
// nil, and an optional int list as a non-empty slice: gotch takes &x[0] of it.
package torchthread

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	lib "github.com/sugarme/gotch/libtch"
)

type job struct {
	fn   func() error
	done chan error
}

var (
	start  sync.Once
	jobs   chan job
	tid    atomic.Uint64 // self() of the torch goroutine, 0 until it runs
	inside atomic.Bool   // a job is running on the torch goroutine
)

func loop() {
	runtime.LockOSThread() // never unlocked: the thread is the torch thread for good
	tid.Store(self())
	for j := range jobs {
		inside.Store(true)
		err := call(j.fn)
		inside.Store(false)
		j.done <- err
	}
}

// call runs fn and turns a panic into an error, so that a gotch Must* panic or a bug in a
// training step fails the step instead of the process.
func call(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if t, ok := r.(thrown); ok {
				err = t.err
				return
			}
			err = fmt.Errorf("torchthread: panic on the torch thread: %v\n%s", r, debug.Stack())
		}
	}()
	return fn()
}

// thrown carries an error from Must or Check to the Do that runs the code.
type thrown struct{ err error }

// Must returns v, or, when err is not nil, ends the enclosing Do with err. It lets a sequence of
// gotch's error-returning calls read as one expression each:
//
//	y := torchthread.Must(x.Abs(false))
//
// Must may only be used inside Do; elsewhere its panic is not recovered.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(thrown{err})
	}
	return v
}

// Check ends the enclosing Do with err when err is not nil (see Must).
func Check(err error) {
	if err != nil {
		panic(thrown{err})
	}
}

// Do runs fn on the torch thread and returns its error; a panic in fn is returned as an error.
// Calls from many goroutines are serialised. Do may be called from inside fn (it then runs the
// nested function directly), so library code can wrap its own work in Do without knowing
// whether its caller already did.
func Do(fn func() error) error {
	start.Do(func() {
		jobs = make(chan job)
		go loop()
	})
	if inside.Load() && self() == tid.Load() {
		return call(fn)
	}
	done := make(chan error, 1)
	jobs <- job{fn: fn, done: done}
	return <-done
}

// Call runs fn on the torch thread and returns its result.
func Call[T any](fn func() (T, error)) (T, error) {
	var out T
	err := Do(func() error {
		var err error
		out, err = fn()
		return err
	})
	return out, err
}

// OnThread reports whether the calling goroutine is the torch goroutine inside Do. Code that
// must not be called outside Do can check it.
func OnThread() bool { return inside.Load() && self() == tid.Load() }

// LibtorchVersion is the major.minor version of the libtorch that gotch was built against, as
// recorded by scripts/setup.sh ("1.13" for Debian's, "2.1" for the official distribution).
func LibtorchVersion() string { return lib.LibtorchVersion }
