// Package bucket opens the object store that holds Waymark's blocks: a local
// directory by default, or S3-compatible storage (AWS S3, MinIO, Ceph…),
// Google Cloud Storage or Azure Blob Storage, through the objstore library,
// so every backend stores the same block files under the same keys.
// Uploads are atomic on every backend: S3, GCS and Azure publish an object
// only once it is complete, and the local directory writes a temporary file,
// fsyncs it and renames it into place, so a crash never leaves a torn object.
package bucket
