//go:build !purego

package simd

import "golang.org/x/sys/cpu"

var (
	haveAVX    = cpu.X86.HasAVX
	haveAVX512 = cpu.X86.HasAVX512F
)
