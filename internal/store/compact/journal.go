package compact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/thanos-io/objstore"

	"waymark/internal/model"
	"waymark/internal/store/block"
)

// journalVersion is the version of the journal document.
const journalVersion = 1

// maxJournalSize bounds a journal object.
const maxJournalSize = 1 << 20

// JournalDir is the object prefix, under a tenant's prefix, of the journals
// of its compactions in progress. It is not a valid block ID, so block
// listings skip it.
const JournalDir = "compactions/"

// Journal records one compaction in progress. It is stored before the new
// block is written and deleted after the inputs are.
type Journal struct {
	// Version is the journal format version (1).
	Version int `json:"version"`
	// Tenant owns the inputs and the new block.
	Tenant string `json:"tenant"`
	// Inputs are the IDs of the blocks the new block replaces.
	Inputs []string `json:"inputs"`
	// Level is the new block's compaction level.
	Level int `json:"level"`
	// CreatedUnixNano is the creation time written into the new block's
	// meta: the new block is the block of Tenant with this creation time
	// and Level.
	CreatedUnixNano int64 `json:"created_unix_nano"`
}

// Validate checks that j is a well-formed journal.
func (j *Journal) Validate() error {
	if j.Version != journalVersion {
		return fmt.Errorf("unsupported journal version %d", j.Version)
	}
	if err := model.ValidateTenant(j.Tenant); err != nil {
		return err
	}
	if len(j.Inputs) == 0 {
		return errors.New("journal lists no inputs")
	}
	for i, id := range j.Inputs {
		if err := block.ValidateID(id); err != nil {
			return err
		}
		if slices.Contains(j.Inputs[:i], id) {
			return fmt.Errorf("input %s listed twice", id)
		}
	}
	if j.Level < 1 {
		return fmt.Errorf("level %d of a compacted block is below 1", j.Level)
	}
	if j.CreatedUnixNano <= 0 {
		return fmt.Errorf("creation time %d is not positive", j.CreatedUnixNano)
	}
	return nil
}

// Name returns the journal's object name.
func (j *Journal) Name() string { return journalName(j.Tenant, j.CreatedUnixNano) }

func journalName(tenant string, created int64) string {
	return tenant + "/" + JournalDir + fmt.Sprintf("%020d", created) + ".json"
}

// encode renders j as JSON.
func (j *Journal) encode() ([]byte, error) {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode journal: %w", err)
	}
	return append(b, '\n'), nil
}

// DecodeJournal parses and validates a journal document.
func DecodeJournal(data []byte) (Journal, error) {
	var j Journal
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Journal{}, fmt.Errorf("decode journal: %w", err)
	}
	if dec.More() {
		return Journal{}, errors.New("decode journal: trailing data")
	}
	if err := j.Validate(); err != nil {
		return Journal{}, fmt.Errorf("invalid journal: %w", err)
	}
	return j, nil
}

// writeJournal stores j.
func writeJournal(ctx context.Context, bkt objstore.Bucket, j Journal) error {
	data, err := j.encode()
	if err != nil {
		return err
	}
	if err := bkt.Upload(ctx, j.Name(), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("store journal %s: %w", j.Name(), err)
	}
	return nil
}

// deleteObject deletes name; a missing object is not an error.
func deleteObject(ctx context.Context, bkt objstore.Bucket, name string) error {
	if err := bkt.Delete(ctx, name); err != nil && !bkt.IsObjNotFoundErr(err) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// journalObjects lists the objects under tenant's journal prefix, oldest
// journal first. journals are names of journal documents; others are
// anything else there (such as an interrupted upload's temporary file).
func journalObjects(ctx context.Context, bkt objstore.Bucket, tenant string) (journals, others []string, err error) {
	prefix := tenant + "/" + JournalDir
	err = bkt.Iter(ctx, prefix, func(name string) error {
		base := strings.TrimPrefix(name, prefix)
		num, ok := strings.CutSuffix(base, ".json")
		if _, perr := strconv.ParseUint(num, 10, 63); ok && perr == nil && len(num) == 20 {
			journals = append(journals, name)
		} else {
			others = append(others, name)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list journals of %s: %w", tenant, err)
	}
	slices.Sort(journals)
	return journals, others, nil
}
