package snapshot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// HTTP fetches from a snapshot store served over HTTP(S), e.g. by
// `rpcgate serve` at /snapshots/. It is read-only. A partly downloaded
// chunk is continued with a range request.
type HTTP struct {
	base   *url.URL
	client *http.Client
	token  string // bearer token (RPCGATE_SNAPSHOT_TOKEN), for an admin-listener store
}

var _ Store = (*HTTP)(nil)

// NewHTTP returns a store for base; client nil means http.DefaultClient.
// The bearer token, if any, comes from RPCGATE_SNAPSHOT_TOKEN (an
// environment variable, so it is not visible in the process list).
func NewHTTP(base string, client *http.Client) (*HTTP, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("snapshot: bad URL %q", base)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	if client == nil {
		// No overall timeout (a chunk may take minutes), but a server
		// that accepts and never answers does not hang the fetch.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = time.Minute
		client = &http.Client{Transport: t}
	}
	return &HTTP{base: u, client: client, token: os.Getenv("RPCGATE_SNAPSHOT_TOKEN")}, nil
}

// String is the URL without user info or query (which may hold secrets).
func (h *HTTP) String() string {
	u := *h.base
	u.User, u.RawQuery = nil, ""
	return u.String()
}

func (h *HTTP) do(ctx context.Context, method, name string, off int64) (*http.Response, error) {
	if err := CheckPath(name); err != nil {
		return nil, err
	}
	u := h.base.JoinPath(name)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	if off > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %s %s: %w", method, name, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s", ErrNotExist, name)
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent:
		return resp, nil
	}
	resp.Body.Close()
	return nil, fmt.Errorf("snapshot: %s %s: HTTP %d", method, name, resp.StatusCode)
}

func (h *HTTP) Get(ctx context.Context, name string, off int64) (io.ReadCloser, error) {
	resp, err := h.do(ctx, http.MethodGet, name, off)
	if err != nil {
		return nil, err
	}
	if off > 0 && resp.StatusCode == http.StatusOK {
		// The server ignored the range: skip what we already have.
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
			resp.Body.Close()
			return nil, err
		}
	}
	return resp.Body, nil
}

func (h *HTTP) Stat(ctx context.Context, name string) (int64, error) {
	resp, err := h.do(ctx, http.MethodHead, name, 0)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.ContentLength, nil
}

func (h *HTTP) Put(context.Context, string, io.Reader, int64) error { return ErrReadOnly }
func (h *HTTP) List(context.Context, string) ([]string, error)      { return nil, ErrReadOnly }
func (h *HTTP) Delete(context.Context, string) error                { return ErrReadOnly }
