package bucket

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// failingReader yields some bytes and then an error, like an upload whose
// producer fails half way.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("producer failed")
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.n -= n
	return n, nil
}

func TestFilesystemUpload(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		object  string
		body    io.Reader
		wantErr bool
		want    string // content after the upload; "" means no object
	}{
		{"new object", context.Background(), "t/a/meta.json", strings.NewReader("new"), false, "new"},
		{"replaces an object whole", context.Background(), "t/a/old", strings.NewReader("second"), false, "second"},
		{"failed producer leaves the old object", context.Background(), "t/a/old", &failingReader{n: 70000}, true, "first"},
		{"failed producer creates nothing", context.Background(), "t/b/data", &failingReader{n: 10}, true, ""},
		{"canceled context", canceled, "t/c/data", strings.NewReader("x"), true, ""},
		{"directory name", context.Background(), "t/d/", strings.NewReader("x"), true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bkt, err := OpenFilesystem(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := bkt.Upload(context.Background(), "t/a/old", strings.NewReader("first")); err != nil {
				t.Fatal(err)
			}
			err = bkt.Upload(tc.ctx, tc.object, tc.body)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Upload = %v, want error %v", err, tc.wantErr)
			}
			rc, err := bkt.Get(context.Background(), tc.object)
			switch {
			case tc.want == "" && err == nil:
				rc.Close()
				t.Fatalf("object %s exists after a failed upload", tc.object)
			case tc.want == "" && !bkt.IsObjNotFoundErr(err):
				t.Fatalf("Get = %v, want not found", err)
			case tc.want != "":
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(rc)
				rc.Close()
				if string(got) != tc.want {
					t.Errorf("object holds %q, want %q", got, tc.want)
				}
			}
			_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(d.Name(), TempPrefix) {
					t.Errorf("temporary file left: %s", p)
				}
				return nil
			})
		})
	}
}

func TestFilesystemOpenFile(t *testing.T) {
	ctx := context.Background()
	bkt, err := OpenFilesystem(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Upload(ctx, "t/a/data", strings.NewReader("0123456789")); err != nil {
		t.Fatal(err)
	}
	opener, ok := bkt.(interface {
		OpenFile(string) (*os.File, error)
	})
	if !ok {
		t.Fatal("the filesystem bucket does not offer OpenFile")
	}
	for _, bad := range []string{"", "t/a/", "../t/a/data", "/etc/passwd", "t/../../x"} {
		if f, err := opener.OpenFile(bad); err == nil {
			f.Close()
			t.Errorf("OpenFile(%q) succeeded", bad)
		}
	}
	if _, err := opener.OpenFile("t/a/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenFile of a missing object = %v, want not exist", err)
	}
	f, err := opener.OpenFile("t/a/data")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := bkt.Delete(ctx, "t/a/data"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if n, err := f.ReadAt(buf, 3); err != nil || string(buf[:n]) != "3456" {
		t.Errorf("ReadAt after delete = %q, %v; want 3456", buf[:n], err)
	}
}
