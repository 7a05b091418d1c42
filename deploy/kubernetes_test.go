package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"
)

// deploy/kubernetes: a kustomize base and overlays, rendered in-process
// with kustomize's own API (what `kubectl apply -k` runs), each object then
// decoded strictly into its Kubernetes Go type: a misspelt or misplaced field
// fails the test, where the API server would only warn or drop it.

const kubeDir = "kubernetes"

// kubeTrees are the kustomizations a user can apply.
var kubeTrees = []string{kubeDir, kubeDir + "/overlays/production"}

// rendered is one kustomize build, objects decoded into their types.
type rendered struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  []*corev1.ConfigMap
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	monitors    []*monitoringv1.ServiceMonitor
	rules       []*monitoringv1.PrometheusRule
}

// strict decodes JSON into v, refusing unknown fields and trailing data.
func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

func kustomize(t *testing.T, dir string) *rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := &rendered{}
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		j, err := sigsyaml.YAMLToJSON(y)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		gvk := r.GetApiVersion() + " " + r.GetKind()
		where := fmt.Sprintf("%s: %s %s", dir, gvk, r.GetName())
		var obj any
		switch gvk {
		case "apps/v1 Deployment":
			o := &appsv1.Deployment{}
			out.deployments, obj = append(out.deployments, o), o
		case "v1 Service":
			o := &corev1.Service{}
			out.services, obj = append(out.services, o), o
		case "v1 ConfigMap":
			o := &corev1.ConfigMap{}
			out.configMaps, obj = append(out.configMaps, o), o
		case "policy/v1 PodDisruptionBudget":
			o := &policyv1.PodDisruptionBudget{}
			out.pdbs, obj = append(out.pdbs, o), o
		case "autoscaling/v2 HorizontalPodAutoscaler":
			o := &autoscalingv2.HorizontalPodAutoscaler{}
			out.hpas, obj = append(out.hpas, o), o
		case "monitoring.coreos.com/v1 ServiceMonitor":
			o := &monitoringv1.ServiceMonitor{}
			out.monitors, obj = append(out.monitors, o), o
		case "monitoring.coreos.com/v1 PrometheusRule":
			o := &monitoringv1.PrometheusRule{}
			out.rules, obj = append(out.rules, o), o
		default:
			t.Errorf("%s: no Go type known for this kind; add it to the test", where)
			continue
		}
		if err := strict(j, obj); err != nil {
			t.Errorf("%s does not decode strictly: %v", where, err)
		}
	}
	return out
}

