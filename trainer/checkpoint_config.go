package trainer

import "encoding/json"

// CheckpointConfig returns the JSON a run was configured with (Config.Identity; recipe writes
// the task, loss, seed and dataset folder there), read from the checkpoint at path after
// verifying it, without building a model. Tools use it to find what a checkpoint needs (the
// dataset whose categories a detector predicts) before calling LoadModel.
func CheckpointConfig(path string) (json.RawMessage, error) {
	hdr, _, err := readCheckpoint(path)
	if err != nil {
		return nil, err
	}
	return hdr.Config, nil
}
