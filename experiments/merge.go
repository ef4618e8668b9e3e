package experiments

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// MergeResult summarises a Merge.
type MergeResult struct {
	Planned, Found int      // runs of the config, and those with a record in some folder
	Missing        []string // IDs of planned runs found nowhere
	Report         string   // report.md's path
}

// Merge builds the report of a sweep run in pieces (Options.Shard) from the pieces' folders:
// their sweep.json must hold the same config; the records of its planned runs are copied into
// out/runs/<id>/run.json; a run recorded in several folders must have the same results in each
// (ErrConflict otherwise); then out gets the same results.csv, results.md, report.md and
// figures as the unsharded sweep. Missing runs are listed in the report and in the result.
func Merge(dirs []string, out string) (MergeResult, error) {
	var res MergeResult
	if len(dirs) == 0 {
		return res, fmt.Errorf("%w: merge needs at least one sweep folder", ErrConfig)
	}
	var cfg Config
	for i, d := range dirs {
		c, err := LoadConfig(filepath.Join(d, ConfigFile))
		if err != nil {
			return res, err
		}
		if i == 0 {
			cfg = c
		} else if !c.Equal(cfg) {
			return res, fmt.Errorf("%w: %s and %s describe different sweeps", ErrConflict,
				filepath.Join(dirs[0], ConfigFile), filepath.Join(d, ConfigFile))
		}
	}
	plan, err := cfg.Plan()
	if err != nil {
		return res, err
	}
	res.Planned = len(plan)
	found := map[string]Record{}
	from := map[string]string{}
	for _, d := range dirs {
		for _, r := range plan {
			dir := RunDir(d, r.ID)
			rec, err := ReadRecord(dir)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return res, err
			}
			if !rec.sameRun(r) {
				return res, fmt.Errorf("%w: %s is not the run the config plans under that name", ErrConflict, dir)
			}
			if prev, ok := found[r.ID]; ok {
				if !bytes.Equal(prev.result(), rec.result()) {
					return res, fmt.Errorf("%w: %s and %s hold different results for one run", ErrConflict, from[r.ID], dir)
				}
				continue
			}
			found[r.ID], from[r.ID] = rec, dir
		}
	}
	if err := os.MkdirAll(filepath.Join(out, RunsDir), 0o755); err != nil {
		return res, err
	}
	var recs []Record
	for _, r := range plan {
		rec, ok := found[r.ID]
		if !ok {
			res.Missing = append(res.Missing, r.ID)
			continue
		}
		res.Found++
		recs = append(recs, rec)
		dst := RunDir(out, r.ID)
		if same, _ := sameFile(from[r.ID], dst); same {
			continue
		}
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return res, err
		}
		if err := WriteRecord(dst, rec); err != nil {
			return res, err
		}
		if err := linkCheckpoint(from[r.ID], dst); err != nil { // detgrid.go
			return res, err
		}
	}
	if err := writeConfig(out, cfg); err != nil {
		return res, err
	}
	if err := WriteReport(out, cfg, recs); err != nil {
		return res, err
	}
	res.Report = filepath.Join(out, ReportFile)
	return res, nil
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
