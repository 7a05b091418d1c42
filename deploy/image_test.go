package deploy

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The container image. The Dockerfile's builder stage needs the network
// (the golang image, module downloads); these tests run offline. So the
// final stage — the image users run — is taken from the Dockerfile as
// written, its `COPY --from=build` lines pointed at a binary built here with
// the same flags, and built with podman. The saved image is then opened like
// any registry would: its config is checked, and its entrypoint is taken out
// of the layers and run on the host (running a container fails in this
// sandbox), against a real anvil.

const dockerfile = "../Dockerfile"

// finalStage returns the Dockerfile's stage named "final", as logical lines
// (continuations joined), and fails when there is none.
func finalStage(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	from := regexp.MustCompile(`(?i)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$`)
	var stage []string
	in := false
	for _, l := range lines {
		if m := from.FindStringSubmatch(l); m != nil {
			in = strings.EqualFold(m[2], "final")
			if in && m[1] != "scratch" {
				t.Errorf("%s: final stage is FROM %s, want FROM scratch (no shell, no libc)", dockerfile, m[1])
			}
		}
		if in {
			stage = append(stage, l)
		}
	}
	if len(stage) == 0 {
		t.Fatalf("%s has no stage named final (FROM scratch AS final)", dockerfile)
	}
	return stage
}

