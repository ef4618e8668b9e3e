package coco

import (
	"cmp"
	"fmt"
	"slices"
)

// FromImages returns a Dataset of unannotated images, for running a detector on pictures that
// come without a COCO file: image i (0-based) of paths gets id i+1, FileName and Path paths[i],
// and the size its header gives; categories (a trained detector's, in label order or not) give
// the labels as Load would. Every file must be a PNG or a JPEG (ErrMissingImage,
// ErrImageFormat, naming the file); an empty paths is ErrEmpty. NewLoader serves the result.
func FromImages(paths []string, categories []Category) (*Dataset, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no image files given", ErrEmpty)
	}
	d := &Dataset{Categories: slices.Clone(categories), labels: make(map[int64]int)}
	slices.SortFunc(d.Categories, func(a, b Category) int { return cmp.Compare(a.ID, b.ID) })
	for l, c := range d.Categories {
		if _, dup := d.labels[c.ID]; dup {
			return nil, fmt.Errorf("%w: category id %d", ErrDuplicateID, c.ID)
		}
		d.labels[c.ID] = l
	}
	for i, p := range paths {
		im := ImageRecord{ID: int64(i + 1), FileName: p, Path: p}
		w, h, err := imageSize(p, im.ID)
		if err != nil {
			return nil, err
		}
		im.Width, im.Height = w, h
		d.Images = append(d.Images, im)
	}
	return d, nil
}
