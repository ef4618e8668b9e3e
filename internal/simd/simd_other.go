//go:build !amd64 || purego

package simd

const (
	haveAVX    = false
	haveAVX512 = false
)