// containerfile rewrites the final stage so it builds from files in ctxDir:
// each `COPY --from=build SRC DST` becomes `COPY <base of SRC> DST`, and the
// file is put in ctxDir from files[SRC]. Any other line is kept as written.
func containerfile(t *testing.T, stage []string, ctxDir string, files map[string]string) string {
	t.Helper()
	copyFrom := regexp.MustCompile(`(?i)^COPY\s+--from=build\s+(\S+)\s+(\S+)$`)
	var out []string
	used := 0
	for _, l := range stage {
		m := copyFrom.FindStringSubmatch(l)
		if m == nil {
			if strings.Contains(strings.ToLower(l), "--from=") {
				t.Fatalf("%s final stage: cannot rebuild %q from local files", dockerfile, l)
			}
			out = append(out, l)
			continue
		}
		src, ok := files[m[1]]
		if !ok {
			t.Fatalf("%s final stage copies %s from the builder; the test does not know how to provide it", dockerfile, m[1])
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("%s (for %s): %v", src, m[1], err)
		}
		name := path.Base(m[1])
		if err := os.WriteFile(filepath.Join(ctxDir, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
		out = append(out, "COPY "+name+" "+m[2])
		used++
	}
	if used != len(files) {
		t.Fatalf("%s final stage copies %d of the %d files the test provides (%v): the stage changed", dockerfile, used, len(files), files)
	}
	p := filepath.Join(ctxDir, "Containerfile")
	if err := os.WriteFile(p, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// podman finds podman, installing it with scripts/install-podman.sh when it
// is missing. It never skips: without podman the test fails and says how to
// install it.
func podman(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("podman"); err == nil {
		return p
	}
	out, err := exec.Command("bash", "../scripts/install-podman.sh").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("podman is needed to build the image: run scripts/install-podman.sh as root "+
			"(apt-get install -y podman); it failed: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

func runPodman(t *testing.T, bin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

// imageConfig is the part of a Docker image config the test checks.
type imageConfig struct {
	Config struct {
		User        string
		Entrypoint  []string
		Cmd         []string
		Env         []string
		Labels      map[string]string
		Healthcheck *struct{ Test []string }
	} `json:"config"`
}

// savedImage reads a `podman save` (docker-archive) tar: the image config
// and every file of every layer (later layers win).
func savedImage(t *testing.T, archive string) (imageConfig, map[string][]byte, map[string]int64) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = b
	}
	var manifest []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(entries["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("%s: manifest.json: %v (%d images)", archive, err, len(manifest))
	}
	var cfg imageConfig
	if err := json.Unmarshal(entries[manifest[0].Config], &cfg); err != nil {
		t.Fatalf("%s: image config %s: %v", archive, manifest[0].Config, err)
	}
	files := map[string][]byte{}
	modes := map[string]int64{}
	for _, l := range manifest[0].Layers {
		var r io.Reader = bytes.NewReader(entries[l])
		if b := entries[l]; len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			gz, err := gzip.NewReader(r)
			if err != nil {
				t.Fatal(err)
			}
			r = gz
		}
		lt := tar.NewReader(r)
		for {
			h, err := lt.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %s: %v", l, err)
			}
			name := "/" + strings.TrimPrefix(path.Clean(h.Name), "./")
			b, err := io.ReadAll(lt)
			if err != nil {
				t.Fatal(err)
			}
			files[name] = b
			modes[name] = h.Mode
		}
	}
	return cfg, files, modes
}

func TestImage(t *testing.T) {
	pm := podman(t)
	work := t.TempDir()
	bin := buildRpcgate(t, work)
	ctxDir := filepath.Join(work, "context")
	if err := os.Mkdir(ctxDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The builder stage (Debian) copies its CA bundle; the host's is the
	// same file from the same Debian package. A host without the package
	// gets a stand-in: the test checks the image holds the file, not its
	// certificates.
	caBundle := "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(caBundle); err != nil {
		caBundle = filepath.Join(work, "ca-certificates.crt")
		if err := os.WriteFile(caBundle, []byte("# stand-in: the host has no ca-certificates\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("host has no /etc/ssl/certs/ca-certificates.crt; using a stand-in")
	}
	cf := containerfile(t, finalStage(t), ctxDir, map[string]string{
		"/out/rpcgate":                       bin,
		"/etc/ssl/certs/ca-certificates.crt": caBundle,
	})
	tag := fmt.Sprintf("localhost/rpcgate-deploytest:%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { _ = exec.Command(pm, "rmi", "--force", tag).Run() })
	// --format docker keeps HEALTHCHECK (the OCI image format has none);
	// --layers=false leaves no cached intermediate images behind.
	runPodman(t, pm, "build", "--format", "docker", "--pull=never", "--layers=false",
		"--build-arg", "VERSION="+buildFlags.version, "--build-arg", "COMMIT="+buildFlags.commit,
		"--build-arg", "DATE="+buildFlags.date, "-t", tag, "-f", cf, ctxDir)
	archive := filepath.Join(work, "image.tar")
	runPodman(t, pm, "save", "--format", "docker-archive", "-o", archive, tag)

	cfg, files, modes := savedImage(t, archive)
	c := cfg.Config
	if c.User == "" || strings.HasPrefix(c.User, "0") || strings.HasPrefix(c.User, "root") {
		t.Errorf("image user = %q, want a numeric non-root user", c.User)
	}
	if len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/rpcgate" {
		t.Errorf("entrypoint = %q, want [/rpcgate]", c.Entrypoint)
	}
	for label, want := range map[string]string{
		"org.opencontainers.image.version":  buildFlags.version,
		"org.opencontainers.image.revision": buildFlags.commit,
		"org.opencontainers.image.created":  buildFlags.date,
	} {
		if c.Labels[label] != want {
			t.Errorf("label %s = %q, want %q (from the build arg)", label, c.Labels[label], want)
		}
	}
	if c.Healthcheck == nil || len(c.Healthcheck.Test) < 3 || c.Healthcheck.Test[0] != "CMD" ||
		c.Healthcheck.Test[1] != "/rpcgate" || c.Healthcheck.Test[2] != "health" {
		t.Fatalf("healthcheck = %+v, want CMD /rpcgate health ... (exec form: there is no shell)", c.Healthcheck)
	}
	for name := range files {
		if base := path.Base(name); base == "sh" || base == "bash" || base == "busybox" {
			t.Errorf("image holds a shell: %s", name)
		}
	}
	entry, ok := files[c.Entrypoint[0]]
	if !ok {
		t.Fatalf("entrypoint %s is not in the image's layers", c.Entrypoint[0])
	}
	if modes[c.Entrypoint[0]]&0o111 == 0 {
		t.Errorf("%s in the image is not executable (mode %o)", c.Entrypoint[0], modes[c.Entrypoint[0]])
	}
	if _, ok := files["/etc/ssl/certs/ca-certificates.crt"]; !ok {
		t.Errorf("image has no CA bundle: https:// nodes would fail")
	}
	img := filepath.Join(work, "from-image")
	if err := os.WriteFile(img, entry, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: %d files, entrypoint %d bytes", tag, len(files), len(entry))

	// The binary from the image reports the build args.
	out, err := exec.Command(img, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("rpcgate version: %v\n%s", err, out)
	}
	for _, want := range []string{buildFlags.version, buildFlags.commit, buildFlags.date} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("rpcgate version = %q, missing %q", out, want)
		}
	}

	// The image's healthcheck, run as written but aimed at this test's port.
	port, admin := freePort(t), freePort(t)
	hc := append([]string(nil), c.Healthcheck.Test[2:]...)
	aimed := false
	for i, a := range hc {
		if strings.HasPrefix(a, "http://127.0.0.1:8545/") {
			hc[i] = strings.Replace(a, "127.0.0.1:8545", "127.0.0.1:"+strconv.Itoa(port), 1)
			aimed = true
		}
	}
	if !aimed {
		t.Fatalf("healthcheck %q does not check http://127.0.0.1:8545/ (the listener the image's config uses)", c.Healthcheck.Test)
	}
	if out, err := exec.Command(img, hc...).CombinedOutput(); err == nil {
		t.Fatalf("healthcheck passed with no gateway running: %s", out)
	}

	anvil := startAnvil(t, 1337)
	conf := filepath.Join(work, "rpcgate.yaml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
admin:
  listen: 127.0.0.1:%d
chains:
  eth:
    chain_id: 1337
    nodes:
      a: {url: %q}
    groups:
      default: {nodes: [a]}
`, port, admin, anvil)), 0o644); err != nil {
		t.Fatal(err)
	}
	gw := start(t, os.Environ(), img, "serve", "--config", conf)
	waitReady(t, img, gw, fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
	if out, err := exec.Command(img, hc...).CombinedOutput(); err != nil {
		t.Errorf("image healthcheck %q failed on a ready gateway: %v\n%s", hc, err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := rpc(ctx, fmt.Sprintf("http://127.0.0.1:%d/eth", port), "eth_chainId")
	if err != nil || string(id) != `"0x539"` {
		t.Fatalf("eth_chainId through the image's rpcgate = %s, %v; want \"0x539\"\n%s", id, err, gw.out.String())
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", admin))
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf(`rpcgate_build_info{commit=%q,date=%q,version=%q} 1`, buildFlags.commit, buildFlags.date, buildFlags.version)
	if !bytes.Contains(metrics, []byte(want)) {
		t.Errorf("/metrics lacks %s", want)
	}
	stopGateway(t, gw)
}
