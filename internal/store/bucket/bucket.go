package bucket

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/go-kit/log"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/client"
	"gopkg.in/yaml.v3"
)

// Backend types.
const (
	TypeFilesystem = "filesystem"
	TypeS3         = "s3"
	TypeGCS        = "gcs"
	TypeAzure      = "azure"
)

// Config selects and configures the block store.
type Config struct {
	// Type is filesystem (default), s3, gcs or azure.
	Type string `yaml:"type"`
	// Prefix is prepended to every object key (to share a bucket).
	Prefix string `yaml:"prefix"`
	// Filesystem stores blocks in a local directory.
	Filesystem FilesystemConfig `yaml:"filesystem"`
	// S3 configures S3-compatible storage.
	S3 S3Config `yaml:"s3"`
	// GCS configures Google Cloud Storage.
	GCS GCSConfig `yaml:"gcs"`
	// Azure configures Azure Blob Storage.
	Azure AzureConfig `yaml:"azure"`
}

// FilesystemConfig configures the local directory backend.
type FilesystemConfig struct {
	// Dir holds the blocks; empty means <data_dir>/blocks.
	Dir string `yaml:"dir"`
}

// S3Config configures an S3-compatible bucket.
type S3Config struct {
	Bucket   string `yaml:"bucket"`
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"`
	// AccessKey and SecretKey; empty uses the AWS SDK's default chain.
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
	// Insecure uses plain HTTP (for a local MinIO).
	Insecure bool `yaml:"insecure"`
	// PathStyle addresses the bucket in the path rather than the host name.
	PathStyle bool `yaml:"path_style"`
}

// GCSConfig configures a Google Cloud Storage bucket.
type GCSConfig struct {
	Bucket string `yaml:"bucket"`
	// ServiceAccount is the JSON key; empty uses application default credentials.
	ServiceAccount string `yaml:"service_account"`
}

// AzureConfig configures an Azure Blob Storage container.
type AzureConfig struct {
	StorageAccount    string `yaml:"storage_account"`
	StorageAccountKey string `yaml:"storage_account_key"`
	Container         string `yaml:"container"`
	// Endpoint overrides the blob endpoint suffix (e.g. for Azurite).
	Endpoint string `yaml:"endpoint"`
}

// Validate reports every missing or bad setting, each with its key under
// storage.backend. It changes nothing.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, msg string) { errs = append(errs, fmt.Errorf("storage.backend.%s: %s", key, msg)) }
	switch c.Type {
	case "", TypeFilesystem:
	case TypeS3:
		if c.S3.Bucket == "" {
			bad("s3.bucket", "must be set when type is s3")
		}
		if c.S3.Endpoint == "" {
			bad("s3.endpoint", "must be set when type is s3 (e.g. s3.amazonaws.com or 127.0.0.1:9000)")
		}
		if (c.S3.AccessKey == "") != (c.S3.SecretKey == "") {
			bad("s3.secret_key", "access_key and secret_key go together")
		}
	case TypeGCS:
		if c.GCS.Bucket == "" {
			bad("gcs.bucket", "must be set when type is gcs")
		}
	case TypeAzure:
		if c.Azure.StorageAccount == "" || c.Azure.Container == "" {
			bad("azure", "storage_account and container must be set when type is azure")
		}
	default:
		bad("type", fmt.Sprintf("%q is not one of filesystem, s3, gcs, azure", c.Type))
	}
	if strings.HasPrefix(c.Prefix, "/") {
		bad("prefix", "must not start with /")
	}
	return errors.Join(errs...)
}

// Open opens the configured bucket. dataDir anchors the default local directory.
func Open(cfg Config, dataDir string, logger *slog.Logger) (objstore.Bucket, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Type == "" || cfg.Type == TypeFilesystem {
		dir := cfg.Filesystem.Dir
		if dir == "" {
			dir = filepath.Join(dataDir, "blocks")
		}
		if cfg.Prefix != "" {
			dir = filepath.Join(dir, cfg.Prefix)
		}
		return OpenFilesystem(dir)
	}
	var bc client.BucketConfig
	bc.Prefix = cfg.Prefix
	switch cfg.Type {
	case TypeS3:
		lookup := "auto"
		if cfg.S3.PathStyle {
			lookup = "path"
		}
		bc.Type = objstore.S3
		bc.Config = map[string]any{"bucket": cfg.S3.Bucket, "endpoint": cfg.S3.Endpoint, "region": cfg.S3.Region,
			"access_key": cfg.S3.AccessKey, "secret_key": cfg.S3.SecretKey, "insecure": cfg.S3.Insecure, "bucket_lookup_type": lookup}
	case TypeGCS:
		bc.Type = objstore.GCS
		bc.Config = map[string]any{"bucket": cfg.GCS.Bucket, "service_account": cfg.GCS.ServiceAccount}
	case TypeAzure:
		bc.Type = objstore.AZURE
		m := map[string]any{"storage_account": cfg.Azure.StorageAccount, "storage_account_key": cfg.Azure.StorageAccountKey, "container": cfg.Azure.Container}
		if cfg.Azure.Endpoint != "" {
			m["endpoint"] = cfg.Azure.Endpoint
		}
		bc.Config = m
	}
	raw, err := yaml.Marshal(bc)
	if err != nil {
		return nil, err
	}
	b, err := client.NewBucket(kitLogger{logger}, raw, "waymark", nil)
	if err != nil {
		return nil, fmt.Errorf("open %s bucket: %w", cfg.Type, err)
	}
	return b, nil
}

// kitLogger adapts slog to the go-kit logger the objstore library takes.
type kitLogger struct{ l *slog.Logger }

func (k kitLogger) Log(keyvals ...any) error {
	if k.l == nil {
		return nil
	}
	msg := "objstore"
	var attrs []any
	for i := 0; i+1 < len(keyvals); i += 2 {
		if key, ok := keyvals[i].(string); ok && key == "msg" {
			msg = fmt.Sprint(keyvals[i+1])
			continue
		}
		attrs = append(attrs, fmt.Sprint(keyvals[i]), keyvals[i+1])
	}
	k.l.Debug(msg, attrs...)
	return nil
}

var _ log.Logger = kitLogger{}
