//go:build !purego

#include "textflag.h"

DATA absmask<>+0(SB)/4, $0x7fffffff
GLOBL absmask<>(SB), RODATA|NOPTR, $4

// ROW adds the row at byte offset off from element AX to the lane sums A and C:
// y = float64(|p − t|) − μ, A += y, C += y·y (multiply, then add: no FMA, as the Go
// kernel). The float32 subtraction, the exact abs and widening, and the float64
// operations are those of absDiffLanes4Go, so each lane gets the same bits.
#define ROW(off, X, Y, SQ, A, C) \
	VMOVUPS off(SI)(AX*4), X; \
	VSUBPS off(DI)(AX*4), X, X; \
	VANDPS X14, X, X; \
	VCVTPS2PD X, Y; \
	VSUBPD Y15, Y, Y; \
	VMULPD Y, Y, SQ; \
	VADDPD Y, A, A; \
	VADDPD SQ, C, C

// func absDiffLanes4AVX(l *lanes4, pred, target *float32, mu *[4]float64, rows int)
TEXT ·absDiffLanes4AVX(SB), NOSPLIT, $0-40
	MOVQ l+0(FP), DX
	MOVQ pred+8(FP), SI
	MOVQ target+16(FP), DI
	MOVQ mu+24(FP), R8
	MOVQ rows+32(FP), CX
	SHLQ $2, CX // elements

	VMOVUPD 0(R8), Y15            // μ
	VBROADCASTSS absmask<>(SB), X14
	VXORPD Y0, Y0, Y0             // a, lanes 0–3
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4             // c, lanes 0–3
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	// A cache line of pred and target per group of four rows, fetched 1 KiB ahead (as
	// static's kernel does); a prefetch past the end of the slices does not fault.
	PREFETCHT0 1024(SI)(AX*4)
	PREFETCHT0 1024(DI)(AX*4)
	ROW(0, X8, Y8, Y9, Y0, Y4)
	ROW(16, X10, Y10, Y11, Y1, Y5)
	ROW(32, X12, Y12, Y13, Y2, Y6)
	ROW(48, X8, Y8, Y9, Y3, Y7)
	ADDQ $16, AX
	JMP  loop

done:
	VMOVUPD Y0, 0(DX)
	VMOVUPD Y1, 32(DX)
	VMOVUPD Y2, 64(DX)
	VMOVUPD Y3, 96(DX)
	VMOVUPD Y4, 128(DX)
	VMOVUPD Y5, 160(DX)
	VMOVUPD Y6, 192(DX)
	VMOVUPD Y7, 224(DX)
	VZEROUPPER
	RET

// ROWS2 adds the two rows at byte offset off from element AX to the lane sums A and C,
// two lanes per ZMM register (the low half the first row's lane, the high half the
// second's), with the operations of ROW.
#define ROWS2(off, A, C) \
	VMOVUPS off(SI)(AX*4), Y8; \
	VSUBPS off(DI)(AX*4), Y8, Y8; \
	VANDPS Y14, Y8, Y8; \
	VCVTPS2PD Y8, Z9; \
	VSUBPD Z15, Z9, Z9; \
	VMULPD Z9, Z9, Z10; \
	VADDPD Z9, A, A; \
	VADDPD Z10, C, C

// func absDiffLanes4AVX512(l *lanes4, pred, target *float32, mu *[4]float64, rows int)
TEXT ·absDiffLanes4AVX512(SB), NOSPLIT, $0-40
	MOVQ l+0(FP), DX
	MOVQ pred+8(FP), SI
	MOVQ target+16(FP), DI
	MOVQ mu+24(FP), R8
	MOVQ rows+32(FP), CX
	SHLQ $2, CX // elements

	VMOVUPD 0(R8), Y15
	VINSERTF64X4 $1, Y15, Z15, Z15 // μ in both halves
	VBROADCASTSS absmask<>(SB), Y14
	VPXORQ Z0, Z0, Z0              // a, lanes 0–1
	VPXORQ Z1, Z1, Z1              // a, lanes 2–3
	VPXORQ Z4, Z4, Z4              // c, lanes 0–1
	VPXORQ Z5, Z5, Z5              // c, lanes 2–3
	XORQ AX, AX

loop512:
	CMPQ AX, CX
	JGE  done512
	PREFETCHT0 1024(SI)(AX*4) // as in the AVX loop
	PREFETCHT0 1024(DI)(AX*4)
	ROWS2(0, Z0, Z4)
	ROWS2(32, Z1, Z5)
	ADDQ $16, AX
	JMP  loop512

done512:
	VMOVUPD Z0, 0(DX)
	VMOVUPD Z1, 64(DX)
	VMOVUPD Z4, 128(DX)
	VMOVUPD Z5, 192(DX)
	VZEROUPPER
	RET
