package block

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/thanos-io/objstore"

	"waymark/internal/model"
)

// List returns the IDs of tenant's complete blocks, sorted (and so oldest
// first). A block is complete once its meta.json is a whole JSON document;
// blocks whose meta.json is missing or torn are left out (see
// ListIncomplete). List reads every meta.json.
func List(ctx context.Context, bkt objstore.Bucket, tenant string) ([]string, error) {
	complete, _, err := listBlocks(ctx, bkt, tenant)
	return complete, err
}

// ListIncomplete returns the IDs of tenant's block directories whose
// meta.json is missing or torn, sorted: leftovers of writes that did not
// finish, or blocks being written right now. A caller deleting them must
// spare recent ones (IDTime tells a block's creation time).
func ListIncomplete(ctx context.Context, bkt objstore.Bucket, tenant string) ([]string, error) {
	_, incomplete, err := listBlocks(ctx, bkt, tenant)
	return incomplete, err
}

// listBlocks sorts tenant's block directories into complete and incomplete.
func listBlocks(ctx context.Context, bkt objstore.Bucket, tenant string) (complete, incomplete []string, err error) {
	if err := model.ValidateTenant(tenant); err != nil {
		return nil, nil, fmt.Errorf("list blocks: %w", err)
	}
	var ids []string
	err = bkt.Iter(ctx, tenant+"/", func(name string) error {
		id, isDir := strings.CutSuffix(strings.TrimPrefix(name, tenant+"/"), "/")
		if isDir && ValidateID(id) == nil {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list blocks of %s: %w", tenant, err)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		_, err := readMeta(ctx, bkt, tenant, id)
		switch {
		case err == nil:
			complete = append(complete, id)
		case errors.Is(err, ErrIncomplete):
			incomplete = append(incomplete, id)
		default:
			return nil, nil, fmt.Errorf("check block %s: %w", id, err)
		}
	}
	return complete, incomplete, nil
}

// Tenants returns the tenants that have objects in bkt, sorted.
func Tenants(ctx context.Context, bkt objstore.Bucket) ([]string, error) {
	var tenants []string
	err := bkt.Iter(ctx, "", func(name string) error {
		t, isDir := strings.CutSuffix(name, "/")
		if isDir && model.ValidateTenant(t) == nil {
			tenants = append(tenants, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	slices.Sort(tenants)
	return tenants, nil
}

// Delete removes a block: meta.json first, so the block disappears at once,
// then its other objects. Deleting a missing block is not an error.
func Delete(ctx context.Context, bkt objstore.Bucket, tenant, id string) error {
	if err := model.ValidateTenant(tenant); err != nil {
		return fmt.Errorf("delete block: %w", err)
	}
	if err := ValidateID(id); err != nil {
		return fmt.Errorf("delete block: %w", err)
	}
	dir := BlockDir(tenant, id)
	for _, name := range []string{MetaFile, IndexFile, DataFile} {
		if err := bkt.Delete(ctx, dir+name); err != nil && !bkt.IsObjNotFoundErr(err) {
			return fmt.Errorf("delete block %s %s: %w", id, name, err)
		}
	}
	// Remove anything else left under the block's prefix.
	var rest []string
	if err := bkt.Iter(ctx, dir, func(name string) error {
		rest = append(rest, name)
		return nil
	}, objstore.WithRecursiveIter()); err != nil {
		return fmt.Errorf("list block %s: %w", id, err)
	}
	for _, name := range rest {
		if err := bkt.Delete(ctx, name); err != nil && !bkt.IsObjNotFoundErr(err) {
			return fmt.Errorf("delete block %s %s: %w", id, name, err)
		}
	}
	return nil
}

// readObject reads a whole object of at most limit bytes.
func readObject(ctx context.Context, bkt objstore.Bucket, name string, limit int64) ([]byte, error) {
	rc, err := bkt.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("object %s exceeds %d bytes", name, limit)
	}
	return b, nil
}

// LocalBucket is implemented by buckets whose objects are local files. An
// open block keeps its data file open in such a bucket and reads a range
// with one positioned read, instead of opening the object for every range.
// An open file stays readable after the bucket deletes the object.
type LocalBucket interface {
	OpenFile(name string) (*os.File, error)
}

// bucketReaderAt reads ranges of one object. io.ReaderAt has no context, so
// it carries the block's lifetime context, which Close cancels; callers
// check their own context between reads.
type bucketReaderAt struct {
	ctx  context.Context
	bkt  objstore.Bucket
	name string
	size int64
}

// ReadAt implements io.ReaderAt.
func (r *bucketReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	if off+n > r.size {
		n = r.size - off
	}
	rc, err := r.bkt.GetRange(r.ctx, r.name, off, n)
	if err != nil {
		return 0, fmt.Errorf("read %s at %d: %w", r.name, off, err)
	}
	defer rc.Close()
	got, err := io.ReadFull(rc, p[:n])
	if err != nil {
		return got, fmt.Errorf("read %s at %d: %w", r.name, off, err)
	}
	if got < len(p) {
		return got, io.EOF
	}
	return got, nil
}
