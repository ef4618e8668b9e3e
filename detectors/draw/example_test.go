package draw_test

import (
	"fmt"
	"image"

	"github.com/smoothl1/smoothl1/detectors/draw"
)

func ExampleDetections() {
	img := image.NewRGBA(image.Rect(0, 0, 128, 96)) // a decoded picture
	pic := draw.Detections(img, []draw.Box{
		{Box: [4]float64{10, 20, 60, 80}, Class: 0, Score: 0.93, HasScore: true},
		{Box: [4]float64{70, 10, 120, 40}, Class: 2, Score: 0.41, HasScore: true},
	}, draw.Options{Names: []string{"person", "bicycle", "car"}})
	fmt.Println(pic.Bounds().Dx(), "pixels wide") // 128 scaled to a shorter side of 384
	// Output: 512 pixels wide
}
