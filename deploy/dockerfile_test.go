package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Dockerfile lint. hadolint is in neither Debian's packages nor npm here, so
// the Dockerfile is linted by dockerfile-utils (npm; syntax and instruction
// checks) and by the hadolint rules that matter for this image, written out
// below (TestDockerfileRules).

func TestDockerfileLint(t *testing.T) {
	out, err := exec.Command("bash", "../scripts/install-dockerfile-utils.sh").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("scripts/install-dockerfile-utils.sh: %v\n%s", err, stderr)
	}
	bin := strings.TrimSpace(string(out))
	lint := func(file string) (string, error) {
		b, err := exec.Command(bin, "lint", file).CombinedOutput()
		return strings.TrimSpace(string(b)), err
	}
	// The linter must see a broken Dockerfile as broken, or its silence
	// below proves nothing.
	bad := t.TempDir() + "/Dockerfile"
	if err := os.WriteFile(bad, []byte("FROM scratch\nMAINTAINER someone\nHEALTHCHECK CMD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := lint(bad); err == nil || !strings.Contains(msg, "HEALTHCHECK") {
		t.Fatalf("dockerfile-utils lint passed a broken Dockerfile (%v): %s", err, msg)
	}
	// Warnings count too: any output is a finding.
	if msg, err := lint(dockerfile); err != nil || msg != "" {
		t.Errorf("dockerfile-utils lint %s (%v):\n%s", dockerfile, err, msg)
	}
}

// stages parses the Dockerfile into its stages' logical lines.
func stages(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var all [][]string
	var cur strings.Builder
	for _, raw := range strings.Split(string(b), "\n") {
		l := strings.TrimSpace(raw)
		if cur.Len() == 0 && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		line := cur.String()
		cur.Reset()
		if strings.HasPrefix(strings.ToUpper(line), "FROM ") || len(all) == 0 {
			all = append(all, nil)
		}
		all[len(all)-1] = append(all[len(all)-1], line)
	}
	return all
}

// TestDockerfileRules checks the hadolint rules that apply to this image:
// DL3006/DL3007 (base images pinned by a tag, never latest), DL3002 (the last
// USER is not root), DL3025 (JSON form for ENTRYPOINT and CMD, needed anyway:
// the image has no shell), DL3020 (COPY, not ADD), DL3011 (valid ports), and
// the healthcheck an image without curl needs.
func TestDockerfileRules(t *testing.T) {
	st := stages(t)
	from := regexp.MustCompile(`(?i)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$`)
	args := map[string]string{}
	names := map[string]bool{}
	for _, l := range st[0] {
		if f := strings.Fields(l); strings.EqualFold(f[0], "ARG") && len(f) == 2 {
			if k, v, ok := strings.Cut(f[1], "="); ok {
				args[k] = v
			}
		}
	}
	var final []string
	for _, s := range st {
		m := from.FindStringSubmatch(s[0])
		if m == nil {
			if strings.HasPrefix(strings.ToUpper(s[0]), "FROM") {
				t.Errorf("cannot read %q", s[0])
			}
			continue
		}
		img := m[1]
		for k, v := range args {
			img = strings.ReplaceAll(img, "${"+k+"}", v)
		}
		switch {
		case img == "scratch" || names[img]:
		case strings.Contains(img, "$"):
			t.Errorf("%s: FROM %s: base image uses an ARG without a default", dockerfile, m[1])
		default:
			name, tag, ok := strings.Cut(img[strings.LastIndex(img, "/")+1:], ":")
			if !ok || tag == "" || tag == "latest" {
				t.Errorf("%s: FROM %s: pin the base image %s by a tag (DL3006/DL3007)", dockerfile, img, name)
			}
		}
		names[m[2]] = true
		if strings.EqualFold(m[2], "final") {
			final = s
		}
	}
	if final == nil {
		t.Fatalf("%s: no stage named final", dockerfile)
	}
	if last := st[len(st)-1]; last[0] != final[0] {
		t.Errorf("%s: the final stage must be the last one (what a plain `docker build` produces)", dockerfile)
	}
	var user string
	seen := map[string]bool{}
	for _, l := range final {
		f := strings.Fields(l)
		ins := strings.ToUpper(f[0])
		seen[ins] = true
		rest := strings.TrimSpace(l[len(f[0]):])
		switch ins {
		case "USER":
			user = rest
		case "ENTRYPOINT", "CMD":
			var v []string
			if err := json.Unmarshal([]byte(rest), &v); err != nil {
				t.Errorf("%s: %s %s: use the JSON (exec) form; the image has no shell (DL3025)", dockerfile, ins, rest)
			}
		case "HEALTHCHECK":
			i := strings.Index(rest, "CMD ")
			var v []string
			if i < 0 || json.Unmarshal([]byte(strings.TrimSpace(rest[i+4:])), &v) != nil {
				t.Errorf("%s: HEALTHCHECK %s: use CMD in JSON form; the image has no shell", dockerfile, rest)
			} else if len(v) < 2 || v[1] != "health" {
				t.Errorf("%s: HEALTHCHECK runs %q, want the rpcgate health subcommand", dockerfile, v)
			}
		case "ADD":
			t.Errorf("%s: %s: use COPY (DL3020)", dockerfile, l)
		case "EXPOSE":
			for _, p := range f[1:] {
				n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(p, "/tcp"), "/udp"))
				if err != nil || n < 1 || n > 65535 {
					t.Errorf("%s: EXPOSE %s is not a port (DL3011)", dockerfile, p)
				}
			}
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("%s: final stage USER %q: want a numeric non-root UID (DL3002; runAsNonRoot needs a number)", dockerfile, user)
	}
	for _, ins := range []string{"HEALTHCHECK", "ENTRYPOINT", "USER"} {
		if !seen[ins] {
			t.Errorf("%s: final stage has no %s", dockerfile, ins)
		}
	}
}