func TestKubernetesStrictDecodeRefusesUnknownFields(t *testing.T) {
	// The check below must be able to fail: a field in the wrong place.
	bad := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"replica":2}}`)
	if err := strict(bad, &appsv1.Deployment{}); err == nil {
		t.Fatal("strict decoding accepted spec.replica (unknown field)")
	}
	bad = []byte(`{"apiVersion":"monitoring.coreos.com/v1","kind":"ServiceMonitor","metadata":{"name":"x"},"spec":{"endpoints":[{"port":"admin","bearerTokenFil":"x"}]}}`)
	if err := strict(bad, &monitoringv1.ServiceMonitor{}); err == nil {
		t.Fatal("strict decoding accepted endpoints[].bearerTokenFil (unknown field)")
	}
}

func TestKubernetes(t *testing.T) {
	bin := buildRpcgate(t, t.TempDir())
	allowed := documentedMetrics(t)
	for _, dir := range kubeTrees {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := kustomize(t, dir)
			checkKube(t, dir, r, bin, allowed)
		})
	}
	prod := kustomize(t, kubeDir+"/overlays/production")
	checkHPA(t, prod, allowed)
}

func checkKube(t *testing.T, dir string, r *rendered, bin string, allowed map[string]bool) {
	if len(r.deployments) != 1 || len(r.services) != 1 || len(r.pdbs) != 1 || len(r.monitors) != 1 || len(r.rules) != 1 {
		t.Fatalf("%s: want one each of Deployment, Service, PodDisruptionBudget, ServiceMonitor, PrometheusRule; got %d, %d, %d, %d, %d",
			dir, len(r.deployments), len(r.services), len(r.pdbs), len(r.monitors), len(r.rules))
	}
	d := r.deployments[0]
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: Deployment has %d containers, want 1", dir, len(pod.Containers))
	}
	c := pod.Containers[0]
	where := dir + ": Deployment " + d.Name

	// Probes on the gateway's real endpoints.
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s: %s probe %+v, want GET %s on port http", where, name, p, path)
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: resources %+v: want cpu and memory requests and a memory limit", where, c.Resources)
	}
	// Non-root, read-only root filesystem, nothing extra.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", where, psc)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("%s: container securityContext %+v: want readOnlyRootFilesystem, no privilege escalation, drop ALL", where, sc)
	}

	// The config: the ConfigMap the pod mounts at /etc/rpcgate, passed
	// through `rpcgate validate` with the env the pod gets.
	var cm *corev1.ConfigMap
	for _, v := range pod.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		for _, m := range r.configMaps {
			if m.Name == v.ConfigMap.Name {
				cm = m
			}
		}
	}
	if cm == nil {
		t.Fatalf("%s: the pod mounts no ConfigMap this build renders", where)
	}
	mountedAt := ""
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
				mountedAt = vm.MountPath
			}
		}
	}
	configPath := ""
	for i, a := range c.Args {
		if a == "--config" && i+1 < len(c.Args) {
			configPath = c.Args[i+1]
		}
	}
	if filepath.Dir(configPath) != mountedAt || cm.Data[filepath.Base(configPath)] == "" {
		t.Fatalf("%s: serves --config %q, but ConfigMap %s (keys %v) is mounted at %q", where, configPath, cm.Name, keys(cm.Data), mountedAt)
	}
	cfgText := cm.Data[filepath.Base(configPath)]
	var env []string
	secretKeys := map[string]bool{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env = append(env, e.Name+"=placeholder-"+strings.ToLower(e.Name))
			secretKeys[e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key] = true
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		}
	}
	for _, m := range varRef.FindAllStringSubmatch(cfgText, -1) {
		found := false
		for _, e := range c.Env {
			found = found || e.Name == m[1]
		}
		if !found {
			t.Errorf("%s: the config uses ${%s}, which the container's env does not set", where, m[1])
		}
	}
	// A Redis URL placeholder must look like one for validate.
	for i, e := range env {
		if strings.HasPrefix(e, "RPCGATE_REDIS_URL=") {
			env[i] = "RPCGATE_REDIS_URL=redis://redis.example:6379/0"
		}
	}
	cfgFile := filepath.Join(t.TempDir(), filepath.Base(configPath))
	if err := os.WriteFile(cfgFile, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	validate(t, bin, cfgFile, env)
	if !secretKeys["rpcgate-secrets/admin-token"] {
		t.Errorf("%s: the admin token does not come from the rpcgate-secrets Secret", where)
	}

	// Shutdown: preStop sleep, then SIGTERM's drain (shutdown_timeout),
	// both inside terminationGracePeriodSeconds.
	var cfg struct {
		ShutdownTimeout string `yaml:"shutdown_timeout"`
	}
	if err := yaml.Unmarshal([]byte(cfgText), &cfg); err != nil {
		t.Fatal(err)
	}
	shutdown := 15 * time.Second // the documented default
	if cfg.ShutdownTimeout != "" {
		var err error
		if shutdown, err = time.ParseDuration(cfg.ShutdownTimeout); err != nil {
			t.Fatal(err)
		}
	}
	var preStop time.Duration
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds <= 0 {
		t.Errorf("%s: no preStop sleep: the endpoint could still get traffic after SIGTERM", where)
	} else {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	grace := 30 * time.Second
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	}
	if grace <= preStop+shutdown {
		t.Errorf("%s: terminationGracePeriodSeconds %s <= preStop %s + shutdown_timeout %s: the drain would be killed", where, grace, preStop, shutdown)
	}

	// Service, PDB and ServiceMonitor select these pods and these ports.
	podLabels := d.Spec.Template.Labels
	selects := func(sel map[string]string) bool {
		for k, v := range sel {
			if podLabels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	svc := r.services[0]
	if !selects(svc.Spec.Selector) {
		t.Errorf("%s: Service selector %v does not select the pods (labels %v)", dir, svc.Spec.Selector, podLabels)
	}
	svcPorts := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		svcPorts[p.Name] = true
		if ports[p.TargetPort.String()] == 0 {
			t.Errorf("%s: Service port %s targets %s, which the container does not name", dir, p.Name, p.TargetPort.String())
		}
	}
	pdb := r.pdbs[0]
	if pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels) {
		t.Errorf("%s: PodDisruptionBudget does not select the pods", dir)
	}
	sm := r.monitors[0]
	if !reflect.DeepEqual(labelsSubset(sm.Spec.Selector.MatchLabels, svc.Labels), true) {
		t.Errorf("%s: ServiceMonitor selector %v does not match the Service's labels %v", dir, sm.Spec.Selector.MatchLabels, svc.Labels)
	}
	for _, ep := range sm.Spec.Endpoints {
		if !svcPorts[ep.Port] || ports[ep.Port] != 8546 || ep.Path != "/metrics" {
			t.Errorf("%s: ServiceMonitor scrapes port %q path %q, want the admin port's /metrics", dir, ep.Port, ep.Path)
		}
		if ep.Authorization == nil || ep.Authorization.Credentials == nil || ep.Authorization.Credentials.Name != "rpcgate-secrets" {
			t.Errorf("%s: ServiceMonitor does not send the admin token", dir)
		}
	}

	// The PrometheusRule is the shipped rules file.
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var shipped, got struct {
		Groups any `json:"groups"`
	}
	if j, err := sigsyaml.YAMLToJSON(b); err != nil || json.Unmarshal(j, &shipped) != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	j, _ := json.Marshal(r.rules[0].Spec)
	if err := json.Unmarshal(j, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(shipped.Groups), normalize(got.Groups)) {
		t.Errorf("%s: PrometheusRule %s differs from %s; copy its groups into kubernetes/prometheusrule.yaml", dir, r.rules[0].Name, alertsFile)
	}
	for _, g := range r.rules[0].Spec.Groups {
		for _, rule := range g.Rules {
			checkExpr(t, allowed, dir+": PrometheusRule "+rule.Alert+rule.Record, rule.Expr.String())
		}
	}
}

// normalize round-trips through JSON and trims strings, so that YAML block
// scalars and their JSON rendering compare equal.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = normalize(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = normalize(e)
		}
		return s
	case string:
		return strings.TrimSpace(x)
	default:
		return fmt.Sprint(x)
	}
}

func labelsSubset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// checkHPA: the production HPA scales the Deployment on rpcgate's own
// queue-depth metric, a documented metric, served by the included
// prometheus-adapter rule.
func checkHPA(t *testing.T, r *rendered, allowed map[string]bool) {
	if len(r.hpas) != 1 {
		t.Fatalf("production: %d HorizontalPodAutoscalers, want 1", len(r.hpas))
	}
	h := r.hpas[0]
	if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != r.deployments[0].Name {
		t.Errorf("HPA targets %+v, want Deployment %s", h.Spec.ScaleTargetRef, r.deployments[0].Name)
	}
	var metric string
	for _, m := range h.Spec.Metrics {
		if m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil {
			metric = m.Pods.Metric.Name
		}
	}
	if metric == "" {
		t.Fatal("HPA has no Pods metric (rpcgate's queue depth)")
	}
	if !allowed[metric] || !strings.Contains(metric, "queue_depth") {
		t.Errorf("HPA metric %q: want a queue-depth metric from %s", metric, metricsFile)
	}
	// The adapter rule that serves it.
	var rules struct {
		Rules []struct {
			SeriesQuery string `yaml:"seriesQuery"`
			Name        struct {
				Matches string `yaml:"matches"`
				As      string `yaml:"as"`
			} `yaml:"name"`
			MetricsQuery string `yaml:"metricsQuery"`
			Resources    struct {
				Overrides map[string]struct {
					Resource string `yaml:"resource"`
				} `yaml:"overrides"`
			} `yaml:"resources"`
		} `yaml:"rules"`
	}
	served := false
	for _, cm := range r.configMaps {
		text, ok := cm.Data["config.yaml"]
		if !ok {
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(text))
		dec.KnownFields(true)
		if err := dec.Decode(&rules); err != nil {
			t.Fatalf("ConfigMap %s config.yaml (prometheus-adapter rules): %v", cm.Name, err)
		}
		for _, rule := range rules.Rules {
			series := strings.TrimSpace(strings.SplitN(rule.SeriesQuery, "{", 2)[0])
			checkExpr(t, allowed, "prometheus-adapter seriesQuery", series)
			name := rule.Name.As
			if name == "" {
				name = series
			}
			if name == metric && rule.Resources.Overrides["pod"].Resource == "pod" &&
				rule.Resources.Overrides["namespace"].Resource == "namespace" && strings.Contains(rule.MetricsQuery, "<<.Series>>") {
				served = true
			}
		}
	}
	if !served {
		t.Errorf("no prometheus-adapter rule serves %s per pod and namespace", metric)
	}
}
