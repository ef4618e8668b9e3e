//go:build !amd64 || purego

package static

// smoothL1Cols4 is the Go kernel where there is no assembly.
func smoothL1Cols4(k *cols4, grad, pred, target []float32) float64 {
	return smoothL1Cols4Go(k, grad, pred, target)
}
