package deploy

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// nomadSchema lists, for each block the job file uses, the attributes and
// blocks Nomad's job specification allows there (from Nomad's jobspec
// documentation; blocks the file does not use are accepted unchecked). HCL
// itself accepts any name, so without this a misspelt `helth_check` would
// pass the parse and be refused only by `nomad job run`. A field Nomad
// allows but missing here: add it.
var nomadSchema = map[string]struct{ attrs, blocks string }{
	"job": {"datacenters type region namespace priority node_pool all_at_once id name",
		"update group constraint affinity spread meta periodic parameterized reschedule migrate multiregion vault ui"},
	"update": {"max_parallel health_check min_healthy_time healthy_deadline progress_deadline auto_revert auto_promote canary stagger", ""},
	"group": {"count shutdown_delay stop_after_client_disconnect max_client_disconnect prevent_reschedule_on_lost",
		"scaling network service task update constraint affinity spread meta reschedule restart ephemeral_disk volume consul migrate vault disconnect"},
	"scaling":  {"enabled min max", "policy"},
	"policy":   {"evaluation_interval cooldown on_check_error", "check target"},
	"check":    {"source query query_window query_window_offset on_error group name type port path interval timeout method protocol header expose initial_status success_before_passing failures_before_critical failures_before_warning address_mode task tls_skip_verify tls_server_name grpc_service grpc_use_tls command args body on_update", "strategy check_restart header"},
	"strategy": {"target threshold upper_bound lower_bound delta percentage value min max", ""},
	"network":  {"mode hostname", "port dns"},
	"port":     {"static to host_network", ""},
	"service": {"name port tags canary_tags enable_tag_override address address_mode task on_update provider cluster",
		"check meta canary_meta tagged_addresses connect identity"},
	"check_restart": {"limit grace ignore_warnings", ""},
	"meta":          {"*", ""},
	"task": {"driver user kill_signal kill_timeout leader shutdown_delay kind",
		"config template resources env artifact logs restart lifecycle meta service vault volume_mount identity constraint affinity dispatch_payload csi_plugin scaling"},
	"template": {"destination data source change_mode change_signal env perms uid gid left_delimiter right_delimiter splay error_on_missing_key wait once",
		"change_script wait"},
	"resources": {"cpu cores memory memory_max", "device numa"},
}

// nomadSchemaProblems returns what body (a block of type typ) has that
// Nomad does not allow there, recursively.
func nomadSchemaProblems(where, typ string, body hcl.Body) []string {
	spec, ok := nomadSchema[typ]
	if !ok || spec.attrs == "*" {
		return nil
	}
	var s hcl.BodySchema
	for _, a := range strings.Fields(spec.attrs) {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: a})
	}
	labels := map[string][]string{"group": {"name"}, "task": {"name"}, "port": {"label"}, "check": {"name"}, "strategy": {"name"}}
	for _, b := range strings.Fields(spec.blocks) {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: b, LabelNames: labels[b]})
	}
	// A scaling check is labelled, a service check is not.
	if typ == "service" {
		for i := range s.Blocks {
			if s.Blocks[i].Type == "check" {
				s.Blocks[i].LabelNames = nil
			}
		}
	}
	content, diags := body.Content(&s)
	if diags.HasErrors() {
		return []string{where + ": " + diags.Error()}
	}
	var out []string
	for _, b := range content.Blocks {
		if typ == "task" && b.Type == "config" {
			continue // the driver's own options
		}
		out = append(out, nomadSchemaProblems(where+" > "+b.Type+" "+strings.Join(b.Labels, " "), b.Type, b.Body)...)
	}
	return out
}

func jobProblems(t *testing.T, body hcl.Body, where string) []string {
	t.Helper()
	content, diags := body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "job", LabelNames: []string{"name"}}}})
	if diags.HasErrors() {
		t.Fatalf("%s: %s", where, diags.Error())
	}
	var out []string
	for _, j := range content.Blocks {
		out = append(out, nomadSchemaProblems(where+": job "+j.Labels[0], "job", j.Body)...)
	}
	return out
}

func TestNomadJobSchema(t *testing.T) {
	// It must be able to fail: a misspelt field two blocks down.
	bad, d := hclparse.NewParser().ParseHCL([]byte(`job "x" {
  group "g" {
    service {
      check { intervall = "5s" }
    }
  }
}`), "inline.hcl")
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if p := jobProblems(t, bad.Body, "inline.hcl"); len(p) != 1 || !strings.Contains(p[0], "intervall") {
		t.Fatalf("the schema check found %q in a check with intervall, want one problem naming it", p)
	}
	for _, p := range jobProblems(t, parseNomad(t), nomadFile) {
		t.Error(p)
	}
}
