package bucket

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"
)

// TempPrefix starts the name of the temporary file an upload to the local
// directory writes before renaming it into place. A crash can leave such a
// file behind; it is never a complete object, and readers that list a
// directory skip names with this prefix.
const TempPrefix = ".tmp-"

// fsBucket is the objstore filesystem bucket with atomic, durable uploads:
// an object is written to a temporary file beside it, fsynced, renamed into
// place, and its directory fsynced. A crash at any point leaves either no
// object or the complete one, never a torn one, and an object whose upload
// returned survives a power loss.
type fsBucket struct {
	*filesystem.Bucket
	root string
}

// newFSBucket opens dir as a bucket with atomic uploads.
func newFSBucket(dir string) (*fsBucket, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b, err := filesystem.NewBucket(abs)
	if err != nil {
		return nil, err
	}
	return &fsBucket{Bucket: b, root: abs}, nil
}

// OpenFilesystem opens dir as a local block store whose uploads are atomic
// and durable.
func OpenFilesystem(dir string) (objstore.Bucket, error) {
	b, err := newFSBucket(dir)
	if err != nil {
		return nil, fmt.Errorf("open block directory %s: %w", dir, err)
	}
	return b, nil
}

// Upload writes r to name atomically and durably.
func (b *fsBucket) Upload(ctx context.Context, name string, r io.Reader, _ ...objstore.ObjectUploadOption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if name == "" || strings.HasSuffix(name, "/") {
		return fmt.Errorf("upload: bad object name %q", name)
	}
	file := filepath.Join(b.root, filepath.FromSlash(name))
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("upload %s: %w", name, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails
	tmp := filepath.Join(dir, TempPrefix+filepath.Base(file)+"-"+hex.EncodeToString(rnd[:]))
	if err := writeSynced(ctx, tmp, r); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("upload %s: %w", name, err)
	}
	if err := os.Rename(tmp, file); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("upload %s: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("upload %s: %w", name, err)
	}
	return nil
}

// OpenFile opens object name for reading; the file stays readable after
// the object is deleted. It lets blocks read ranges with positioned reads.
func (b *fsBucket) OpenFile(name string) (*os.File, error) {
	if name == "" || strings.HasSuffix(name, "/") || !filepath.IsLocal(filepath.FromSlash(name)) {
		return nil, fmt.Errorf("open: bad object name %q", name)
	}
	f, err := os.Open(filepath.Join(b.root, filepath.FromSlash(name)))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return f, nil
}

// writeSynced copies r into a new file and fsyncs it.
func writeSynced(ctx context.Context, name string, r io.Reader) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, ctxReader{ctx: ctx, r: r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs a directory so that a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
