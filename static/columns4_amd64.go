//go:build !purego

package static

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// smoothL1Cols4AVX runs the cols4 kernel over n elements (n a multiple of 16) with AVX.
// mode is modeValue (grad not touched), modeStore or modeStream (non-temporal stores;
// grad 32-byte aligned). It is in columns4_amd64.s.
//
//go:noescape
func smoothL1Cols4AVX(k *cols4, grad, pred, target *float32, n, mode int) float64

const (
	modeValue = iota
	modeStore
	modeStream
)

// useAVX is whether the CPU and OS support AVX (x/sys/cpu checks CPUID and that the OS
// saves the YMM state); tests turn it off to run the Go kernel.
var useAVX = cpu.X86.HasAVX

// smoothL1Cols4 is the cols4 kernel: the assembly over whole blocks of 16 elements, the
// Go kernel for what is left. len(pred) must be a multiple of 4 unless all four columns
// are equal; grad is nil or as long as pred.
func smoothL1Cols4(k *cols4, grad, pred, target []float32) float64 {
	n := len(pred)
	if !useAVX || n < 32 {
		return smoothL1Cols4Go(k, grad, pred, target)
	}
	target = target[:n]
	mode, head := modeValue, 0
	if grad != nil {
		grad = grad[:n]
		mode = modeStore
		if n*4 >= streamBytes {
			// Non-temporal stores need 32-byte alignment; a 16-byte aligned grad gets
			// there after one row in Go, which keeps the column phase.
			switch uintptr(unsafe.Pointer(&grad[0])) % 32 {
			case 0:
				mode = modeStream
			case 16:
				mode, head = modeStream, 4
			}
		}
	}
	var sum float64
	if head > 0 {
		sum = smoothL1Cols4Go(k, grad[:head], pred[:head], target[:head])
	}
	m := (n - head) &^ 15
	gp := &pred[head] // not written in modeValue
	if grad != nil {
		gp = &grad[head]
	}
	sum += smoothL1Cols4AVX(k, gp, &pred[head], &target[head], m, mode)
	if rest := head + m; rest < n {
		var g []float32
		if grad != nil {
			g = grad[rest:]
		}
		sum += smoothL1Cols4Go(k, g, pred[rest:], target[rest:])
	}
	return sum
}
