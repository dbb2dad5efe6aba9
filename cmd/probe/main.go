// Command probe is the containers' health check: it GETs one URL and exits
// 0 on a 2xx answer, 1 otherwise. The images are distroless (no shell, no
// curl), so docker-compose's healthcheck runs this binary:
//
//	probe http://127.0.0.1:8080/readyz
//
// Kubernetes probes the same paths with httpGet and needs no binary.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: probe <url>")
		os.Exit(2)
	}
	if err := probe(os.Args[1], 3*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

// probe GETs url within timeout and wants a 2xx status.
func probe(url string, timeout time.Duration) error {
	c := &http.Client{Timeout: timeout}
	res, err := c.Get(url)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", url, res.Status)
	}
	return nil
}
