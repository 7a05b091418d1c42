// Package healthcheck asks a running gateway whether it is ready. It backs
// `rpcgate health --url URL`, the container healthcheck of an image that has
// no shell and no curl.
package healthcheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Check GETs u and returns nil when the answer is 200 OK. Any other status,
// a transport error or a URL that is not http(s) is an error that says which.
// The body is read (at most 4 KiB) and discarded so the connection closes
// cleanly; it is never echoed, since a misdirected URL could answer with
// anything.
func Check(ctx context.Context, client *http.Client, u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("health: %q is not an http(s) URL with a host", u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.String(), nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health: %s: %w", p.Redacted(), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %s", p.Redacted(), resp.Status)
	}
	return nil
}
