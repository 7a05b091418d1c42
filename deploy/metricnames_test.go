package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDeployFilesNameKnownMetrics: every rpcgate metric that any deployment
// file names — dashboards, rules, the HPA and its adapter rule, the Nomad
// scaling queries, comments included — is one rpcgate documents in
// docs/metrics.md. A renamed metric then breaks this test instead of an
// autoscaler in production.
func TestDeployFilesNameKnownMetrics(t *testing.T) {
	allowed := documentedMetrics(t)
	name := regexp.MustCompile(`\brpcgate_[a-z0-9_]*[a-z0-9]`)
	files := []string{"../Dockerfile"}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".go") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllString(string(b), -1) {
			found++
			if !allowed[m] {
				t.Errorf("%s names %s, which is not in %s", f, m, metricsFile)
			}
		}
	}
	// The HPA, the adapter rule and the Nomad policies name metrics at least.
	if found < 5 {
		t.Fatalf("found only %d metric names in %d deploy files; is the scan broken?", found, len(files))
	}
}
