package detectors

import (
	"fmt"

	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/detectors/cocoeval"
)

// GroundTruth returns the evaluation inputs of a dataset as pycocotools builds them from the
// same file: every kept annotation with its bbox as the file holds it (Object.FileBox, not
// the clipped training box), its area and crowd flag, and the ids of every image, those
// without annotations included (their detections are false positives).
func GroundTruth(ds *coco.Dataset) (gt []cocoeval.GT, imageIDs []int64) {
	for _, im := range ds.Images {
		imageIDs = append(imageIDs, im.ID)
		for _, o := range im.Objects {
			gt = append(gt, cocoeval.GT{ID: o.AnnotationID, ImageID: im.ID, CategoryID: o.CategoryID,
				Box: o.FileBox, Area: o.Area, IsCrowd: o.Crowd})
		}
	}
	return gt, imageIDs
}

// EvaluateResults scores COCO results (a results file's entries) against ds with COCO's
// standard parameters, after checking that every entry names an image and a category of ds
// (coco.Dataset.CheckResults: pycocotools asserts on the first and drops the second).
func EvaluateResults(ds *coco.Dataset, rs []coco.Result) (cocoeval.Result, error) {
	if err := ds.CheckResults(rs); err != nil {
		return cocoeval.Result{}, err
	}
	gt, ids := GroundTruth(ds)
	if len(gt) == 0 {
		return cocoeval.Result{}, fmt.Errorf("detectors: %s has no annotations to score against", ds.AnnotationPath)
	}
	dets := make([]cocoeval.Det, len(rs))
	for i, r := range rs {
		dets[i] = cocoeval.Det{ImageID: r.ImageID, CategoryID: r.CategoryID, Box: r.BBox, Score: r.Score}
	}
	return cocoeval.Evaluate(gt, dets, ids, cocoeval.Params{})
}

// ToResults converts detections to results-file entries.
func ToResults(dets []cocoeval.Det) []coco.Result {
	rs := make([]coco.Result, len(dets))
	for i, d := range dets {
		rs[i] = coco.Result{ImageID: d.ImageID, CategoryID: d.CategoryID, BBox: d.Box, Score: d.Score}
	}
	return rs
}

// ValDetections returns the detector's detections on every validation image, in original
// image coordinates with the dataset's category ids (the input of EvaluateResult).
func (d *Detector) ValDetections() ([]cocoeval.Det, error) {
	var dets []cocoeval.Det
	for b := range d.valL.EvalBatches(d.cfg.BatchSize) {
		got, err := d.Detect(&b, d.val)
		if err != nil {
			return nil, err
		}
		dets = append(dets, got...)
	}
	return dets, nil
}

// Val returns the validation dataset (val.json).
func (d *Detector) Val() *coco.Dataset { return d.val }

// Categories returns the categories in label order (train.json's, ascending id).
func (d *Detector) Categories() []coco.Category { return d.train.Categories }

// MetricsJSON returns the twelve COCO metrics under the keys `smoothl1 eval --json` writes:
// ap, ap50, ap75, ap_small, ap_medium, ap_large, ar1, ar10, ar100, ar_small, ar_medium,
// ar_large.
func MetricsJSON(r cocoeval.Result) map[string]float64 {
	return map[string]float64{"ap": r.AP, "ap50": r.AP50, "ap75": r.AP75, "ap_small": r.APSmall,
		"ap_medium": r.APMedium, "ap_large": r.APLarge, "ar1": r.AR1, "ar10": r.AR10, "ar100": r.AR100,
		"ar_small": r.ARSmall, "ar_medium": r.ARMedium, "ar_large": r.ARLarge}
}

// DetectDataset runs the detector on every image of ds (any dataset sharing the detector's
// categories, such as coco.FromImages gives), letterboxed as in training, and returns the
// detections in ds's order, in original image coordinates with ds's category ids.
func (d *Detector) DetectDataset(ds *coco.Dataset) ([]cocoeval.Det, error) {
	if ds.NumClasses() != d.classes {
		return nil, fmt.Errorf("detectors: the dataset has %d categories, the detector %d", ds.NumClasses(), d.classes)
	}
	l, err := coco.NewLoader(ds, coco.LoaderOptions{Size: d.cfg.ImageSize, BatchSize: d.cfg.BatchSize})
	if err != nil {
		return nil, err
	}
	var dets []cocoeval.Det
	for b := range l.EvalBatches(d.cfg.BatchSize) {
		got, err := d.Detect(&b, ds)
		if err != nil {
			return nil, err
		}
		dets = append(dets, got...)
	}
	return dets, nil
}
