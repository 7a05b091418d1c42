package snapshot

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a store in an S3-compatible bucket, through minio-go.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // "" or ends in "/"
}

var _ Store = (*S3)(nil)

// NewS3FromEnv opens s3://bucket/prefix with the usual AWS environment:
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
// and an endpoint override in AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL
// (e.g. http://127.0.0.1:9000 for MinIO; path-style requests are used for
// an override). Without an override the endpoint is AWS's.
func NewS3FromEnv(loc string) (*S3, error) {
	endpoint := os.Getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	return NewS3(loc, endpoint, credentials.NewEnvAWS(), os.Getenv("AWS_REGION"))
}

// NewS3 opens s3://bucket/prefix at endpoint (a URL; "" for AWS).
func NewS3(loc, endpoint string, creds *credentials.Credentials, region string) (*S3, error) {
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("snapshot: %q is not s3://bucket/prefix", loc)
	}
	host, secure, lookup := "s3.amazonaws.com", true, minio.BucketLookupAuto
	if endpoint != "" {
		e, err := url.Parse(endpoint)
		if err != nil || e.Host == "" {
			return nil, fmt.Errorf("snapshot: endpoint %q is not a URL (http(s)://host:port)", endpoint)
		}
		host, secure, lookup = e.Host, e.Scheme == "https", minio.BucketLookupPath
	}
	c, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: region, BucketLookup: lookup})
	if err != nil {
		return nil, err
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3{client: c, bucket: u.Host, prefix: prefix}, nil
}

func (s *S3) String() string { return "s3://" + s.bucket + "/" + s.prefix }

func (s *S3) key(name string) (string, error) {
	if err := CheckPath(name); err != nil {
		return "", err
	}
	return s.prefix + name, nil
}

func s3err(err error, name string) error {
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, minio.NoSuchBucket:
		return fmt.Errorf("%w: %s", ErrNotExist, name)
	}
	return fmt.Errorf("snapshot: s3 %s: %w", name, err)
}

func (s *S3) Get(ctx context.Context, name string, off int64) (io.ReadCloser, error) {
	k, err := s.key(name)
	if err != nil {
		return nil, err
	}
	opts := minio.GetObjectOptions{}
	if off > 0 {
		if err := opts.SetRange(off, 0); err != nil {
			return nil, err
		}
	}
	obj, err := s.client.GetObject(ctx, s.bucket, k, opts)
	if err != nil {
		return nil, s3err(err, name)
	}
	// GetObject is lazy; Stat surfaces a missing key now.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, s3err(err, name)
	}
	return obj, nil
}

func (s *S3) Stat(ctx context.Context, name string) (int64, error) {
	k, err := s.key(name)
	if err != nil {
		return 0, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, k, minio.StatObjectOptions{})
	if err != nil {
		return 0, s3err(err, name)
	}
	return info.Size, nil
}

func (s *S3) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	k, err := s.key(name)
	if err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, s.bucket, k, r, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return s3err(err, name)
	}
	return nil
}

func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, s3err(o.Err, prefix)
		}
		out = append(out, strings.TrimPrefix(o.Key, s.prefix))
	}
	return out, nil
}

func (s *S3) Delete(ctx context.Context, name string) error {
	k, err := s.key(name)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, k, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil
		}
		return s3err(err, name)
	}
	return nil
}
