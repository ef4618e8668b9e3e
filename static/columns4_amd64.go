//go:build !purego

package static

import (
	"unsafe"

	"github.com/smoothl1/smoothl1/internal/simd"
)

// smoothL1Cols4AVX runs the cols4 kernel over n elements (n a multiple of 16) with AVX.
// mode is modeValue (grad not touched), modeStore or modeStream (non-temporal stores;
// grad 32-byte aligned). It is in columns4_amd64.s.
//
//go:noescape
func smoothL1Cols4AVX(k *cols4, grad, pred, target *float32, n, mode int) float64

// smoothL1Cols4AVX512 is smoothL1Cols4AVX with 16 elements per ZMM register: the same
// operations on each element, the same sum (its two float64 accumulators are the halves of
// the AVX kernel's four), and in modeStream a 64-byte aligned grad.
//
//go:noescape
func smoothL1Cols4AVX512(k *cols4, grad, pred, target *float32, n, mode int) float64

const (
	modeValue = iota
	modeStore
	modeStream
)

// smoothL1Cols4 is the cols4 kernel: the assembly over whole blocks of 16 elements, the
// Go kernel for what is left. len(pred) must be a multiple of 4 unless all four columns
// are equal; grad is nil or as long as pred.
func smoothL1Cols4(k *cols4, grad, pred, target []float32) float64 {
	n := len(pred)
	if !(simd.AVX || simd.AVX512) || n < 32 {
		return smoothL1Cols4Go(k, grad, pred, target)
	}
	align := uintptr(32)
	if simd.AVX512 {
		align = 64
	}
	target = target[:n]
	mode, head := modeValue, 0
	if grad != nil {
		grad = grad[:n]
		mode = modeStore
		if n*4 >= streamBytes {
			// Non-temporal stores need the register's alignment (32 or 64 bytes); a
			// 16-byte aligned grad gets there after one to three rows in Go, which
			// keeps the column phase.
			if off := uintptr(unsafe.Pointer(&grad[0])) % align; off%16 == 0 {
				mode, head = modeStream, int((align-off)%align/4)
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
	if simd.AVX512 {
		sum += smoothL1Cols4AVX512(k, gp, &pred[head], &target[head], m, mode)
	} else {
		sum += smoothL1Cols4AVX(k, gp, &pred[head], &target[head], m, mode)
	}
	if rest := head + m; rest < n {
		var g []float32
		if grad != nil {
			g = grad[rest:]
		}
		sum += smoothL1Cols4Go(k, g, pred[rest:], target[rest:])
	}
	return sum
}
