package plots

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
)

// SaveLegendRight writes p as a PNG of the given size with its legend drawn in a column of
// width legendWidth to the right of the plot instead of over the data, for plots with many
// series. p's legend is left as it was.
func SaveLegendRight(path string, width, height, legendWidth vg.Length, p *plot.Plot) error {
	if legendWidth <= 0 || legendWidth >= width {
		return fmt.Errorf("plots: legend width %v does not fit in %v", legendWidth, width)
	}
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	pad := vg.Millimeter * 2
	legend := p.Legend
	p.Legend = plot.NewLegend()
	p.Draw(draw.Crop(dc, pad, -legendWidth, pad, -pad))
	p.Legend = legend
	legend.Top, legend.Left = true, true
	legend.Draw(draw.Crop(dc, width-legendWidth+pad, -pad, pad, -pad))
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}
